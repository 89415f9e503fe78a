//! `GET /containers/{id}/export` (`docker export`): the container's filesystem as a tar.

use axum::extract::{Path, State};
use axum::response::Response;

use super::{fs_err, Eng};
use crate::blocking::tar_response;
use crate::error::ApiResult;

pub async fn export(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tar_response(&engine, move |e, out| {
        e.export_container(&id, out).map_err(|err| fs_err(&id, err))
    })
    .await)
}
