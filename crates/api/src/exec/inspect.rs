//! `GET /exec/{id}/json`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_engine::containers::ExecRecord;
use muelle_types::container::{ExecInspect, ExecProcessConfig};

use super::Eng;
use crate::error::ApiError;
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
    let e = engine.exec_inspect(&id).map_err(ApiError::from)?;
    Ok(Json(exec_inspect(e)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_inspect_is_dockers_shape() {
        let e = ExecRecord {
            id: "e1".into(),
            container: "c1".into(),
            cmd: vec!["sleep".into(), "30".into()],
            env: Vec::new(),
            user: "root".into(),
            working_dir: String::new(),
            tty: false,
            privileged: false,
            attach_stdin: false,
            attach_stdout: true,
            attach_stderr: false,
            detach_keys: String::new(),
            running: true,
            started: true,
            exit_code: None,
            pid: 7,
        };
        assert_eq!(
            serde_json::to_string(&exec_inspect(e)).unwrap(),
            concat!(
                r#"{"ID":"e1","Running":true,"ExitCode":null,"ProcessConfig":{"tty":false,"#,
                r#""entrypoint":"sleep","arguments":["30"],"privileged":false,"user":"root"},"#,
                r#""OpenStdin":false,"OpenStderr":false,"OpenStdout":true,"CanRemove":false,"#,
                r#""ContainerID":"c1","DetachKeys":"","Pid":7}"#
            )
        );
    }
}
