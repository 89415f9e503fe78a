//! Exec routes: `POST /containers/{id}/exec` creates an exec instance, `/exec/{id}/...`
//! starts (attached over the container's streams, or detached), resizes and inspects it.

mod create;
mod inspect;
mod resize;
mod start;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use muelle_engine::Engine;

type Eng = State<Arc<Engine>>;

/// The exec routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/containers/{id}/exec", post(create::create))
        .route("/exec/{id}/start", post(start::start))
        .route("/exec/{id}/resize", post(resize::resize))
        .route("/exec/{id}/json", get(inspect::inspect))
}
