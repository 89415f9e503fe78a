//! `GET /networks/{id}` (`docker network inspect`); `verbose` and `scope` are accepted (no
//! swarm services to add, every network is local).

use axum::extract::{Path, State};
use axum::Json;
use muelle_types::network::Network;

use super::{to_docker, Eng};
use crate::error::{ApiError, ApiResult};
use crate::request::Params;

pub async fn inspect(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Network>> {
    params.bool("verbose")?;
    let rec = engine.network(&id)?;
    if let Some(scope) = params.string("scope") {
        if !scope.is_empty() && scope != "local" {
            return Err(ApiError::not_found(format!("network {id} not found")));
        }
    }
    Ok(Json(to_docker(&engine, rec, true)))
}
