//! `GET /volumes` (`docker volume ls`) with moby's filters: `name` (substring), `label`,
//! `dangling`, `driver`.

use axum::extract::State;
use axum::Json;
use muelle_engine::volumes::VolumeFilters;
use muelle_types::volume::VolumeListResponse;

use super::{to_docker, Eng};
use crate::error::ApiResult;
use crate::request::Params;

pub async fn list(State(engine): Eng, params: Params) -> ApiResult<Json<VolumeListResponse>> {
    let f = params.filters(&["name", "label", "dangling", "driver"])?;
    let filters = VolumeFilters {
        names: f.get("name").to_vec(),
        labels: f.get("label").to_vec(),
        dangling: f.bool("dangling")?,
        drivers: f.get("driver").to_vec(),
    };
    let volumes = engine
        .list_volumes(&filters)
        .into_iter()
        .map(|v| to_docker(&engine, v, None))
        .collect();
    Ok(Json(VolumeListResponse {
        volumes,
        warnings: None,
    }))
}
