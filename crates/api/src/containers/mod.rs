//! Container routes (`/containers/...`), one concept per module: create, list (`ps` and its
//! filters), inspect, the lifecycle calls, logs, attach and its streams, top, stats, update, prune. The
//! shapes they answer are `muelle_types::container`'s; errors are the engine's, mapped to a
//! status in `crate::error` alone.

mod attach;
mod create;
mod inspect;
mod lifecycle;
mod list;
mod logs;
mod net_settings;
mod prune;
mod stats;
mod top;
mod update;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::Router;
use muelle_engine::Engine;

pub(crate) use attach::{detach_keys, pump_output, splice, tty_size, upgrade_response};
pub(crate) use inspect::docker_state;
pub(crate) use logs::stream_type;

type Eng = State<Arc<Engine>>;

/// The container routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/containers/create", post(create::create))
        .route("/containers/json", get(list::list))
        .route("/containers/prune", post(prune::prune))
        .route("/containers/{id}/json", get(inspect::inspect))
        .route("/containers/{id}/start", post(lifecycle::start))
        .route("/containers/{id}/stop", post(lifecycle::stop))
        .route("/containers/{id}/restart", post(lifecycle::restart))
        .route("/containers/{id}/kill", post(lifecycle::kill))
        .route("/containers/{id}/wait", post(lifecycle::wait))
        .route("/containers/{id}/pause", post(lifecycle::pause))
        .route("/containers/{id}/unpause", post(lifecycle::unpause))
        .route("/containers/{id}/rename", post(lifecycle::rename))
        .route("/containers/{id}/resize", post(attach::resize))
        .route("/containers/{id}/attach", post(attach::attach))
        .route("/containers/{id}/logs", get(logs::logs))
        .route("/containers/{id}/top", get(top::top))
        .route("/containers/{id}/stats", get(stats::stats))
        .route("/containers/{id}/update", post(update::update))
        .route("/containers/{id}", delete(lifecycle::remove))
        .route("/containers/{id}/{alias}", delete(lifecycle::remove_link))
}
