//! Image routes, one concern a module: the list, inspect and history, pull, push, save/load
//! and import, tag, remove, prune, search.
//!
//! Image names may contain slashes (`127.0.0.1:5000/team/app:1`), so `/images/{name}/json`
//! cannot be an ordinary route pattern: everything under `/images/` that is not one of the
//! fixed routes comes to [`dispatch_get`], [`dispatch_post`] or [`remove::delete`], which
//! split the action off the end as Docker's router does.

mod archive;
mod inspect;
mod list;
mod prune;
mod pull;
mod push;
mod remove;
mod search;
mod tag;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use muelle_engine::{familiar, Engine};
use muelle_image::manifest::Platform;
use muelle_image::reference::Reference;
use muelle_image::Digest;

use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::version::ApiVersion;

/// The image routes, merged into the API's router.
pub fn router() -> Router<Arc<Engine>> {
    Router::new()
        .route("/images/json", get(list::list))
        .route("/images/create", post(pull::create))
        .route("/images/load", post(archive::load))
        .route("/images/prune", post(prune::prune))
        .route("/images/get", get(archive::save_many))
        .route("/images/search", get(search::search))
        .route(
            "/images/{*rest}",
            get(dispatch_get).post(dispatch_post).delete(remove::delete),
        )
}

fn parse_reference(name: &str) -> ApiResult<Reference> {
    Reference::parse(name)
        .map_err(|e| ApiError::bad_request(format!("invalid reference format: {}", e.problem)))
}

/// A repository and a tag as Docker combines them (`fromImage` + `tag` of a pull, `repo` +
/// `tag` of an import, a push's name + `tag`): a tag that is a digest pins the digest.
fn pull_reference(from: &str, tag: Option<&str>) -> ApiResult<Reference> {
    let base = parse_reference(from)?;
    match tag {
        None => Ok(base),
        Some(t) => match Digest::parse(t) {
            Ok(d) => Ok(base.with_digest(d)),
            Err(_) => base
                .with_tag(t)
                .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {}", e.problem))),
        },
    }
}

fn parse_platform(params: &Params) -> ApiResult<Option<Platform>> {
    params
        .string("platform")
        .map(|p| {
            Platform::parse(p).map_err(|e| ApiError::bad_request(format!("invalid platform: {e}")))
        })
        .transpose()
}

/// A layer's ID in progress messages: 12 hex digits.
fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}

fn familiar_all(names: &[String]) -> Vec<String> {
    names.iter().map(|n| familiar(n)).collect()
}

// Dispatch of `/images/{name}/{action}`.

fn split_action<'a>(rest: &'a str, action: &str) -> Option<&'a str> {
    rest.strip_suffix(action)
        .and_then(|n| n.strip_suffix('/'))
        .filter(|n| !n.is_empty())
}

fn page_not_found() -> ApiError {
    ApiError::not_found("page not found")
}

pub async fn dispatch_get(
    State(engine): State<Arc<Engine>>,
    Extension(version): Extension<ApiVersion>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    if let Some(name) = split_action(&rest, "json") {
        return inspect::inspect(engine, name.to_string(), version).await;
    }
    if let Some(name) = split_action(&rest, "history") {
        return inspect::history(engine, name.to_string()).await;
    }
    if let Some(name) = split_action(&rest, "get") {
        return archive::save(engine, vec![name.to_string()]).await;
    }
    Err(page_not_found())
}

pub async fn dispatch_post(
    State(engine): State<Arc<Engine>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    if let Some(name) = split_action(&rest, "tag") {
        return tag::tag(engine, name.to_string(), params).await;
    }
    if let Some(name) = split_action(&rest, "push") {
        return push::push(engine, name.to_string(), params, headers).await;
    }
    Err(page_not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_split_off_names() {
        assert_eq!(split_action("busybox/json", "json"), Some("busybox"));
        assert_eq!(
            split_action("127.0.0.1:5000/a/b:1/json", "json"),
            Some("127.0.0.1:5000/a/b:1")
        );
        assert_eq!(split_action("json", "json"), None);
        assert_eq!(split_action("busybox/tag", "json"), None);
    }

    #[test]
    fn pull_references() {
        let r = pull_reference("busybox", Some("1.36")).unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:1.36");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = pull_reference("busybox", Some(&d)).unwrap();
        assert_eq!(r.digest().map(|x| x.to_string()), Some(d));
        assert!(pull_reference("Busybox", None).is_err());
        assert!(pull_reference("busybox", Some("bad tag")).is_err());
    }
}
