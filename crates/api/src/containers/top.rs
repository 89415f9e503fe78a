//! `GET /containers/{id}/top`: the host's `ps` with the caller's arguments, as dockerd runs
//! it: `ps_args` split on spaces (default `-ef`), `-q` with the container's pids added (and
//! dropped again when ps refuses it with those options, `f` for one), then cut down to the
//! container's processes; with `m` the thread lines (`-` in the PID column) of a kept
//! process are kept too.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use muelle_types::container::TopResponse;

use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;

/// dockerd's `validatePSArgs`: a `-o NAME=PID…` that renames a column to PID would fool the
/// PID lookup, so only `pid=PID…` may.
fn validate_ps_args(args: &str) -> Result<(), String> {
    let mut rest = args;
    while let Some(at) = rest.find('=') {
        let before = &rest[..at];
        let after = rest[at + 1..].trim_start();
        // The key is the run of non-space characters right before '=', preceded by a space.
        let key_start = before.rfind(char::is_whitespace).map(|i| i + 1);
        let value: String = after.chars().take_while(|c| !c.is_whitespace()).collect();
        if let Some(k) = key_start {
            let key = &before[k..];
            if value.starts_with("PID") && key != "pid" {
                return Err(format!("specifying \"{key}={value}\" is not allowed"));
            }
        }
        rest = &rest[at + 1..];
    }
    Ok(())
}

/// dockerd's `parsePSOutput`: titles from the first line, rows whose PID is the container's
/// (and the thread lines after them), the command's words joined into the last column.
fn parse_ps_output(output: &str, pids: &[i32]) -> Result<TopResponse, String> {
    let mut lines = output.split('\n');
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let Some(pid_col) = titles.iter().position(|t| t == "PID") else {
        return Err("Couldn't find PID field in ps output".to_owned());
    };
    let mut processes = Vec::new();
    let mut keeping = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(pid) = fields.get(pid_col) else {
            continue;
        };
        if *pid == "-" {
            if keeping {
                processes.push(row(&fields, titles.len()));
            }
            continue;
        }
        let p: i32 = pid
            .parse()
            .map_err(|e| format!("Unexpected pid '{pid}': {e}"))?;
        keeping = pids.contains(&p);
        if keeping {
            processes.push(row(&fields, titles.len()));
        }
    }
    Ok(TopResponse { titles, processes })
}

/// As many cells as titles: the overhanging words (a command's arguments) join the last.
fn row(fields: &[&str], n: usize) -> Vec<String> {
    let cut = n.saturating_sub(1).min(fields.len());
    let mut cells: Vec<String> = fields[..cut].iter().map(|s| s.to_string()).collect();
    cells.push(fields[cut..].join(" "));
    cells
}

async fn ps(args: &[&str]) -> Result<std::process::Output, std::io::Error> {
    tokio::process::Command::new("ps").args(args).output().await
}

pub async fn top(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let ps_args = params
        .string("ps_args")
        .filter(|a| !a.is_empty())
        .unwrap_or("-ef")
        .to_string();
    validate_ps_args(&ps_args).map_err(ApiError::internal)?;
    let pids = engine.container_pids(&id)?;
    let args: Vec<&str> = ps_args.split(' ').filter(|a| !a.is_empty()).collect();
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut with_pids = args.clone();
    with_pids.extend(["-q", list.as_str()]);
    let mut out = ps(&with_pids)
        .await
        .map_err(|e| ApiError::internal(format!("ps: {e}")))?;
    if !out.status.success() {
        out = ps(&args)
            .await
            .map_err(|e| ApiError::internal(format!("ps: {e}")))?;
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().filter(|l| !l.is_empty());
        let why = first.map_or_else(|| format!("{}", out.status), str::to_owned);
        return Err(ApiError::internal(format!("ps: {why}")));
    }
    let list = parse_ps_output(&String::from_utf8_lossy(&out.stdout), &pids)
        .map_err(ApiError::internal)?;
    engine.container_topped(&id);
    Ok(Json(list).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_pid_may_be_renamed_to_pid() {
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        assert_eq!(
            validate_ps_args("-o uid=PID").unwrap_err(),
            "specifying \"uid=PID\" is not allowed"
        );
    }

    #[test]
    fn rows_are_the_containers_with_their_threads() {
        let out = "UID PID PPID CMD\n\
                   root 10 1 sleep 100\n\
                   root - - thread of 10\n\
                   root 11 1 other\n\
                   root - - thread of 11\n";
        let t = parse_ps_output(out, &[10]).unwrap();
        assert_eq!(t.titles, ["UID", "PID", "PPID", "CMD"]);
        assert_eq!(
            t.processes,
            [
                vec!["root", "10", "1", "sleep 100"],
                vec!["root", "-", "-", "thread of 10"]
            ]
        );
        assert!(parse_ps_output("UID CMD\n", &[1]).is_err());
        assert!(parse_ps_output("PID\nx\n", &[1])
            .unwrap_err()
            .starts_with("Unexpected pid 'x'"));
    }
}
