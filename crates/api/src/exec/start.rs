//! `POST /exec/{id}/start`: detached, streamed as the response body, or attached over a
//! `101 Upgrade: tcp` connection.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use muelle_engine::containers::ContainerError;
use muelle_engine::{Engine, EngineError};
use muelle_types::container::ExecStartConfig;
use tokio::io::AsyncWriteExt;

use super::Eng;
use crate::containers::{
    detach_keys, docker_state, pump_output, splice, stream_type, upgrade_response,
};
use crate::error::{ApiError, ApiResult};
use crate::request::json_body;
use crate::stdcopy;
use crate::stream::{self, Sink};

pub async fn start(
    State(engine): Eng,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(format!("exec start: reading body: {e}")))?;
    let b: ExecStartConfig = if body.iter().all(u8::is_ascii_whitespace) {
        ExecStartConfig::default()
    } else {
        json_body(&body, "exec start")?
    };
    if !b.detach && req.headers().contains_key(header::UPGRADE) {
        return exec_start_upgraded(engine, id, b, req);
    }
    let (shim, e) = engine.exec_start(&id).await.map_err(ApiError::from)?;
    // The framing follows the start request's Tty, as in dockerd, not the exec's: docker-py
    // creates with `tty=True` and starts with `Tty: false`, then reads stdcopy frames.
    let tty = b.tty;
    let exec_id = e.id.clone();
    if b.detach {
        tokio::spawn(async move {
            let (mut r, _w) = shim.into_split();
            let mut sink = tokio::io::sink();
            let code = pump_output(&mut r, &mut sink, true).await;
            engine.exec_finished(&exec_id, code.unwrap_or(-1));
        });
        return Ok(StatusCode::OK.into_response());
    }
    // Without Upgrade: stream the output as the body (no stdin).
    let (sink, rx) = Sink::new();
    tokio::spawn(async move {
        let (mut r, _w) = shim.into_split();
        let mut w = sink;
        let code = pump_output(&mut r, &mut w, tty).await;
        engine.exec_finished(&exec_id, code.unwrap_or(-1));
    });
    Ok(stream::live(rx, stream_type(tty)))
}

/// An attached exec, as dockerd does it: the connection is upgraded first and the process
/// started after, so its output never arrives in the same read as the 101 (docker-py reads
/// the response head through a buffer it then bypasses, losing what came with it); an
/// error starting the process goes to the client's stdout, and the exec's exit code is 126.
fn exec_start_upgraded(
    engine: Arc<Engine>,
    id: String,
    b: ExecStartConfig,
    mut req: Request,
) -> ApiResult<Response> {
    let e = engine.exec_inspect(&id).map_err(ApiError::from)?;
    if e.started {
        return Err(ApiError::conflict(format!(
            "Error: Exec command {id} has already run"
        )));
    }
    let rec = engine.container(&e.container)?;
    if !docker_state(&rec).running {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            rec.id
        )));
    }
    // The start request's Tty decides the framing (see `start`).
    let tty = b.tty;
    let keys = detach_keys(if e.detach_keys.is_empty() {
        "ctrl-p,ctrl-q"
    } else {
        &e.detach_keys
    })?;
    let stdin = e.attach_stdin;
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(client) = on_upgrade.await else { return };
        match engine.exec_start(&id).await {
            Ok((shim, _)) => {
                let code = splice(TokioIo::new(client), shim, tty, keys, stdin).await;
                engine.exec_finished(&id, code.unwrap_or(-1));
            }
            Err(err) => {
                let message = match err {
                    EngineError::Container(ContainerError::Start { message, .. }) => {
                        engine.exec_finished(&id, 126);
                        message
                    }
                    other => other.to_string(),
                };
                let mut io = TokioIo::new(client);
                let text = format!("{message}\r\n");
                if !tty {
                    let _ = io
                        .write_all(&stdcopy::header(stdcopy::STDOUT, text.len()))
                        .await;
                }
                let _ = io.write_all(text.as_bytes()).await;
                let _ = io.shutdown().await;
            }
        }
    });
    Ok(upgrade_response(tty))
}
