//! `POST /images/{name}/tag`: a new name for an image.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muelle_engine::Engine;

use super::parse_reference;
use crate::blocking::blocking;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;

pub(super) async fn tag(engine: Arc<Engine>, name: String, params: Params) -> ApiResult<Response> {
    let repo = params
        .string("repo")
        .ok_or_else(|| ApiError::bad_request("missing query parameter: repo"))?;
    let mut target = parse_reference(repo)?;
    if let Some(t) = params.string("tag") {
        target = target
            .with_tag(t)
            .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {}", e.problem)))?;
    }
    if target.digest().is_some() {
        return Err(ApiError::bad_request(
            "refusing to create a tag with a digest reference",
        ));
    }
    blocking(&engine, move |e| {
        e.tag(&name, &target)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::CREATED.into_response())
}
