//! A request body the handler did not read is read (up to [`LIMIT`]) before the answer goes
//! out. A client still writing an upload that the daemon refused up front (a bad parameter,
//! no such container) would otherwise be cut off mid-write and report a broken pipe instead
//! of the daemon's message; Go's server, and so dockerd, reads up to 256 KiB of an unread
//! body for the same reason.
//!
//! The handler gets a body that shares the real one with this layer; when the handler is
//! done with it (dropped it, read or not) the layer reads what is left. A handler still
//! holding it (a response that streams while the upload goes on) is left alone.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};

/// How much of an unread body is read before the answer.
pub const LIMIT: u64 = 1 << 20;
/// How long a client may take to send it.
const PATIENCE: Duration = Duration::from_secs(10);

type Slot = Arc<Mutex<Option<Body>>>;

/// The handler's view of the body.
struct Shared(Slot);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Ok(mut slot) = self.0.lock() else {
            return Poll::Ready(None);
        };
        match slot.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .lock()
            .map_or(true, |s| s.as_ref().is_none_or(|b| b.is_end_stream()))
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|b| b.size_hint()))
            .unwrap_or_default()
    }
}

pub async fn middleware(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slot: Slot = Arc::new(Mutex::new(Some(body)));
    let req = Request::from_parts(parts, Body::new(Shared(slot.clone())));
    let resp = next.run(req).await;
    // Only this layer holds the body now: the handler is done with it.
    if Arc::strong_count(&slot) == 1 {
        let rest = slot.lock().ok().and_then(|mut s| s.take());
        if let Some(rest) = rest {
            if !rest.is_end_stream() {
                let _ = tokio::time::timeout(PATIENCE, drain(rest)).await;
            }
        }
    }
    resp
}

async fn drain(mut body: Body) {
    use http_body_util::BodyExt;
    let mut read = 0u64;
    while read < LIMIT {
        match body.frame().await {
            Some(Ok(f)) => {
                if let Some(d) = f.data_ref() {
                    read += d.len() as u64;
                }
            }
            _ => return,
        }
    }
}
