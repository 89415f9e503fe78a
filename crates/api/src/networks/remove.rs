//! `DELETE /networks/{id}` (`docker network rm`): 403 for the built-in networks and while a
//! running container is on it.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::Eng;
use crate::error::ApiResult;

pub async fn remove(State(engine): Eng, Path(id): Path<String>) -> ApiResult<StatusCode> {
    engine.remove_network(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
