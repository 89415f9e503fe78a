//! `POST /exec/{id}/resize`: the exec's tty size.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Eng;
use crate::containers::tty_size;
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::request::Params;

pub async fn resize(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let h = tty_size(&params, "h")?;
    let w = tty_size(&params, "w")?;
    engine
        .exec_resize(&id, h, w)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::OK.into_response())
}
