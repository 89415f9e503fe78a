//! Running the library's blocking code from async handlers: closures on the blocking pool,
//! request bodies as `Read`ers, tars written on a blocking thread and streamed out.

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use futures_util::TryStreamExt;
use muelle_engine::Engine;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::{ApiError, ApiResult};
use crate::stream::{self, Kind, Sink, SinkWriter};

/// Runs blocking library code off the async workers.
pub(crate) async fn blocking<T, F>(engine: &Arc<Engine>, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> ApiResult<T> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(ApiError::task)?
}

/// The request body as a blocking reader, for the library's `Read`-based loaders.
pub(crate) fn body_reader(body: Body) -> SyncIoBridge<impl tokio::io::AsyncRead + Unpin> {
    let stream = body.into_data_stream().map_err(io::Error::other);
    SyncIoBridge::new(StreamReader::new(stream))
}

/// A tar response whose bytes `write` produces on a blocking thread (`docker save`,
/// `docker export`). The output is flushed after `write` returns; an error before the
/// first chunk is the response's status, one after it cuts the body (see [`stream`]).
pub(crate) async fn tar_response<F>(engine: &Arc<Engine>, write: F) -> Response
where
    F: FnOnce(&Engine, &mut SinkWriter) -> ApiResult<()> + Send + 'static,
{
    let (sink, rx) = Sink::new();
    let e = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = SinkWriter::new(sink.clone());
        let result = write(&e, &mut out).and_then(|()| {
            out.flush()
                .map_err(|err| ApiError::internal(format!("writing the archive: {err}")))
        });
        if let Err(err) = result {
            sink.fail(err);
        }
    });
    stream::respond(rx, Kind::Raw, "application/x-tar").await
}
