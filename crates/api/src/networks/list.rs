//! `GET /networks` (`docker network ls`) with dockerd's filters: `name`, `id`, `driver`,
//! `label`, `scope`, `type` (custom, builtin), `dangling`.

use axum::extract::State;
use axum::Json;
use muelle_engine::networks::NetworkFilters;
use muelle_types::network::Network;

use super::{to_docker, Eng};
use crate::error::ApiResult;
use crate::request::Params;

pub async fn list(State(engine): Eng, params: Params) -> ApiResult<Json<Vec<Network>>> {
    let f = params.filters(&["name", "id", "driver", "label", "scope", "type", "dangling"])?;
    let filters = NetworkFilters {
        names: f.get("name").to_vec(),
        ids: f.get("id").to_vec(),
        drivers: f.get("driver").to_vec(),
        labels: f.get("label").to_vec(),
        scopes: f.get("scope").to_vec(),
        types: f.get("type").to_vec(),
        dangling: f.bool("dangling")?,
    };
    let list = engine
        .list_networks(&filters)?
        .into_iter()
        .map(|n| to_docker(&engine, n, false))
        .collect();
    Ok(Json(list))
}
