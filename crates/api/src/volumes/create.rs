//! `POST /volumes/create` (`docker volume create`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::volume::VolumeCreateOptions;

use super::{to_docker, Eng};
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::json_body;

pub async fn create(State(engine): Eng, body: Bytes) -> ApiResult<Response> {
    let req: VolumeCreateOptions = if body.is_empty() {
        VolumeCreateOptions::default()
    } else {
        json_body(&body, "volume create")?
    };
    let v = blocking(&engine, move |e| {
        let rec = e.create_volume(
            &req.name,
            &req.driver,
            req.labels.unwrap_or_default(),
            req.driver_opts.unwrap_or_default(),
        )?;
        Ok(to_docker(e, rec, None))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}
