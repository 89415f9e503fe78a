//! Streamed responses: Docker's JSON progress messages (pull, push, load) and raw byte
//! streams (save).
//!
//! Docker sends its status line only with the first byte of output, so an operation that
//! fails before saying anything is an ordinary HTTP error (a pull of a missing tag is a 404,
//! not a 200 with an error inside). The same holds here: the response waits for the first
//! chunk; a failure before it becomes the status, one after it becomes an `errorDetail`
//! message (JSON) or a cut connection (raw bytes).

use std::io::{self, Write};

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use muelle_types::image::{JsonMessage, ProgressDetail};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::error::ApiError;

/// One piece of a streamed response.
#[derive(Debug)]
pub enum Chunk {
    Data(Bytes),
    Fail(ApiError),
}

/// The producing side, cheap to clone and usable from async tasks and blocking threads.
#[derive(Debug, Clone)]
pub struct Sink(mpsc::UnboundedSender<Chunk>);

impl Sink {
    pub fn new() -> (Sink, mpsc::UnboundedReceiver<Chunk>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Sink(tx), rx)
    }

    /// Sends one JSON message (a line). Returns false once the client has gone.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> bool {
        self.0.send(Chunk::Data(json_line(value))).is_ok()
    }

    /// `{"status": ..., "id": ...}` with an empty `progressDetail`, as Docker sends for
    /// per-layer steps.
    pub fn status(&self, status: &str, id: Option<&str>) -> bool {
        match id {
            Some(id) => self.json(&JsonMessage::layer_status(status, id)),
            None => self.json(&JsonMessage::status(status)),
        }
    }

    pub fn bytes(&self, data: Bytes) -> bool {
        self.0.send(Chunk::Data(data)).is_ok()
    }

    pub fn fail(&self, e: ApiError) {
        let _ = self.0.send(Chunk::Fail(e));
    }

    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// How a failure after the first chunk is told to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{"errorDetail":{"message":...},"error":...}` as the last line.
    Json,
    /// The body is cut short, so the client sees a truncated stream, never a "complete" one.
    Raw,
}

/// A value as one line of a JSON stream.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Bytes {
    // The API's shapes have string keys only, so they always serialize; should one ever
    // fail, the line says so rather than the stream losing it.
    let mut line = serde_json::to_vec(value).unwrap_or_else(|e| {
        serde_json::to_vec(&JsonMessage::error(format!("unencodable message: {e}")))
            .unwrap_or_default()
    });
    line.push(b'\n');
    Bytes::from(line)
}

/// Docker's last message of a failed JSON stream.
pub fn error_line(e: &ApiError) -> Bytes {
    json_line(&JsonMessage::error(e.message.clone()))
}

/// The response for a stream: waits for the first chunk (see the module documentation).
pub async fn respond(
    mut rx: mpsc::UnboundedReceiver<Chunk>,
    kind: Kind,
    content_type: &'static str,
) -> Response {
    let first = match rx.recv().await {
        Some(Chunk::Fail(e)) => return e.into_response(),
        Some(Chunk::Data(b)) => Some(b),
        None => None,
    };
    let rest = UnboundedReceiverStream::new(rx)
        // Nothing is sent after a failure: for JSON it is the last message; for raw bytes
        // the error ends the body.
        .scan(false, move |failed, chunk| {
            let out = if *failed {
                None
            } else {
                match chunk {
                    Chunk::Data(b) => Some(Ok(b)),
                    Chunk::Fail(e) => {
                        *failed = true;
                        tracing::warn!(message = %e.message, "streamed request failed");
                        match kind {
                            Kind::Json => Some(Ok(error_line(&e))),
                            Kind::Raw => Some(Err(io::Error::other(e.message))),
                        }
                    }
                }
            };
            futures_util::future::ready(out)
        });
    let stream = futures_util::stream::iter(first.map(Ok)).chain(rest);
    ([(CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response()
}

/// The response for a stream whose headers go out at once, before any output (logs that
/// may follow a silent container, exec output): a failure ends the body.
pub fn live(rx: mpsc::UnboundedReceiver<Chunk>, content_type: &'static str) -> Response {
    let stream = UnboundedReceiverStream::new(rx).map(|c| match c {
        Chunk::Data(b) => Ok(b),
        Chunk::Fail(e) => Err(io::Error::other(e.message)),
    });
    ([(CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response()
}

/// Async producers (exec output pumps) write into a sink as into any `AsyncWrite`.
impl tokio::io::AsyncWrite for Sink {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(if self.bytes(Bytes::copy_from_slice(buf)) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A `Write` for blocking code (`docker save`) that hands buffers to the response body.
/// Writes fail with `BrokenPipe` once the client has gone, which stops the producer.
pub struct SinkWriter {
    sink: Sink,
    buf: Vec<u8>,
}

const WRITE_CHUNK: usize = 256 << 10;

impl SinkWriter {
    pub fn new(sink: Sink) -> Self {
        SinkWriter {
            sink,
            buf: Vec::with_capacity(WRITE_CHUNK),
        }
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(WRITE_CHUNK),
        ));
        if self.sink.bytes(data) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            ))
        }
    }
}

impl Write for SinkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.sink.is_closed() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            ));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= WRITE_CHUNK {
            self.send_buf()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

/// Docker's `units.HumanSize`: decimal units, four significant digits (`772.8kB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    let int_digits = if v >= 100.0 {
        3
    } else if v >= 10.0 {
        2
    } else {
        1
    };
    let decimals = 4usize.saturating_sub(int_digits);
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    format!("{s}{}", UNITS[unit])
}

/// Docker's progress text (`[=====>      ]  1.2MB/3.4MB`), for clients that print it as is.
pub fn progress_bar(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    if total == 0 {
        return format!("{:>8}", human_size(current));
    }
    let filled = (current.min(total) * WIDTH / total) as usize;
    let mut bar = "=".repeat(filled);
    if filled < WIDTH as usize {
        bar.push('>');
        bar.push_str(&" ".repeat(WIDTH as usize - filled - 1));
    }
    format!("[{bar}] {:>8}/{}", human_size(current), human_size(total))
}

/// A progress message with byte counts.
pub fn progress(status: &str, id: &str, current: u64, total: u64) -> JsonMessage {
    JsonMessage {
        status: Some(status.to_string()),
        progress_detail: Some(ProgressDetail {
            current: Some(current),
            total: Some(total),
        }),
        progress: Some(progress_bar(current, total)),
        id: Some(id.to_string()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(772_788), "772.8kB");
        assert_eq!(human_size(1_234_567), "1.235MB");
        assert_eq!(human_size(5_000_000), "5MB");
    }

    #[test]
    fn bars() {
        let b = progress_bar(50, 100);
        assert!(b.starts_with("[=========================>"), "{b}");
        assert!(b.ends_with("50B/100B"), "{b}");
        assert!(progress_bar(100, 100).starts_with(&format!("[{}]", "=".repeat(50))));
    }

    #[tokio::test]
    async fn failure_before_output_is_the_status() {
        let (sink, rx) = Sink::new();
        sink.fail(ApiError::not_found("No such image: x"));
        drop(sink);
        let resp = respond(rx, Kind::Json, "application/json").await;
        assert_eq!(resp.status(), 404);
    }

    #[tokio::test]
    async fn failure_after_output_is_an_error_message() {
        let (sink, rx) = Sink::new();
        sink.status("Pulling from library/busybox", Some("latest"));
        sink.fail(ApiError::internal("boom"));
        sink.status("ignored", None);
        drop(sink);
        let resp = respond(rx, Kind::Json, "application/json").await;
        assert_eq!(resp.status(), 200);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let last: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(last["errorDetail"]["message"], "boom");
        assert_eq!(last["error"], "boom");
    }
}
