//! `GET /containers/{id}/top`: the host's `ps` with the caller's arguments, cut down to the
//! container's processes.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::container::TopResponse;

use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;

pub async fn top(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let pids = engine.container_pids(&id)?;
    let args = params.string("ps_args").unwrap_or("-ef").to_string();
    let out = tokio::process::Command::new("ps")
        .args(args.split_whitespace())
        .output()
        .await
        .map_err(|e| ApiError::internal(format!("running ps: {e}")))?;
    if !out.status.success() {
        return Err(ApiError::internal(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let head = lines.next().unwrap_or("");
    let titles: Vec<String> = head.split_whitespace().map(str::to_string).collect();
    let Some(pid_col) = titles.iter().position(|t| t == "PID") else {
        return Err(ApiError::internal("Couldn't find PID field in ps output"));
    };
    let mut processes = Vec::new();
    for l in lines {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let Some(p) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !pids.contains(&p) {
            continue;
        }
        // The last column (the command) may hold spaces.
        let n = titles.len();
        let mut row: Vec<String> = fields
            .iter()
            .take(n.saturating_sub(1))
            .map(|s| s.to_string())
            .collect();
        row.push(
            fields
                .iter()
                .skip(n.saturating_sub(1))
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        );
        processes.push(row);
    }
    engine.container_topped(&id);
    Ok(Json(TopResponse { titles, processes }).into_response())
}
