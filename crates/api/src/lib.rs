//! muelle's Docker Engine API: the HTTP routes and streams over the engine, and the
//! `muelled` daemon that serves them on unix sockets.
//!
//! This crate owns HTTP: URL versions, query and body parsing, status codes, the wire form
//! of Docker's shapes (the shapes themselves are `muelle-types`) and streamed progress. Each
//! resource's routes are a module with its own router, merged here. It must not hold the daemon's rules (what a removal does,
//! which events fire: that is `muelle-engine`) nor talk to the image crate's internals;
//! library errors become status codes in [`error`] only.

#![forbid(unsafe_code)]
// The inspect test keeps the old json! literal as its reference shape.
#![cfg_attr(test, recursion_limit = "256")]

mod blocking;
pub mod build;
pub mod container_fs;
pub mod containers;
pub mod daemon;
pub mod error;
pub mod exec;
mod idle;
pub mod images;
pub mod networks;
pub mod request;
pub mod stdcopy;
pub mod stream;
pub mod swarm;
pub mod system;
pub mod time;
mod unread_body;
pub mod version;
pub mod volumes;

use std::sync::Arc;

use axum::extract::Request;
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
    axum::middleware::from_fn(version::middleware).layer(
        router(engine)
            .layer(axum::middleware::from_fn(unread_body::middleware))
            .layer(axum::middleware::from_fn(idle::middleware)),
    )
}

/// The routes without the version middleware.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .merge(containers::router())
        .merge(exec::router())
        .merge(container_fs::router())
        .merge(images::router())
        .merge(build::router())
        .merge(system::router())
        .merge(volumes::router())
        .merge(networks::router())
        .merge(swarm::routes())
        .fallback(|| async { ApiError::not_found("page not found") })
        .with_state(engine)
}
