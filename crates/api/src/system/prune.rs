//! Prune routes of resources muelle does not have yet, answered (rather than 404) so that
//! `docker system prune` completes.

use axum::Json;
use muelle_types::system::BuildCachePruneReport;

use crate::error::ApiResult;
use crate::request::Params;

/// `POST /build/prune`: there is no build cache before the builder exists.
pub async fn build_prune(params: Params) -> ApiResult<Json<BuildCachePruneReport>> {
    params.bool("all")?;
    Ok(Json(BuildCachePruneReport::default()))
}
