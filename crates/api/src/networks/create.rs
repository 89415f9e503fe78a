//! `POST /networks/create` (`docker network create`): 201 with the new network's ID.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::network::NetworkCreateRequest;

use super::Eng;
use crate::blocking::blocking;
use crate::error::ApiResult;
use crate::request::json_body;

pub async fn create(State(engine): Eng, body: Bytes) -> ApiResult<Response> {
    let req: NetworkCreateRequest = json_body(&body, "network create")?;
    // Blocking: the host's routes are read and the record is written durably.
    let resp = blocking(&engine, move |e| Ok(e.create_network(req)?)).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}
