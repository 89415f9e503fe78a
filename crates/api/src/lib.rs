//! muelle's Docker Engine API: the HTTP routes and streams over the engine, and the
//! `muelled` daemon that serves them on unix sockets.
//!
//! This crate owns HTTP: URL versions, query and body parsing, status codes, Docker's JSON
//! shapes and streamed progress. It must not hold the daemon's rules (what a removal does,
//! which events fire: that is `muelle-engine`) nor talk to the image crate's internals;
//! library errors become status codes in [`error`] only.

#![forbid(unsafe_code)]
// The `/info` document is one json! literal of ~60 keys.
#![recursion_limit = "256"]

mod blocking;
pub mod container_fs;
pub mod containers;
pub mod daemon;
pub mod error;
pub mod exec;
pub mod images;
pub mod request;
pub mod stream;
pub mod swarm;
pub mod system;
pub mod time;
pub mod version;

use std::sync::Arc;

use axum::extract::Request;
use axum::routing::{get, post};
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
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/auth", post(system::auth))
        .route("/networks/prune", post(system::networks_prune))
        .route("/build/prune", post(system::build_prune))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/load", post(images::load))
        .route("/images/prune", post(images::prune))
        .route("/images/get", get(images::save_many))
        .route("/images/search", get(images::search))
        .route(
            "/images/{*rest}",
            get(images::dispatch_get)
                .post(images::dispatch_post)
                .delete(images::delete),
        )
        .merge(containers::router())
        .merge(exec::router())
        .merge(container_fs::router())
        .merge(swarm::routes())
        .fallback(|| async { ApiError::not_found("page not found") })
        .with_state(engine)
}
