//! `GET /containers/{id}/logs`: the json-file or local log read back (rotated and gzipped
//! files included), framed (or raw for a tty), optionally followed while the container runs.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use muelle_engine::containers::log_driver;
use muelle_engine::containers::logs::{self, LogOptions};

use super::{docker_state, Eng};
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::stdcopy;
use crate::stream::{self, Sink};
use crate::time::parse_until;

/// Docker prints log timestamps with exactly nine fraction digits.
fn fixed_nanos(t: &str) -> String {
    let Some(body) = t.strip_suffix('Z') else {
        return t.to_string();
    };
    match body.split_once('.') {
        Some((s, frac)) => format!("{s}.{:0<9}Z", &frac[..frac.len().min(9)]),
        None => format!("{body}.000000000Z"),
    }
}

fn log_opts(params: &Params) -> ApiResult<LogOptions> {
    let stdout = params.bool("stdout")?;
    let stderr = params.bool("stderr")?;
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match params.string("tail") {
        None | Some("all") => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid value for tail: {t:?}"
                )))
            }
        },
    };
    let time = |k: &str| -> ApiResult<Option<SystemTime>> {
        match params.string(k) {
            None | Some("0") => Ok(None),
            Some(v) => parse_until(v).map(Some),
        }
    };
    Ok(LogOptions {
        stdout,
        stderr,
        follow: params.bool("follow")?,
        tail,
        since: time("since")?,
        until: time("until")?,
        timestamps: params.bool("timestamps")?,
    })
}

/// One log entry as the client reads it: a stdcopy frame, or the bare line for a tty.
pub(super) fn encode(entry: &logs::Entry, tty: bool, timestamps: bool) -> Bytes {
    let mut payload = Vec::with_capacity(entry.line.len() + 32);
    if timestamps {
        payload.extend_from_slice(fixed_nanos(&entry.time).as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(&entry.line);
    if tty {
        return Bytes::from(payload);
    }
    Bytes::from(stdcopy::frame(entry.stream, &payload))
}

/// The media type of a container's output: raw for a tty, stdcopy frames otherwise.
pub(crate) fn stream_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

pub async fn logs(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let opts = log_opts(&params)?;
    let rec = engine.container(&id)?;
    let path = log_driver::read_path(&rec, &engine.config().log_config)
        .map_err(ApiError::not_implemented)?;
    let tty = rec.config.tty;
    let (sink, rx) = Sink::new();
    let engine2 = engine.clone();
    tokio::spawn(async move {
        let (entries, pos) = {
            let path = path.clone();
            let opts = opts.clone();
            tokio::task::spawn_blocking(move || logs::read_all(&path, &opts))
                .await
                .unwrap_or_default()
        };
        for e in &entries {
            if !sink.bytes(encode(e, tty, opts.timestamps)) {
                return;
            }
        }
        if !opts.follow {
            return;
        }
        let mut follower = logs::Follower::new(&path, pos);
        let mut follow_opts = opts.clone();
        follow_opts.tail = None;
        loop {
            let running = engine2
                .container(&rec.id)
                .map(|r| {
                    let s = docker_state(&r);
                    s.running || s.restarting
                })
                .unwrap_or(false);
            for e in follower.poll(&follow_opts) {
                if !sink.bytes(encode(&e, tty, opts.timestamps)) {
                    return;
                }
            }
            if !running || sink.is_closed() {
                return;
            }
            if follow_opts.until.is_some_and(|u| u <= SystemTime::now()) {
                return;
            }
            tokio::time::sleep(logs::FOLLOW_INTERVAL).await;
        }
    });
    Ok(stream::live(rx, stream_type(tty)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_nine_digits() {
        assert_eq!(
            fixed_nanos("2026-01-01T00:00:00.5Z"),
            "2026-01-01T00:00:00.500000000Z"
        );
        assert_eq!(
            fixed_nanos("2026-01-01T00:00:00Z"),
            "2026-01-01T00:00:00.000000000Z"
        );
    }
}
