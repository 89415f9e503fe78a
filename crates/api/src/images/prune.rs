//! `POST /images/prune`: removes the dangling images (every unused one with
//! `dangling=false`), within the `until` and `label` filters.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use muelle_engine::{Engine, PruneFilter};
use muelle_types::image::ImagesPruneReport;

use super::remove::delete_items;
use crate::blocking::blocking;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::time::parse_until;

const PRUNE_FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

pub async fn prune(
    State(engine): State<Arc<Engine>>,
    params: Params,
) -> ApiResult<Json<ImagesPruneReport>> {
    let filters = params.filters(PRUNE_FILTERS)?;
    let until = match filters.get("until") {
        [] => None,
        [one] => Some(parse_until(one)?),
        _ => {
            return Err(ApiError::bad_request(
                "invalid filter 'until': give it once",
            ))
        }
    };
    let filter = PruneFilter {
        all: filters.bool("dangling")? == Some(false),
        until,
        labels: filters.labels("label"),
        labels_not: filters.labels("label!"),
    };
    let report = blocking(&engine, move |e| Ok(e.prune_images(&filter)?)).await?;
    Ok(Json(ImagesPruneReport {
        images_deleted: (!report.removed.is_empty()).then(|| delete_items(&report.removed)),
        space_reclaimed: report.space_reclaimed,
    }))
}
