//! The lifecycle calls: start, stop, restart, kill, pause, unpause, rename, remove, and wait
//! (answered after its headers).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use muelle_engine::EngineError;
use muelle_types::container::{WaitError, WaitResponse};

use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;

/// 204, or the engine's error (a 304 when there was nothing to do has no body).
fn done(r: Result<(), EngineError>) -> ApiResult<Response> {
    r?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn start(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    if params.string("checkpoint").is_some() {
        return Err(ApiError::not_implemented("checkpoints are not supported"));
    }
    done(engine.start_container(&id).await)
}

fn timeout(params: &Params) -> ApiResult<Option<i64>> {
    match params.string("t").or(params.string("timeout")) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for timeout: {t:?}"))),
    }
}

pub async fn stop(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = timeout(&params)?;
    done(engine.stop_container(&id, params.string("signal"), t).await)
}

pub async fn restart(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = timeout(&params)?;
    done(
        engine
            .restart_container(&id, params.string("signal"), t)
            .await,
    )
}

pub async fn kill(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    done(engine.kill_container(&id, params.string("signal")).await)
}

pub async fn pause(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    done(engine.pause_container(&id).await)
}

pub async fn unpause(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    done(engine.unpause_container(&id).await)
}

pub async fn rename(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let name = params.get("name").unwrap_or("");
    done(engine.rename_container(&id, name))
}

pub async fn remove(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let force = params.bool("force")?;
    let volumes = params.bool("v")?;
    if params.bool("link")? {
        return Err(ApiError::new(
            muelle_types::ErrorKind::System,
            "Conflict, cannot remove the default link name of the container",
        ));
    }
    done(
        engine
            .remove_container_and_volumes(&id, force, volumes)
            .await,
    )
}

/// `DELETE /containers/{id}/{alias}?link=1`: a legacy link of the container goes.
pub async fn remove_link(
    State(engine): Eng,
    Path((id, alias)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    if !params.bool("link")? {
        return Err(ApiError::new(
            muelle_types::ErrorKind::NotFound,
            format!("No such container: {id}/{alias}"),
        ));
    }
    done(engine.remove_link(&id, &alias))
}

pub async fn wait(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let cond = params.get("condition").unwrap_or("");
    let fut = engine.wait_container(&id, cond)?;
    // The headers go out now: a client starts the container once they arrive, and the
    // waiter is already registered.
    let body = futures_util::stream::once(async move {
        let (code, err) = fut.await;
        let answer = WaitResponse {
            status_code: code,
            error: err.map(|message| WaitError { message }),
        };
        let mut line = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
        line.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}
