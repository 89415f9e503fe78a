//! The routes of what muelle does not offer (swarm mode, services, nodes, tasks, secrets,
//! configs, managed plugins), answered as a dockerd that is not in a swarm and has no
//! plugins answers them: the request is checked as dockerd checks it (a JSON body, an
//! update's `version`, a log's streams), then a manager operation is refused with 503.
//! Clients' clean-up code depends on it: docker-py's `leave_swarm(force=True)` swallows
//! the 503 "not part of a swarm" but raises on a 404, and `docker plugin ls` wants a list.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use muelle_engine::Engine;
use muelle_types::ErrorKind;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::request::{Filters, Params};

/// dockerd's answer to every manager operation on a node outside a swarm
/// (daemon/cluster's `errNoManager`, an "unavailable" error: 503).
pub const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// dockerd's answer to `POST /swarm/leave` outside a swarm (`errNoSwarm`, 503).
pub const NOT_IN_A_SWARM: &str = "This node is not part of a swarm";

/// Filter keys `GET /plugins` accepts (moby's `acceptedPluginFilterTags`).
const PLUGIN_FILTERS: &[&str] = &["capability", "enabled"];

/// The swarm and plugin routes, merged into the API's router.
pub fn routes() -> Router<Arc<Engine>> {
    Router::new()
        .route("/swarm", get(not_a_manager))
        .route("/swarm/init", post(no_swarm_mode))
        .route("/swarm/join", post(no_swarm_mode))
        .route("/swarm/leave", post(leave))
        .route("/swarm/update", post(update_swarm))
        .route("/swarm/unlockkey", get(not_a_manager))
        .route("/swarm/unlock", post(with_body))
        .route("/services", get(list))
        .route("/services/create", post(with_body))
        .route("/services/{id}", get(not_a_manager).delete(not_a_manager))
        .route("/services/{id}/update", post(update_service))
        .route("/services/{id}/logs", get(logs))
        .route("/nodes", get(list))
        .route("/nodes/{id}", get(not_a_manager).delete(not_a_manager))
        .route("/nodes/{id}/update", post(update_node))
        .route("/tasks", get(list))
        .route("/tasks/{id}", get(not_a_manager))
        .route("/tasks/{id}/logs", get(logs))
        .route("/secrets", get(list))
        .route("/secrets/create", post(with_body))
        .route("/secrets/{id}", get(not_a_manager).delete(not_a_manager))
        .route("/secrets/{id}/update", post(update_secret))
        .route("/configs", get(list))
        .route("/configs/create", post(with_body))
        .route("/configs/{id}", get(not_a_manager).delete(not_a_manager))
        .route("/configs/{id}/update", post(update_config))
        .route("/plugins", get(list_plugins))
        .route("/plugins/privileges", get(no_plugins))
        .route("/plugins/pull", post(no_plugins))
        .route("/plugins/create", post(no_plugins))
        .route(
            "/plugins/{*rest}",
            get(plugin_get).post(plugin_post).delete(plugin_delete),
        )
}

fn unavailable(message: &str) -> ApiError {
    ApiError::new(ErrorKind::Unavailable, message)
}

async fn not_a_manager() -> ApiError {
    unavailable(NOT_A_MANAGER)
}

async fn leave() -> ApiError {
    unavailable(NOT_IN_A_SWARM)
}

/// `swarm init`/`join` would make this node a swarm member, which muelle cannot be.
async fn no_swarm_mode() -> ApiError {
    ApiError::not_implemented("swarm mode is not supported by muelle")
}

/// Installing a plugin (pull, create, the privileges a pull would ask for).
async fn no_plugins() -> ApiError {
    ApiError::not_implemented("plugins are not supported by muelle")
}

/// dockerd decodes a spec (a JSON object) before it asks for the manager.
fn check_spec(body: &[u8]) -> ApiResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("got EOF while reading request body"));
    }
    serde_json::from_slice::<Map<String, Value>>(body)
        .map(|_| ())
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn with_body(body: Bytes) -> ApiError {
    check_spec(&body)
        .err()
        .unwrap_or_else(|| unavailable(NOT_A_MANAGER))
}

/// What an update route names in its `version` error; dockerd words them two ways.
#[derive(Clone, Copy)]
enum Object {
    Swarm,
    Service,
    Node,
    Secret,
    Config,
}

/// An update: its spec, then its `version` (an unsigned integer), then the manager.
fn update(object: Object, params: &Params, body: &[u8]) -> ApiError {
    if let Err(e) = check_spec(body) {
        return e;
    }
    let v = params.get("version").unwrap_or("");
    if v.parse::<u64>().is_ok() {
        return unavailable(NOT_A_MANAGER);
    }
    let parse_error = |what: &str| {
        format!("invalid {what} version '{v}': strconv.ParseUint: parsing {v:?}: invalid syntax")
    };
    ApiError::bad_request(match object {
        Object::Swarm => parse_error("swarm"),
        Object::Service => parse_error("service"),
        Object::Node => parse_error("node"),
        Object::Secret => "invalid secret version".to_string(),
        Object::Config => "invalid config version".to_string(),
    })
}

async fn update_swarm(params: Params, body: Bytes) -> ApiError {
    update(Object::Swarm, &params, &body)
}

async fn update_service(params: Params, body: Bytes) -> ApiError {
    update(Object::Service, &params, &body)
}

async fn update_node(params: Params, body: Bytes) -> ApiError {
    update(Object::Node, &params, &body)
}

async fn update_secret(params: Params, body: Bytes) -> ApiError {
    update(Object::Secret, &params, &body)
}

async fn update_config(params: Params, body: Bytes) -> ApiError {
    update(Object::Config, &params, &body)
}

/// Lists: `filters` must be JSON (its keys are checked only by a manager).
async fn list(params: Params) -> ApiError {
    match params.string("filters") {
        Some(f) => match serde_json::from_str::<Value>(f) {
            Ok(_) => unavailable(NOT_A_MANAGER),
            Err(e) => ApiError::bad_request(e.to_string()),
        },
        None => unavailable(NOT_A_MANAGER),
    }
}

/// Go's `httputils.BoolValue`: anything but the false spellings is true.
fn go_bool(params: &Params, key: &str) -> bool {
    let v = params.get(key).unwrap_or("").trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
}

/// Service and task logs ask for at least one stream first (dockerd's 500, kept).
async fn logs(params: Params) -> ApiError {
    if go_bool(&params, "stdout") || go_bool(&params, "stderr") {
        unavailable(NOT_A_MANAGER)
    } else {
        ApiError::internal("Bad parameters: you must choose at least one stream")
    }
}

/// No plugin is ever installed: an empty list, after the filters are checked as dockerd
/// checks them (its wording, and its 500 for filters that are not JSON).
async fn list_plugins(params: Params) -> ApiResult<Response> {
    if let Some(text) = params.string("filters") {
        let v: Value = serde_json::from_str(text).map_err(|e| ApiError::internal(e.to_string()))?;
        for key in v.as_object().into_iter().flat_map(Map::keys) {
            if !PLUGIN_FILTERS.contains(&key.as_str()) {
                return Err(ApiError::bad_request(format!("Invalid filter '{key}'")));
            }
        }
        let filters = Filters::parse(text, PLUGIN_FILTERS)?;
        for v in filters.get("enabled") {
            if v != "true" && v != "false" {
                return Err(ApiError::bad_request(format!(
                    "Invalid filter 'enabled=[{v}]'"
                )));
            }
        }
    }
    Ok(axum::Json(Vec::<Value>::new()).into_response())
}

/// moby's `errNotFound` for a plugin name or ID.
fn plugin_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("plugin {name:?} not found"))
}

fn page_not_found() -> ApiError {
    ApiError::not_found("page not found")
}

/// `NAME/ACTION` split from the end: plugin names contain slashes (`vieux/sshfs:latest`).
fn split_action<'a>(rest: &'a str, actions: &[&str]) -> Option<(&'a str, &'a str)> {
    let (name, action) = rest.rsplit_once('/')?;
    (!name.is_empty() && actions.contains(&action)).then_some((name, action))
}

async fn plugin_get(Path(rest): Path<String>) -> ApiError {
    match split_action(&rest, &["json"]) {
        Some((name, _)) => plugin_not_found(name),
        None => page_not_found(),
    }
}

async fn plugin_post(Path(rest): Path<String>, params: Params, body: Bytes) -> ApiError {
    let actions = ["enable", "disable", "push", "upgrade", "set"];
    let Some((name, action)) = split_action(&rest, &actions) else {
        return page_not_found();
    };
    match action {
        // dockerd reads these before it looks the plugin up.
        "enable" => {
            let t = params.get("timeout").unwrap_or("");
            if t.parse::<i64>().is_err() {
                return ApiError::internal(format!("strconv.Atoi: parsing {t:?}: invalid syntax"));
            }
        }
        "set" => {
            if body.iter().all(u8::is_ascii_whitespace) {
                return ApiError::bad_request("got EOF while reading request body");
            }
            if let Err(e) = serde_json::from_slice::<Vec<String>>(&body) {
                return ApiError::bad_request(e.to_string());
            }
        }
        _ => {}
    }
    plugin_not_found(name)
}

async fn plugin_delete(Path(rest): Path<String>) -> ApiError {
    plugin_not_found(&rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_actions_split_from_the_end() {
        assert_eq!(
            split_action("vieux/sshfs:latest/json", &["json"]),
            Some(("vieux/sshfs:latest", "json"))
        );
        assert_eq!(split_action("json", &["json"]), None);
        assert_eq!(split_action("a/b/other", &["json"]), None);
    }

    #[test]
    fn updates_check_spec_then_version() {
        let p = |q: &str| Params::parse(q);
        let e = update(Object::Swarm, &p("version=1"), b"");
        assert_eq!(e.message, "got EOF while reading request body");
        let e = update(Object::Swarm, &p(""), b"{}");
        assert_eq!(
            e.message,
            "invalid swarm version '': strconv.ParseUint: parsing \"\": invalid syntax"
        );
        assert_eq!(
            update(Object::Secret, &p("version=x"), b"{}").message,
            "invalid secret version"
        );
        assert_eq!(update(Object::Node, &p("version=3"), b"[1]").status(), 400);
        let e = update(Object::Config, &p("version=3"), b"{}");
        assert_eq!(
            (e.status().as_u16(), e.message.as_str()),
            (503, NOT_A_MANAGER)
        );
    }
}
