//! `POST /containers/{id}/update`: new resource limits and restart policy for a container
//! (the engine checks, records and applies them); answers the warnings.

use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use muelle_types::container::{ContainerUpdate, ContainerUpdateResponse};

use super::Eng;
use crate::error::ApiResult;
use crate::request::json_body;

pub async fn update(
    State(engine): Eng,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ContainerUpdateResponse>> {
    let u: ContainerUpdate = json_body(&body, "container update")?;
    let warnings = engine.update_container(&id, &u).await?;
    Ok(Json(ContainerUpdateResponse {
        warnings: (!warnings.is_empty()).then_some(warnings),
    }))
}
