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
use muelle_engine::containers::ContainerError;
use muelle_engine::{Engine, EngineError};

use crate::error::ApiError;

type Eng = State<Arc<Engine>>;

/// The exec routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/containers/{id}/exec", post(create::create))
        .route("/exec/{id}/start", post(start::start))
        .route("/exec/{id}/resize", post(resize::resize))
        .route("/exec/{id}/json", get(inspect::inspect))
}

/// The engine's error about exec `id`. Its "not found" names what it looked up as a
/// container; Docker's message names the exec instance.
fn exec_error(id: &str, e: EngineError) -> ApiError {
    match e {
        EngineError::Container(ContainerError::NotFound(_)) => {
            ApiError::new(e.kind(), format!("No such exec instance: {id}"))
        }
        other => other.into(),
    }
}
