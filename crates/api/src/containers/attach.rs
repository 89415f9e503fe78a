//! Attaching to a container: the `101 Upgrade: tcp` connection, the input pump that watches
//! for the detach keys, the output pump that frames the shim's streams (exec uses the same
//! pumps), and the tty resize.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use muelle_engine::containers::log_driver;
use muelle_engine::containers::logs::{self, LogOptions};
use muelle_engine::containers::shim::{Output, OutputReader, Stream};
use muelle_engine::containers::AttachTarget;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::logs::{encode, stream_type};
use super::Eng;
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::stdcopy;

/// A tty dimension (`h`, `w`); absent is 0.
pub(crate) fn tty_size(params: &Params, key: &str) -> ApiResult<u32> {
    match params.string(key) {
        None => Ok(0),
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
    }
}

pub async fn resize(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let h = tty_size(&params, "h")?;
    let w = tty_size(&params, "w")?;
    engine.resize_container(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

/// The `101` that hands the connection over to the streams.
pub(crate) fn upgrade_response(tty: bool) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(stream_type(tty)),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    r
}

/// Parses Docker's detach keys (`ctrl-p,ctrl-q`, `a`, `ctrl-@`...).
/// Parses Docker's detach keys (`ctrl-p,ctrl-q`, `a`, `ctrl-@`...).
pub(crate) fn detach_keys(s: &str) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [x] if x.is_ascii_alphabetic() => x.to_ascii_lowercase() - b'a' + 1,
                b"@" => 0,
                b"[" => 27,
                b"\\" => 28,
                b"]" => 29,
                b"^" => 30,
                b"_" => 31,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid detach keys ({s}) provided"
                    )))
                }
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(ApiError::bad_request(format!(
                "Invalid detach keys ({s}) provided"
            )));
        }
    }
    Ok(out)
}

/// Copies the client's input to the shim, watching for the detach sequence. Returns true if
/// the client detached.
async fn pump_input<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut from: R,
    mut to: W,
    keys: Vec<u8>,
) -> bool {
    let mut buf = vec![0u8; 8192];
    let mut matched = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if !keys.is_empty() && b == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    let _ = to.write_all(&out).await;
                    return true;
                }
                continue;
            }
            if matched > 0 {
                out.extend_from_slice(&keys[..matched]);
                matched = 0;
            }
            out.push(b);
        }
        if to.write_all(&out).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    false
}

/// Copies the process's output to the client (stdcopy frames, raw payloads for a tty) until
/// its end. Returns the exit code if the supervisor told it.
pub(crate) async fn pump_output<W: AsyncWrite + Unpin>(
    shim: &mut OutputReader,
    to: &mut W,
    tty: bool,
) -> Option<i64> {
    loop {
        let (stream, data) = match shim.next().await {
            Ok(Some(Output::Exit(code))) => return Some(i64::from(code)),
            Ok(Some(Output::Stdout(data))) => (stdcopy::STDOUT, data),
            Ok(Some(Output::Stderr(data))) => (stdcopy::STDERR, data),
            Ok(None) | Err(_) => return None,
        };
        let ok = if tty {
            to.write_all(&data).await
        } else {
            to.write_all(&stdcopy::frame(stream, &data)).await
        };
        if ok.is_err() {
            return None;
        }
        let _ = to.flush().await;
    }
}

/// Joins a hijacked client connection and a process's stream until the output ends or the
/// client detaches.
pub(crate) async fn splice(
    io: TokioIo<hyper::upgrade::Upgraded>,
    shim: Stream,
    tty: bool,
    keys: Vec<u8>,
    with_stdin: bool,
) -> Option<i64> {
    let (mut cr, mut cw) = tokio::io::split(io);
    let (mut sr, sw) = shim.into_split();
    let input = async move {
        if with_stdin {
            pump_input(&mut cr, sw, keys).await
        } else {
            // Keep reading so a client's half-close is noticed, but send nothing.
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut cr, &mut sink).await;
            drop(sw);
            std::future::pending::<bool>().await
        }
    };
    let code = {
        let output = async { pump_output(&mut sr, &mut cw, tty).await };
        tokio::pin!(input);
        tokio::pin!(output);
        tokio::select! {
            code = &mut output => code,
            detached = &mut input => {
                if detached { None } else { output.await }
            }
        }
    };
    let _ = cw.shutdown().await;
    code
}

pub async fn attach(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
    mut req: Request,
) -> ApiResult<Response> {
    let stdin = params.bool("stdin")?;
    let stdout = params.bool("stdout")?;
    let stderr = params.bool("stderr")?;
    let keys = detach_keys(params.string("detachKeys").unwrap_or("ctrl-p,ctrl-q"))?;
    let logs_too = params.bool("logs")?;
    // Without `stream` dockerd sends the logs asked for (if any) and ends the session; it
    // never waits for the container.
    let live = params.bool("stream")?;
    let (target, rec) = if live {
        let (t, rec) = engine.attach_container(&id, stdin, stdout, stderr).await?;
        (Some(t), rec)
    } else {
        (None, engine.container(&id)?)
    };
    let tty = rec.config.tty;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let rec_path = log_driver::read_path(&rec, &engine.config().log_config).ok();
    tokio::spawn(async move {
        let Ok(client) = on_upgrade.await else { return };
        let mut io = TokioIo::new(client);
        if let (true, Some(path)) = (logs_too, rec_path) {
            // What was logged so far, then the live stream.
            let opts = LogOptions {
                stdout,
                stderr,
                ..LogOptions::default()
            };
            let (entries, _) = tokio::task::spawn_blocking(move || logs::read_all(&path, &opts))
                .await
                .unwrap_or_default();
            for e in &entries {
                if io.write_all(&encode(e, tty, false)).await.is_err() {
                    return;
                }
            }
        }
        let Some(target) = target else {
            let _ = io.shutdown().await;
            return;
        };
        let shim = match target {
            AttachTarget::Live(s) => s,
            AttachTarget::Pending(rx) => match rx.await {
                Ok(s) => s,
                Err(_) => return,
            },
        };
        splice(io, shim, tty, keys, stdin && rec.config.open_stdin).await;
    });
    Ok(upgrade_response(tty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_sequences() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(detach_keys("a,ctrl-@").unwrap(), vec![b'a', 0]);
        assert!(detach_keys("ctrl-ab").is_err());
    }

    #[tokio::test]
    async fn detach_sequence_stops_input() {
        let (mut a, b) = tokio::io::duplex(64);
        let (c, mut d) = tokio::io::duplex(64);
        a.write_all(b"hi\x10x\x10\x11rest").await.unwrap();
        let detached = pump_input(b, c, vec![16, 17]).await;
        assert!(detached);
        let mut got = vec![0u8; 4];
        d.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hi\x10x");
    }
}
