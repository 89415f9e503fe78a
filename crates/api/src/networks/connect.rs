//! `POST /networks/{id}/connect` and `/disconnect` (`docker network connect`,
//! `docker network disconnect [-f]`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use muelle_types::network::{NetworkConnect, NetworkDisconnect};

use super::Eng;
use crate::error::ApiResult;
use crate::request::json_body;

pub async fn connect(
    State(engine): Eng,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnect = json_body(&body, "network connect")?;
    engine
        .connect_network(&req.container, &id, req.endpoint_config.unwrap_or_default())
        .await?;
    Ok(StatusCode::OK)
}

pub async fn disconnect(
    State(engine): Eng,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnect = json_body(&body, "network disconnect")?;
    engine
        .disconnect_network(&req.container, &id, req.force)
        .await?;
    Ok(StatusCode::OK)
}
