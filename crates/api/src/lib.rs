//! muelle's Docker Engine API: the HTTP routes and streams over the engine, and the
//! `muelled` daemon that serves them on unix sockets.
//!
//! This crate owns HTTP: URL versions, query and body parsing, status codes, Docker's JSON
//! shapes and streamed progress. It must not hold the daemon's rules (what a removal does,
//! which events fire: that is `muelle-engine`) nor talk to the image crate's internals;
//! library errors become status codes in [`error`] only.

#![forbid(unsafe_code)]

mod blocking;
pub mod container_fs;
pub mod containers;
pub mod daemon;
pub mod error;
pub mod images;
pub mod request;
pub mod stream;
pub mod swarm;
pub mod system;
pub mod time;
pub mod version;

use std::sync::Arc;

use axum::extract::Request;
use axum::routing::{delete, get, head, post};
use axum::Router;
use muelle_engine::Engine;
use tower::Layer;

pub use error::{ApiError, ApiResult};
pub use version::{ApiVersion, MAX_VERSION, MIN_VERSION};

/// The API's routes over `engine`, wrapped in the version middleware (which must run before
/// routing, since it rewrites `/v1.NN/...` paths).
pub fn app(
    engine: Arc<Engine>,
) -> impl tower::Service<
    Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    axum::middleware::from_fn(version::middleware).layer(router(engine))
}

/// The routes without the version middleware.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/containers/create", post(containers::create))
        .route("/containers/json", get(containers::list))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/exec", post(containers::exec_create))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}", delete(containers::remove))
        .route("/containers/{id}/changes", get(container_fs::changes))
        .route("/containers/{id}/export", get(container_fs::export))
        .route(
            "/containers/{id}/archive",
            head(container_fs::archive_head)
                .get(container_fs::archive_get)
                .put(container_fs::archive_put),
        )
        .route("/commit", post(container_fs::commit))
        .route("/system/df", get(container_fs::df))
        .route("/exec/{id}/start", post(containers::exec_start))
        .route("/exec/{id}/resize", post(containers::exec_resize))
        .route("/exec/{id}/json", get(containers::exec_inspect))
        .merge(images::router())
        .merge(system::router())
        .merge(swarm::routes())
        .fallback(|| async { ApiError::not_found("page not found") })
        .with_state(engine)
}
