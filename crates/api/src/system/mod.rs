//! System routes: `/_ping`, `/version`, `/info`, `/events`, `/auth`.

mod auth;
mod events;
mod info;
mod ping;
mod version;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use muelle_engine::Engine;

/// The system routes, merged into the API's router.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/_ping", get(ping::ping).head(ping::ping))
        .route("/version", get(version::version))
        .route("/info", get(info::info))
        .route("/events", get(events::events))
        .route("/auth", post(auth::auth))
}
