//! Memory the daemon gives back while no request arrives.
//!
//! Most of a fresh muelled's RSS is not its data but the pages of its own executable that
//! its start touched once (each fault maps a 64 KiB window of page cache). After
//! [`IDLE_AFTER`] without a new request, those mappings are dropped
//! ([`muelle_runtime::sys::release_file_pages`]): the page cache keeps the pages, and the
//! next request maps what it runs again with minor faults. A busy daemon is never trimmed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// How long no request must have started before the daemon counts as idle.
pub const IDLE_AFTER: Duration = Duration::from_secs(2);

/// Requests started since the daemon began, as a sign of activity (not an exact count: the
/// test harness may run several apps in one process, which only trims less often).
static STARTED: AtomicU64 = AtomicU64::new(0);

/// Counts each request as activity.
pub async fn middleware(req: Request, next: Next) -> Response {
    STARTED.fetch_add(1, Ordering::Relaxed);
    next.run(req).await
}

/// Runs for the daemon's life: once per idle period, drops the mappings of clean file pages.
pub async fn trim_when_idle() {
    let mut seen = STARTED.load(Ordering::Relaxed);
    // A fresh daemon is trimmed once too: its start is the largest toucher of code.
    let mut trimmed = false;
    loop {
        tokio::time::sleep(IDLE_AFTER).await;
        let now = STARTED.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            trimmed = false;
            continue;
        }
        if trimmed {
            continue;
        }
        trimmed = true;
        match tokio::task::spawn_blocking(muelle_runtime::sys::release_file_pages).await {
            Ok(Ok(bytes)) => tracing::debug!(mapped_bytes = bytes, "idle: file pages unmapped"),
            Ok(Err(e)) => tracing::debug!(error = %e, "idle: reading /proc/self/smaps failed"),
            Err(e) => tracing::debug!(error = %e, "idle: trim task failed"),
        }
    }
}
