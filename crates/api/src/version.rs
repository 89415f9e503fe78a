//! API versions: `/v1.NN/...` routes, the supported range, and the headers every response
//! carries.
//!
//! The range: 1.24 is the oldest version Docker still served before 25.0 and what old
//! clients (docker-py's default, Traefik, Watchtower) ask for; 1.47 is Docker 27.x's, the
//! version of the Engine API reference this server follows (moby's api/swagger.yaml, with
//! the per-version changes it lists: `VirtualSize` gone from 1.44, `Container` and
//! `ContainerConfig` gone from image inspect in 1.45).

use std::fmt;

use axum::extract::Request;
use axum::http::header::{HeaderValue, SERVER};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

pub const MIN_VERSION: ApiVersion = ApiVersion(1, 24);
pub const MAX_VERSION: ApiVersion = ApiVersion(1, 47);

/// A request's API version (the URL's, or [`MAX_VERSION`] for an unversioned URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    pub fn parse(s: &str) -> Option<Self> {
        let (major, minor) = s.split_once('.')?;
        let ok = |p: &str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
        if !ok(major) || !ok(minor) {
            return None;
        }
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }

    pub fn before(self, major: u32, minor: u32) -> bool {
        self < ApiVersion(major, minor)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Splits `/v1.41/images/json` into the version text and the rest (`/images/json`). Like
/// Docker's router, only `v` followed by digits and dots is a version prefix.
fn split_version(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/').unwrap_or(rest.len());
    let (version, tail) = rest.split_at(end);
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Some((version, tail))
}

/// Middleware run before routing: strips the version prefix, refuses versions outside the
/// range with Docker's messages, records the version for handlers and stamps every response
/// with `Api-Version` and `Server`.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let version = match split_version(&path) {
        None => MAX_VERSION,
        Some((text, tail)) => {
            let Some(v) = ApiVersion::parse(text) else {
                return stamp(
                    ApiError::bad_request(format!("invalid API version {text:?}")).into_response(),
                );
            };
            if v < MIN_VERSION {
                return stamp(ApiError::bad_request(format!(
                    "client version {text} is too old. Minimum supported API version is {MIN_VERSION}, please upgrade your client to a newer version"
                )).into_response());
            }
            if v > MAX_VERSION {
                return stamp(
                    ApiError::bad_request(format!(
                        "client version {text} is too new. Maximum supported API version is {MAX_VERSION}"
                    ))
                    .into_response(),
                );
            }
            let tail = if tail.is_empty() { "/" } else { tail };
            let new_uri = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail.to_string(),
            };
            match new_uri.parse::<Uri>() {
                Ok(u) => *req.uri_mut() = u,
                Err(e) => {
                    return stamp(
                        ApiError::bad_request(format!("invalid request path: {e}")).into_response(),
                    )
                }
            }
            v
        }
    };
    req.extensions_mut().insert(version);
    stamp(next.run(req).await)
}

fn stamp(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&MAX_VERSION.to_string()) {
        h.insert("Api-Version", v);
    }
    h.insert(
        SERVER,
        HeaderValue::from_static(concat!("muelle/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion(1, 41)));
        assert_eq!(ApiVersion::parse("1"), None);
        assert_eq!(ApiVersion::parse("1.x"), None);
        assert_eq!(ApiVersion::parse("1.2.3"), None);
        assert!(ApiVersion(1, 9) < ApiVersion(1, 24));
    }

    #[test]
    fn splits_version_prefix() {
        assert_eq!(split_version("/v1.41/info"), Some(("1.41", "/info")));
        assert_eq!(split_version("/v1.41"), Some(("1.41", "")));
        assert_eq!(split_version("/volumes"), None);
        assert_eq!(split_version("/info"), None);
        assert_eq!(split_version("/v1.2.3/info"), Some(("1.2.3", "/info")));
    }
}
