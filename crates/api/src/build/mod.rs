//! `docker build` over the API: `POST /build` (the context tar in, the legacy builder's JSON
//! progress out), `POST /build/prune` and `POST /build/cancel`. The query is [`query`]'s,
//! the body's decompression [`body`]'s, the wire form of the events [`render`]'s; the build
//! itself is the engine's.

mod body;
mod prune;
pub mod query;
pub mod render;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use muelle_engine::builds::{BuildError, BuildEvent};
use muelle_engine::{Engine, EngineError};
use tokio::sync::mpsc;

use crate::blocking::body_reader;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::stream::{self, Kind, Sink};

/// Events the engine may run ahead of a slow client before it waits.
const EVENT_BACKLOG: usize = 256;

/// The build routes, merged into the API's router.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/build", post(build))
        .route("/build/prune", post(prune::prune))
        .route("/build/cancel", post(prune::cancel))
}

/// `POST /build`.
pub async fn build(
    State(engine): State<Arc<Engine>>,
    params: Params,
    body: Body,
) -> ApiResult<Response> {
    let opts = query::parse(&params)?;
    let quiet = opts.quiet;
    let context: Box<dyn std::io::Read + Send> =
        Box::new(body::ContextReader::new(body_reader(body)));
    let (sink, rx) = Sink::new();
    let (tx, mut events) = mpsc::channel::<BuildEvent>(EVENT_BACKLOG);
    let running = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.build(opts, context, tx).await })
    };
    tokio::spawn(async move {
        let mut renderer = render::Renderer::new(quiet);
        let mut sent = false;
        // The channel closes when the build is over (its sender dropped with it).
        while let Some(event) = events.recv().await {
            for line in renderer.event(event) {
                if !sink.bytes(line) {
                    // The client went away: dockerd cancels the build then, so does this.
                    running.abort();
                    return;
                }
                sent = true;
            }
        }
        match running.await {
            Ok(Ok(id)) => {
                for line in renderer.success(&id) {
                    sink.bytes(line);
                }
            }
            Ok(Err(e)) => {
                for line in renderer.failure() {
                    sent |= sink.bytes(line);
                }
                fail(&sink, e, sent);
            }
            Err(e) => sink.fail(ApiError::task(e)),
        }
    });
    Ok(stream::respond(rx, Kind::Json, "application/json").await)
}

/// Reports a failed build: an ordinary error (status or last line), or for a failed RUN the
/// line with its exit code, as dockerd's (once the response has started: before, a failure
/// is the status and carries no code).
fn fail(sink: &Sink, e: EngineError, started: bool) {
    if let EngineError::Build(BuildError::RunFailed { code, .. }) = &e {
        if started {
            tracing::warn!(message = %e, "build failed");
            sink.bytes(render::error_line(&e.to_string(), Some(*code)));
            return;
        }
    }
    sink.fail(e.into());
}
