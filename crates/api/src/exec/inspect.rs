//! `GET /exec/{id}/json`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_engine::containers::ExecRecord;
use muelle_types::container::{ExecInspect, ExecProcessConfig};

use super::{exec_error, Eng};
use crate::error::ApiResult;

fn exec_inspect(e: ExecRecord) -> ExecInspect {
    let (entrypoint, arguments) = e
        .cmd
        .split_first()
        .map_or((String::new(), Vec::new()), |(a, b)| {
            (a.clone(), b.to_vec())
        });
    ExecInspect {
        id: e.id,
        running: e.running,
        exit_code: e.exit_code,
        process_config: ExecProcessConfig {
            tty: e.tty,
            entrypoint,
            arguments,
            privileged: e.privileged,
            user: e.user,
        },
        open_stdin: e.attach_stdin,
        open_stderr: e.attach_stderr,
        open_stdout: e.attach_stdout,
        can_remove: false,
        container_id: e.container,
        detach_keys: e.detach_keys,
        pid: e.pid,
    }
}

pub async fn inspect(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    let e = engine.exec_inspect(&id).map_err(|e| exec_error(&id, e))?;
    Ok(Json(exec_inspect(e)).into_response())
}
