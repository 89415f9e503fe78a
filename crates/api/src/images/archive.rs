//! Images as tar archives: `docker save` (`GET /images/get`, `GET /images/{name}/get`),
//! `docker load` (`POST /images/load`) and `docker import` (`POST /images/create` with
//! `fromSrc`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use muelle_engine::{familiar, Engine};
use muelle_image::images::ImportOptions;
use muelle_types::image::JsonMessage;

use super::{parse_platform, pull_reference};
use crate::blocking::{blocking, body_reader, tar_response};
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::stream::json_line;

/// Messages as the lines of a JSON stream.
fn lines(messages: &[JsonMessage]) -> Vec<u8> {
    messages.iter().flat_map(json_line).collect()
}

pub(super) async fn import(
    engine: Arc<Engine>,
    params: Params,
    src: String,
    body: Body,
) -> ApiResult<Response> {
    if src != "-" {
        return Err(ApiError::not_implemented(
            "importing from a URL is not supported: send the tarball as the request body with fromSrc=-",
        ));
    }
    let reference = match params.string("repo") {
        None => None,
        Some(repo) => Some(pull_reference(repo, params.string("tag"))?),
    };
    if reference.as_ref().is_some_and(|r| r.digest().is_some()) {
        return Err(ApiError::bad_request("cannot import to a digest reference"));
    }
    let opts = ImportOptions {
        reference,
        message: params.string("message").map(str::to_string),
        changes: params
            .all("changes")
            .into_iter()
            .map(str::to_string)
            .collect(),
        platform: parse_platform(&params)?,
    };
    let reader = body_reader(body);
    let id = blocking(&engine, move |e| {
        let mut reader = reader;
        Ok(e.import(&mut reader, &opts)?.id)
    })
    .await?;
    let line = lines(&[JsonMessage::status(id.to_string())]);
    Ok(([(CONTENT_TYPE, "application/json")], line).into_response())
}

pub(super) async fn save(engine: Arc<Engine>, names: Vec<String>) -> ApiResult<Response> {
    if names.is_empty() {
        return Err(ApiError::bad_request("missing query parameter: names"));
    }
    Ok(tar_response(&engine, move |e, out| {
        e.save(&names, out).map_err(ApiError::from)
    })
    .await)
}

pub async fn save_many(State(engine): State<Arc<Engine>>, params: Params) -> ApiResult<Response> {
    let names = params
        .all("names")
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    save(engine, names).await
}

pub async fn load(
    State(engine): State<Arc<Engine>>,
    params: Params,
    body: Body,
) -> ApiResult<Response> {
    params.bool("quiet")?;
    let reader = body_reader(body);
    let loaded = blocking(&engine, move |e| {
        let mut reader = reader;
        let loaded = e.load(&mut reader);
        if loaded.is_err() {
            // Read the rest, so the client gets the answer rather than a broken pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        }
        Ok(loaded?)
    })
    .await;
    // dockerd answers 200 whatever happens and reports a failed load in the stream; clients
    // raise their load error from that line (docker-py's `ImageLoadError`).
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(message = %e.message, "load failed");
            return Ok((
                [(CONTENT_TYPE, "application/json")],
                crate::stream::error_line(&e),
            )
                .into_response());
        }
    };
    let mut messages = Vec::new();
    for image in loaded {
        if image.names.is_empty() {
            messages.push(JsonMessage::stream(format!(
                "Loaded image ID: {}\n",
                image.id
            )));
        }
        for name in &image.names {
            messages.push(JsonMessage::stream(format!(
                "Loaded image: {}\n",
                familiar(name)
            )));
        }
    }
    Ok(([(CONTENT_TYPE, "application/json")], lines(&messages)).into_response())
}
