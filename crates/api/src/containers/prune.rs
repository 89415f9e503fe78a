//! `POST /containers/prune`: removes the stopped containers the filters select and reports
//! the space their writable layers held.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::container::ContainerPruneReport;

use super::{docker_state, Eng};
use crate::error::ApiResult;
use crate::request::Params;
use crate::time::parse_until;

pub async fn prune(State(engine): Eng, params: Params) -> ApiResult<Response> {
    let filters = params.filters(&["label", "until"])?;
    let until = match filters.get("until").first() {
        None => None,
        Some(u) => Some(parse_until(u)?),
    };
    let labels: Vec<String> = filters.get("label").to_vec();
    // Sizes are taken before: afterwards the writable layers are gone.
    let sizes: BTreeMap<String, i64> = engine
        .containers()
        .records()
        .into_iter()
        .filter(|r| !docker_state(r).running)
        .map(|r| {
            let rw = engine.container_sizes(&r.id).0;
            (r.id, rw)
        })
        .collect();
    let gone = engine.prune_containers(&labels, until).await?;
    let reclaimed: i64 = gone.iter().filter_map(|id| sizes.get(id)).sum();
    Ok(Json(ContainerPruneReport {
        containers_deleted: (!gone.is_empty()).then_some(gone),
        space_reclaimed: reclaimed,
    })
    .into_response())
}
