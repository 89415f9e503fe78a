//! `POST /containers/create`: Docker's `Config` with its `HostConfig` and `NetworkingConfig`
//! in one body (the endpoints' options are checked against the network the container is on;
//! they are not kept).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use muelle_engine::containers::CreateRequest;
use muelle_types::container::{
    ContainerConfig, ContainerCreateResponse, EndpointSettings, HostConfig,
};
use serde_json::Value;

use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::{json_body, Params};

pub async fn create(State(engine): Eng, params: Params, body: Bytes) -> ApiResult<Response> {
    let mut v: Value = json_body(&body, "container create")?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ApiError::bad_request(
            "container create: the body must be a JSON object",
        ));
    };
    // Taken out so that `Config`'s kept unknown fields do not hold them.
    let host_v = obj.remove("HostConfig").unwrap_or(Value::Null);
    let networking = obj.remove("NetworkingConfig").unwrap_or(Value::Null);
    let config: ContainerConfig = json_body(
        &serde_json::to_vec(&v).unwrap_or_default(),
        "container create",
    )?;
    let host_config: HostConfig = if host_v.is_null() {
        HostConfig::default()
    } else {
        json_body(
            &serde_json::to_vec(&host_v).unwrap_or_default(),
            "container create: HostConfig",
        )?
    };
    let endpoints = endpoints_config(&networking)?;
    engine.check_network_options(&config, &host_config, &endpoints)?;
    let req = CreateRequest {
        name: params.string("name").map(str::to_string),
        config,
        host_config,
        endpoints,
    };
    let (id, warnings) = engine.create_container(req).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContainerCreateResponse { id, warnings }),
    )
        .into_response())
}

/// `NetworkingConfig.EndpointsConfig`; a `null` field reads as absent, as Go's decoder
/// leaves a field it is given `null` for.
fn endpoints_config(networking: &Value) -> ApiResult<BTreeMap<String, EndpointSettings>> {
    let Some(Value::Object(eps)) = networking.get("EndpointsConfig") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (net, ep) in eps {
        let mut ep = ep.clone();
        if let Value::Object(fields) = &mut ep {
            fields.retain(|_, v| !v.is_null());
        }
        let settings: EndpointSettings = json_body(
            &serde_json::to_vec(&ep).unwrap_or_default(),
            "container create: NetworkingConfig",
        )?;
        out.insert(net.clone(), settings);
    }
    Ok(out)
}
