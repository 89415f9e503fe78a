//! `GET /volumes/{name}` (`docker volume inspect`).

use axum::extract::{Path, State};
use axum::Json;
use muelle_types::volume::Volume;

use super::{to_docker, Eng};
use crate::error::ApiResult;

pub async fn inspect(State(engine): Eng, Path(name): Path<String>) -> ApiResult<Json<Volume>> {
    let rec = engine.volume(&name)?;
    Ok(Json(to_docker(&engine, rec, None)))
}
