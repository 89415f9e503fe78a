//! `DELETE /volumes/{name}` (`docker volume rm [-f]`): 409 while a container refers to the
//! volume; `force` makes a missing volume no error.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::Eng;
use crate::error::ApiResult;
use crate::request::Params;

pub async fn remove(
    State(engine): Eng,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let force = params.bool("force")?;
    engine.remove_volume(&name, force)?;
    Ok(StatusCode::NO_CONTENT)
}
