//! `POST /commit` (`docker commit`): an image of a container's filesystem and config.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use muelle_engine::containers::fs::CommitRequest;
use muelle_types::container::{ContainerConfig, IdResponse};

use super::{fs_err, Eng};
use crate::error::ApiResult;
use crate::request::{json_body, Params};

pub async fn commit(State(engine): Eng, params: Params, body: Bytes) -> ApiResult<Response> {
    // Docker looks the container up as given, so an empty one is a 404, not a 400.
    let container = params.get("container").unwrap_or("").to_string();
    let trimmed = body.trim_ascii();
    // The body is optional, and docker's client sends `null` when it has no config.
    let config: Option<ContainerConfig> = if trimmed.is_empty() || trimmed == b"null" {
        None
    } else {
        Some(json_body(trimmed, "commit")?)
    };
    // Docker pauses unless told not to (an absent or empty `pause` means true).
    let pause = match params.get("pause") {
        None | Some("") => true,
        Some(_) => params.bool("pause")?,
    };
    let req = CommitRequest {
        repo: params.string("repo").map(str::to_string),
        tag: params.string("tag").map(str::to_string),
        comment: params.string("comment").map(str::to_string),
        author: params.string("author").map(str::to_string),
        changes: params
            .all("changes")
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .map(str::to_string)
            .collect(),
        config,
        pause,
    };
    let id = engine
        .commit_container(&container, req)
        .await
        .map_err(|e| fs_err(&container, e))?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}
