//! `docker cp`: `HEAD`, `GET` and `PUT /containers/{id}/archive`. The path's stat travels
//! base64-encoded in the `X-Docker-Container-Path-Stat` header.

use std::io::Write;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use muelle_image::images::PathStat;
use tokio::sync::oneshot;

use super::{fs_err, Eng};
use crate::blocking::{blocking, body_reader};
use crate::error::{ApiError, ApiResult};
use crate::request::Params;
use crate::stream::{self, Kind, Sink, SinkWriter};

const PATH_STAT_HEADER: &str = "x-docker-container-path-stat";

/// Docker's `ArchiveFormValues`: `path` is required.
fn archive_path(params: &Params) -> ApiResult<String> {
    params
        .string("path")
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("bad parameter: path cannot be empty"))
}

/// The `X-Docker-Container-Path-Stat` header: base64 (standard, padded) of the stat's JSON.
fn stat_header(stat: &PathStat) -> ApiResult<HeaderValue> {
    let json = serde_json::to_vec(stat)
        .map_err(|e| ApiError::internal(format!("encoding the path stat: {e}")))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    HeaderValue::from_str(&b64).map_err(|e| ApiError::internal(format!("path stat header: {e}")))
}

fn with_stat(mut resp: Response, stat: &PathStat) -> ApiResult<Response> {
    resp.headers_mut().insert(
        HeaderName::from_static(PATH_STAT_HEADER),
        stat_header(stat)?,
    );
    Ok(resp)
}

pub async fn archive_head(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let path = archive_path(&params)?;
    let name = id.clone();
    let stat = blocking(&engine, move |e| {
        e.archive_stat(&name, &path)
            .map_err(|err| fs_err(&name, err))
    })
    .await?;
    with_stat(StatusCode::OK.into_response(), &stat)
}

pub async fn archive_get(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let path = archive_path(&params)?;
    let (sink, rx) = Sink::new();
    // The stat goes out as a header, so it must be known before the body starts; an error
    // before it is the response itself.
    let (stat_tx, stat_rx) = oneshot::channel::<ApiResult<PathStat>>();
    let e = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = SinkWriter::new(sink.clone());
        let mut stat_tx = Some(stat_tx);
        let result = {
            let mut on_stat = |st: &PathStat| {
                if let Some(tx) = stat_tx.take() {
                    let _ = tx.send(Ok(st.clone()));
                }
            };
            e.archive_get(&id, &path, &mut on_stat, &mut out)
                .map_err(|err| fs_err(&id, err))
                .and_then(|_| {
                    out.flush()
                        .map_err(|err| ApiError::internal(format!("writing the archive: {err}")))
                })
        };
        if let Err(err) = result {
            match stat_tx.take() {
                Some(tx) => {
                    let _ = tx.send(Err(err));
                }
                None => sink.fail(err),
            }
        }
    });
    let stat = stat_rx
        .await
        .map_err(|_| ApiError::internal("the archive task ended without an answer"))??;
    let resp = stream::respond(rx, Kind::Raw, "application/x-tar").await;
    if !resp.status().is_success() {
        return Ok(resp);
    }
    with_stat(resp, &stat)
}

pub async fn archive_put(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
    body: Body,
) -> ApiResult<Response> {
    let path = archive_path(&params)?;
    let no_overwrite = params.bool("noOverwriteDirNonDir")?;
    let copy_uid_gid = params.bool("copyUIDGID")?;
    let reader = body_reader(body);
    blocking(&engine, move |e| {
        // Docker accepts a compressed archive here; a plain-tar media type makes the reader
        // sniff gzip or zstd.
        let mut tar =
            muelle_image::open_layer(reader, muelle_image::manifest::media_type::OCI_LAYER)
                .map_err(|err| ApiError::bad_request(format!("reading the archive: {err}")))?;
        // A refusal before the archive is read (no such container, a bad path) leaves the
        // rest of the upload to the unread-body layer, so the client gets the answer.
        e.archive_put(&id, &path, &mut tar, no_overwrite, copy_uid_gid)
            .map_err(|err| fs_err(&id, err))
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}
