//! `GET`/`HEAD /_ping`: `OK`, with the headers clients read the daemon's kind from.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use crate::version::MAX_VERSION;

pub async fn ping() -> Response {
    let mut resp = "OK".into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&MAX_VERSION.to_string()) {
        h.insert("API-Version", v);
    }
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("OSType", HeaderValue::from_static("linux"));
    // "1" is the classic builder: clients must not try a BuildKit session here.
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    // Never in a swarm: newer docker CLIs hide the swarm commands on this.
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
