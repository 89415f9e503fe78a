//! Routes over a container's filesystem: `docker diff` (`GET /containers/{id}/changes`),
//! `docker commit` (`POST /commit`), `docker cp` (`HEAD`/`GET`/`PUT
//! /containers/{id}/archive`), `docker export` (`GET /containers/{id}/export`), and
//! `docker system df` (`GET /system/df`).
//!
//! Tars are streamed: the engine writes them on a blocking thread into a [`SinkWriter`]
//! whose chunks become the response body, as `docker save` does.

use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use bytes::Bytes;
use muelle_engine::containers::fs::CommitRequest;
use muelle_engine::containers::{ContainerConfig, ContainerRecord};
use muelle_engine::{familiar, Engine, EngineError};
use muelle_image::images::PathStat;
use muelle_image::{ImageError, ImageSummary};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::blocking::{blocking, body_reader, tar_response};
use crate::error::{ApiError, ApiResult};
use crate::request::{json_body, Params};
use crate::stream::{self, Kind, Sink, SinkWriter};
use crate::time::{unix_of, unix_secs};
use crate::version::ApiVersion;

type Eng = State<Arc<Engine>>;

const PATH_STAT_HEADER: &str = "x-docker-container-path-stat";

/// Engine errors of these routes. A missing path names the container as the user did, in
/// Docker's words; the CLI shows a 404 here as `No such container:path: NAME:PATH`.
fn fs_err(name: &str, e: EngineError) -> ApiError {
    match e {
        EngineError::Container(c) => c.into(),
        EngineError::Image(ImageError::PathNotFound { path }) => ApiError::not_found(format!(
            "Could not find the file {path} in container {name}"
        )),
        other => other.into(),
    }
}

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

// Diff.

pub async fn changes(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    let changes = engine
        .container_changes(&id)
        .await
        .map_err(|e| fs_err(&id, e))?;
    // Docker answers `null` when nothing changed (a nil slice); clients expect that.
    let body = if changes.is_empty() {
        Value::Null
    } else {
        Value::Array(
            changes
                .iter()
                .map(|c| json!({"Path": c.path, "Kind": c.kind.code()}))
                .collect(),
        )
    };
    Ok(Json(body).into_response())
}

// Commit.

pub async fn commit(State(engine): Eng, params: Params, body: Bytes) -> ApiResult<Response> {
    // Docker looks the container up as given, so an empty one is a 404, not a 400.
    let container = params.get("container").unwrap_or("").to_string();
    let trimmed = body.trim_ascii();
    // The body is optional, and docker's client sends `null` when it has no config.
    let config: Option<ContainerConfig> = if trimmed.is_empty() || trimmed == b"null" {
        None
    } else {
        Some(json_body(trimmed, "commit")?)
    };
    // Docker pauses unless told not to (an absent or empty `pause` means true).
    let pause = match params.get("pause") {
        None | Some("") => true,
        Some(_) => params.bool("pause")?,
    };
    let req = CommitRequest {
        repo: params.string("repo").map(str::to_string),
        tag: params.string("tag").map(str::to_string),
        comment: params.string("comment").map(str::to_string),
        author: params.string("author").map(str::to_string),
        changes: params
            .all("changes")
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .map(str::to_string)
            .collect(),
        config,
        pause,
    };
    let id = engine
        .commit_container(&container, req)
        .await
        .map_err(|e| fs_err(&container, e))?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": id }))).into_response())
}

// Archive.

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
    // `docker cp -a`: chowning what was extracted to the container's user needs the list of
    // extracted entries, which the extractor does not give yet. Refused loudly rather than
    // copied with the wrong owner.
    if params.bool("copyUIDGID")? {
        return Err(ApiError::not_implemented(
            "copyUIDGID (docker cp --archive) is not supported yet",
        ));
    }
    let reader = body_reader(body);
    blocking(&engine, move |e| {
        // Docker accepts a compressed archive here; a plain-tar media type makes the reader
        // sniff gzip or zstd.
        let mut tar =
            muelle_image::open_layer(reader, muelle_image::manifest::media_type::OCI_LAYER)
                .map_err(|err| ApiError::bad_request(format!("reading the archive: {err}")))?;
        e.archive_put(&id, &path, &mut tar, no_overwrite)
            .map_err(|err| fs_err(&id, err))
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

// Export.

pub async fn export(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(tar_response(&engine, move |e, out| {
        e.export_container(&id, out).map_err(|err| fs_err(&id, err))
    })
    .await)
}

// System df.

const DF_TYPES: &[&str] = &["container", "image", "volume", "build-cache"];

fn df_container(rec: &ContainerRecord, sizes: (i64, i64)) -> Value {
    let mut command = vec![rec.path.clone()];
    command.extend(rec.args.iter().cloned());
    json!({
        "Id": rec.id,
        "Names": [format!("/{}", rec.name)],
        "Image": rec.config.image,
        "ImageID": rec.image_id,
        "Command": command.join(" "),
        "Created": unix_of(&rec.created),
        "Ports": [],
        "SizeRw": sizes.0,
        "SizeRootFs": sizes.1,
        "Labels": rec.config.labels,
        "State": rec.state.status().as_str(),
        "Status": rec.status_text(SystemTime::now()),
        "HostConfig": {"NetworkMode": rec.host_config.network_mode()},
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
    })
}

fn df_image(image: &ImageSummary, containers: usize, version: ApiVersion) -> Value {
    let labels = image
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    let created = unix_secs(muelle_engine::created(image));
    let mut v = json!({
        "Id": image.id.to_string(),
        "ParentId": "",
        "RepoTags": image.repo_tags.iter().map(|t| familiar(t)).collect::<Vec<_>>(),
        "RepoDigests": image.repo_digests.iter().map(|t| familiar(t)).collect::<Vec<_>>(),
        "Created": created,
        "Size": image.size,
        // Layers shared between images are not told apart yet: each image's size counts
        // them, and nothing is reported shared (0, not Docker's "unknown" -1, which would
        // make the CLI count an image in use as reclaimable).
        "SharedSize": 0,
        "Labels": labels,
        "Containers": containers,
    });
    if version.before(1, 44) {
        v["VirtualSize"] = json!(image.size);
    }
    v
}

pub async fn df(
    State(engine): Eng,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let types: Vec<String> = params
        .all("type")
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = types.iter().find(|t| !DF_TYPES.contains(&t.as_str())) {
        return Err(ApiError::bad_request(format!(
            "invalid type {bad:?}: must be one of {}",
            DF_TYPES.join(", ")
        )));
    }
    let want = move |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let out = blocking(&engine, move |e| {
        let records = e.containers().records();
        let mut out = serde_json::Map::new();
        if want("image") {
            let images = e.images().list()?;
            let mut layers_size: u64 = 0;
            let mut list = Vec::new();
            for image in &images {
                layers_size += image.size;
                let id = image.id.to_string();
                let used = records.iter().filter(|r| r.image_id == id).count();
                list.push(df_image(image, used, version));
            }
            out.insert("LayersSize".into(), json!(layers_size));
            out.insert("Images".into(), Value::Array(list));
        }
        if want("container") {
            let list = records
                .iter()
                .map(|r| df_container(r, e.container_sizes(&r.id)))
                .collect();
            out.insert("Containers".into(), Value::Array(list));
        }
        if want("volume") {
            out.insert("Volumes".into(), json!([]));
        }
        if want("build-cache") {
            out.insert("BuildCache".into(), json!([]));
        }
        Ok(Value::Object(out))
    })
    .await?;
    Ok(Json(out))
}
