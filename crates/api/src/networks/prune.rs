//! `POST /networks/prune` (`docker network prune`): the user-defined networks no running
//! container is on, with the `label`, `label!` and `until` filters.

use axum::extract::State;
use axum::Json;
use muelle_engine::networks::NetworksPrune;
use muelle_types::network::NetworksPruneReport;

use super::Eng;
use crate::error::ApiResult;
use crate::request::Params;
use crate::time::parse_until;

pub async fn prune(State(engine): Eng, params: Params) -> ApiResult<Json<NetworksPruneReport>> {
    let f = params.filters(&["label", "label!", "until"])?;
    let until = match f.get("until").first() {
        None => None,
        Some(u) => Some(parse_until(u)?),
    };
    let p = NetworksPrune {
        labels: f.get("label").to_vec(),
        not_labels: f.get("label!").to_vec(),
        until,
    };
    let gone = engine.prune_networks(&p).await;
    Ok(Json(NetworksPruneReport {
        networks_deleted: (!gone.is_empty()).then_some(gone),
    }))
}
