//! Routes over a container's filesystem: `docker diff` (`GET /containers/{id}/changes`),
//! `docker commit` (`POST /commit`), `docker cp` (`HEAD`/`GET`/`PUT
//! /containers/{id}/archive`), `docker export` (`GET /containers/{id}/export`), and
//! `docker system df` (`GET /system/df`).
//!
//! Tars are streamed: the engine writes them on a blocking thread into a
//! [`crate::stream::SinkWriter`] whose chunks become the response body, as `docker save`
//! does.

mod archive;
mod commit;
mod df;
mod diff;
mod export;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, head, post};
use axum::Router;
use muelle_engine::{Engine, EngineError};
use muelle_image::ImageError;

use crate::error::ApiError;

type Eng = State<Arc<Engine>>;

/// The filesystem routes; `crate::router` merges them.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/containers/{id}/changes", get(diff::changes))
        .route("/containers/{id}/export", get(export::export))
        .route(
            "/containers/{id}/archive",
            head(archive::archive_head)
                .get(archive::archive_get)
                .put(archive::archive_put),
        )
        .route("/commit", post(commit::commit))
        .route("/system/df", get(df::df))
}

/// Engine errors of these routes. A missing path names the container as the user did, in
/// Docker's words; the CLI shows a 404 here as `No such container:path: NAME:PATH`.
fn fs_err(name: &str, e: EngineError) -> ApiError {
    match &e {
        EngineError::Image(ImageError::PathNotFound { path }) => ApiError::new(
            e.kind(),
            format!("Could not find the file {path} in container {name}"),
        ),
        _ => e.into(),
    }
}
