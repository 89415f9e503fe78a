//! Volume routes (`/volumes...`): list, create, inspect, remove, prune. Shapes are
//! `muelle_types::volume`'s; the rules (names, drivers, in use) are the engine's, and its
//! errors become statuses in `crate::error` alone.

mod create;
mod inspect;
mod list;
mod prune;
mod remove;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use muelle_engine::volumes::VolumeRecord;
use muelle_engine::Engine;
use muelle_types::volume::{UsageData, Volume};

use crate::error::ApiError;

type Eng = State<Arc<Engine>>;

/// The volume routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/volumes", get(list::list))
        .route("/volumes/create", post(create::create))
        .route("/volumes/prune", post(prune::prune))
        .route(
            "/volumes/{name}",
            get(inspect::inspect).delete(remove::remove),
        )
}

/// A volume as dockerd shows it: `null` labels and options when there are none.
pub(crate) fn to_docker(engine: &Engine, v: VolumeRecord, usage: Option<UsageData>) -> Volume {
    let mountpoint = engine.volumes().data_path(&v.name).display().to_string();
    Volume {
        created_at: v.created_at,
        driver: v.driver,
        labels: (!v.labels.is_empty()).then_some(v.labels),
        mountpoint,
        name: v.name,
        options: (!v.options.is_empty()).then_some(v.options),
        scope: "local".into(),
        status: None,
        usage_data: usage,
    }
}

impl From<muelle_engine::volumes::VolumeError> for ApiError {
    fn from(e: muelle_engine::volumes::VolumeError) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}
