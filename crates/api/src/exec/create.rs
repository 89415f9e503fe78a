//! `POST /containers/{id}/exec`: an exec instance of a running container, started later.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use muelle_engine::containers::ExecRecord;
use muelle_types::container::{ExecConfig, IdResponse};

use super::Eng;
use crate::containers::detach_keys;
use crate::error::ApiResult;
use crate::request::json_body;

pub async fn create(
    State(engine): Eng,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: ExecConfig = json_body(&body, "exec create")?;
    if let Some(k) = &b.detach_keys {
        if !k.is_empty() {
            detach_keys(k)?;
        }
    }
    let e = ExecRecord {
        id: String::new(),
        container: String::new(),
        cmd: b.cmd.unwrap_or_default(),
        env: b.env.unwrap_or_default(),
        user: b.user.unwrap_or_default(),
        working_dir: b.working_dir.unwrap_or_default(),
        tty: b.tty,
        privileged: b.privileged,
        attach_stdin: b.attach_stdin,
        attach_stdout: b.attach_stdout,
        attach_stderr: b.attach_stderr,
        detach_keys: b.detach_keys.unwrap_or_default(),
        running: false,
        started: false,
        exit_code: None,
        pid: 0,
    };
    let id = engine.exec_create(&id, e)?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}
