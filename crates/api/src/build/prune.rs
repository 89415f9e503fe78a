//! `POST /build/prune` (`docker builder prune`) over the engine's build cache, and
//! `POST /build/cancel`, which dockerd answers for BuildKit builds: the legacy builder's
//! builds end when their client disconnects, so there is nothing to look up here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use muelle_engine::Engine;
use muelle_types::system::BuildCachePruneReport;

use crate::error::{ApiError, ApiResult};
use crate::request::Params;

/// The filters `docker builder prune --filter` may send. The engine prunes all of the cache
/// or its unused part only, so any of them is refused rather than ignored (ignoring one
/// would prune more than asked).
const FILTERS: &[&str] = &[
    "until",
    "unused-for",
    "id",
    "parent",
    "type",
    "description",
    "inuse",
    "shared",
    "private",
    "label",
];

pub async fn prune(
    State(engine): State<Arc<Engine>>,
    params: Params,
) -> ApiResult<Json<BuildCachePruneReport>> {
    let all = params.bool("all")?;
    let filters = params.filters(FILTERS)?;
    if let Some(key) = FILTERS.iter().find(|k| filters.contains(k)) {
        return Err(ApiError::bad_request(format!(
            "build cache prune filter {key:?} is not supported"
        )));
    }
    if params.uint("keep-storage")?.is_some_and(|n| n > 0) {
        return Err(ApiError::bad_request(
            "build cache prune with keep-storage is not supported",
        ));
    }
    let (deleted, reclaimed) = engine.prune_build_cache(all).await?;
    Ok(Json(BuildCachePruneReport {
        caches_deleted: (!deleted.is_empty()).then_some(deleted),
        space_reclaimed: reclaimed,
    }))
}

/// dockerd answers 200 with no body for any ID, and refuses a request without one.
pub async fn cancel(params: Params) -> ApiResult<StatusCode> {
    if params.string("id").is_none() {
        return Err(ApiError::bad_request("build ID not provided"));
    }
    Ok(StatusCode::OK)
}
