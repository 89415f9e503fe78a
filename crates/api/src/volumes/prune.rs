//! `POST /volumes/prune`: removes unused volumes. From API 1.42 only anonymous ones unless
//! the `all` filter says otherwise, as dockerd does; `label` and `label!` filters.

use axum::extract::State;
use axum::{Extension, Json};
use muelle_engine::volumes::VolumesPrune;
use muelle_types::volume::VolumesPruneReport;

use super::Eng;
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::Params;
use crate::version::ApiVersion;

pub async fn prune(
    State(engine): Eng,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> ApiResult<Json<VolumesPruneReport>> {
    let f = params.filters(&["label", "label!", "all"])?;
    let all = f.bool("all")?.unwrap_or(false) || version.before(1, 42);
    let p = VolumesPrune {
        all,
        labels: f.get("label").to_vec(),
        not_labels: f.get("label!").to_vec(),
    };
    let (gone, freed) = blocking(&engine, move |e| Ok(e.prune_volumes(&p))).await?;
    Ok(Json(VolumesPruneReport {
        volumes_deleted: Some(gone),
        space_reclaimed: freed,
    }))
}
