//! Container and exec routes: Docker's JSON shapes for create, list and inspect; the
//! lifecycle calls; and the streams (attach and exec over a `101 Upgrade: tcp` connection,
//! logs, wait answered after its headers).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use muelle_engine::containers::logs::{self, LogOptions};
use muelle_engine::containers::shim::{frame_header, read_frame, EXIT_FRAME};
use muelle_engine::containers::{
    AttachTarget, ContainerConfig, ContainerError, ContainerRecord, CreateRequest, ExecRecord,
    HostConfig, Status,
};
use muelle_engine::{Engine, EngineError};
use muelle_types::ErrorKind;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{ApiError, ApiResult};
use crate::request::{json_body, Params};
use crate::stream::{self, Sink};
use crate::time::{parse_until, unix_of};

type Eng = State<Arc<Engine>>;

/// 304 has no body; everything else answers 204.
fn done(r: Result<(), EngineError>) -> ApiResult<Response> {
    match r {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) if e.kind() == ErrorKind::NotModified => {
            Ok(StatusCode::NOT_MODIFIED.into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// Create.

pub async fn create(State(engine): Eng, params: Params, body: Bytes) -> ApiResult<Response> {
    let mut v: Value = json_body(&body, "container create")?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ApiError::bad_request(
            "container create: the body must be a JSON object",
        ));
    };
    let host_v = obj.remove("HostConfig").unwrap_or(Value::Null);
    obj.remove("NetworkingConfig");
    let config: ContainerConfig = json_body(
        &serde_json::to_vec(&v).unwrap_or_default(),
        "container create",
    )?;
    let host_config: HostConfig = if host_v.is_null() {
        HostConfig::default()
    } else {
        json_body(
            &serde_json::to_vec(&host_v).unwrap_or_default(),
            "container create: HostConfig",
        )?
    };
    let req = CreateRequest {
        name: params.string("name").map(str::to_string),
        config,
        host_config,
    };
    let (id, warnings) = engine.create_container(req).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"Id": id, "Warnings": warnings})),
    )
        .into_response())
}

// List and inspect.

const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];

/// dockerd's `name` filter (`filters.Args.Match` on `/NAME` and `NAME`): the value itself, or
/// an unanchored regular expression; one that does not compile matches nothing.
fn name_matches(name: &str, pattern: &str) -> bool {
    let slashed = format!("/{name}");
    if pattern == name || pattern == slashed {
        return true;
    }
    regex::Regex::new(pattern).is_ok_and(|re| re.is_match(&slashed) || re.is_match(name))
}

/// The list's `Command` as dockerd spells it: arguments with a space in single quotes.
fn command(rec: &ContainerRecord) -> String {
    let mut parts = vec![rec.path.clone()];
    parts.extend(rec.args.iter().map(|a| {
        if a.contains(' ') {
            format!("'{a}'")
        } else {
            a.clone()
        }
    }));
    parts.join(" ")
}

fn summary(engine: &Engine, rec: &ContainerRecord, size: bool) -> Value {
    let mut v = json!({
        "Id": rec.id,
        "Names": [format!("/{}", rec.name)],
        "Image": rec.config.image,
        "ImageID": rec.image_id,
        "Command": command(rec),
        "Created": unix_of(&rec.created),
        "Ports": [],
        "Labels": rec.config.labels,
        "State": rec.state.status().as_str(),
        "Status": rec.status_text(SystemTime::now()),
        "HostConfig": {"NetworkMode": rec.host_config.network_mode()},
        "NetworkSettings": {"Networks": networks(rec)},
        "Mounts": mounts(rec),
    });
    if size {
        let (rw, root) = engine.container_sizes(&rec.id);
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}

fn networks(rec: &ContainerRecord) -> Value {
    let mode = rec.host_config.network_mode();
    let name = if mode == "default" { "bridge" } else { mode };
    json!({ name: {
        "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null
    }})
}

fn mounts(rec: &ContainerRecord) -> Value {
    Value::Array(
        rec.mounts
            .iter()
            .map(|m| {
                json!({"Type": m.typ, "Source": m.source, "Destination": m.destination,
                    "Mode": m.mode, "RW": m.rw, "Propagation": m.propagation})
            })
            .collect(),
    )
}

fn status_matches(rec: &ContainerRecord, s: &str) -> bool {
    rec.state.status().as_str() == s
}

pub async fn list(State(engine): Eng, params: Params) -> ApiResult<Response> {
    let filters = params.filters(LIST_FILTERS)?;
    for s in filters.get("status") {
        if ![
            "created",
            "restarting",
            "running",
            "removing",
            "paused",
            "exited",
            "dead",
        ]
        .contains(&s.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "invalid filter 'status={s}'"
            )));
        }
    }
    let all = params.bool("all")?;
    let size = params.bool("size")?;
    let limit = params
        .get("limit")
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))
        })
        .transpose()?
        .filter(|l| *l > 0);
    let mut recs = engine.containers().records();
    recs.sort_by(|a, b| b.created.cmp(&a.created));
    let find_created = |key: &str| -> ApiResult<Vec<String>> {
        filters
            .get(key)
            .iter()
            .map(|r| {
                engine
                    .container(r)
                    .map(|c| c.created)
                    .map_err(ApiError::from)
            })
            .collect()
    };
    let before = find_created("before")?;
    let since = find_created("since")?;
    let ancestors: Vec<String> = filters
        .get("ancestor")
        .iter()
        .filter_map(|a| engine.images().image(a).ok().map(|i| i.id.to_string()))
        .collect();
    let mut out = Vec::new();
    for rec in &recs {
        let explicit_status = filters.contains("status");
        if !all
            && !rec.state.running()
            && !explicit_status
            && limit.is_none()
            && before.is_empty()
            && since.is_empty()
        {
            continue;
        }
        if filters.contains("status")
            && !filters.get("status").iter().any(|s| status_matches(rec, s))
        {
            continue;
        }
        if filters.contains("id")
            && !filters
                .get("id")
                .iter()
                .any(|i| rec.id.starts_with(i.as_str()))
        {
            continue;
        }
        if filters.contains("name")
            && !filters
                .get("name")
                .iter()
                .any(|n| name_matches(&rec.name, n))
        {
            continue;
        }
        let labels: Vec<String> = filters.get("label").to_vec();
        if !muelle_engine::labels::labels_match(&rec.config.labels, &labels) {
            continue;
        }
        if filters.contains("exited")
            && (rec.state.status() != Status::Exited
                || !filters
                    .get("exited")
                    .iter()
                    .any(|c| c.parse::<i64>().ok() == Some(rec.state.exit_code())))
        {
            continue;
        }
        if filters.contains("ancestor")
            && !(ancestors.contains(&rec.image_id)
                || filters
                    .get("ancestor")
                    .iter()
                    .any(|a| a == &rec.config.image))
        {
            continue;
        }
        if before.iter().any(|b| rec.created >= *b) || since.iter().any(|s| rec.created <= *s) {
            continue;
        }
        if filters.contains("network")
            && !filters.get("network").iter().any(|n| {
                let m = rec.host_config.network_mode();
                n == m || (m == "default" && n == "bridge")
            })
        {
            continue;
        }
        out.push(summary(&engine, rec, size));
    }
    if let Some(l) = limit {
        out.truncate(l as usize);
    }
    Ok(axum::Json(Value::Array(out)).into_response())
}

fn inspect_json(engine: &Engine, rec: &ContainerRecord, size: bool) -> Value {
    let mut host = serde_json::to_value(&rec.host_config).unwrap_or_else(|_| json!({}));
    host["NetworkMode"] = json!(rec.host_config.network_mode());
    if rec.host_config.log_config.typ.is_empty() {
        host["LogConfig"]["Type"] = json!("json-file");
    }
    // Records made before the runtime was recorded ran with the default one.
    if rec.host_config.runtime.is_empty() {
        host["Runtime"] = json!(muelle_engine::containers::DEFAULT_RUNTIME);
    }
    let mut config = serde_json::to_value(&rec.config).unwrap_or_else(|_| json!({}));
    if rec.config.entrypoint.is_none() {
        config["Entrypoint"] = Value::Null;
    }
    let mounts_data = engine.rootfs_mounts(&rec.id).unwrap_or_default();
    let mut graph = Map::new();
    for m in &mounts_data {
        for o in &m.options {
            if let Some((k, v)) = o.split_once('=') {
                let key = match k {
                    "lowerdir" => "LowerDir",
                    "upperdir" => "UpperDir",
                    "workdir" => "WorkDir",
                    _ => continue,
                };
                graph.insert(key.into(), json!(v));
            }
        }
    }
    graph.insert(
        "MergedDir".into(),
        json!(engine.rootfs_path(&rec.id).display().to_string()),
    );
    let execs = engine.exec_ids(&rec.id);
    let mut v = json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": rec.path,
        "Args": rec.args,
        "State": rec.state,
        "Image": rec.image_id,
        "ResolvConfPath": rec.resolv_conf_path,
        "HostnamePath": rec.hostname_path,
        "HostsPath": rec.hosts_path,
        "LogPath": if rec.host_config.log_config.typ == "none" { String::new() } else { rec.log_path.clone() },
        "Name": format!("/{}", rec.name),
        "RestartCount": rec.restart_count,
        "Driver": rec.driver,
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": if execs.is_empty() { Value::Null } else { json!(execs) },
        "HostConfig": host,
        "GraphDriver": {"Data": graph, "Name": rec.driver},
        "Mounts": mounts(rec),
        "Config": config,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "",
            "SecondaryIPAddresses": null, "SecondaryIPv6Addresses": null, "EndpointID": "",
            "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
            "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
            "Networks": networks(rec),
        },
    });
    if size {
        let (rw, root) = engine.container_sizes(&rec.id);
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(root);
    }
    v
}

pub async fn inspect(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let rec = engine.container(&id).map_err(ApiError::from)?;
    let size = params.bool("size")?;
    Ok(axum::Json(inspect_json(&engine, &rec, size)).into_response())
}

// Lifecycle.

pub async fn start(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    if params.string("checkpoint").is_some() {
        return Err(ApiError::not_implemented("checkpoints are not supported"));
    }
    done(engine.start_container(&id).await)
}

fn timeout(params: &Params) -> ApiResult<Option<i64>> {
    match params.string("t").or(params.string("timeout")) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid value for timeout: {t:?}"))),
    }
}

pub async fn stop(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = timeout(&params)?;
    done(engine.stop_container(&id, params.string("signal"), t).await)
}

pub async fn restart(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let t = timeout(&params)?;
    done(
        engine
            .restart_container(&id, params.string("signal"), t)
            .await,
    )
}

pub async fn kill(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    done(engine.kill_container(&id, params.string("signal")).await)
}

pub async fn pause(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    done(engine.pause_container(&id).await)
}

pub async fn unpause(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    done(engine.unpause_container(&id).await)
}

pub async fn rename(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let name = params.get("name").unwrap_or("");
    done(engine.rename_container(&id, name))
}

pub async fn remove(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let force = params.bool("force")?;
    // Anonymous volumes do not exist yet: `v` is only checked, as Docker parses it.
    params.bool("v")?;
    if params.bool("link")? {
        return Err(ApiError::bad_request("links are not supported"));
    }
    done(engine.remove_container(&id, force).await)
}

fn size_param(params: &Params, key: &str) -> ApiResult<u32> {
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
    let h = size_param(&params, "h")?;
    let w = size_param(&params, "w")?;
    engine
        .resize_container(&id, h, w)
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::OK.into_response())
}

pub async fn wait(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let cond = params.get("condition").unwrap_or("");
    let fut = engine.wait_container(&id, cond).map_err(ApiError::from)?;
    // The headers go out now: a client starts the container once they arrive, and the
    // waiter is already registered.
    let body = futures_util::stream::once(async move {
        let (code, err) = fut.await;
        let v = json!({"StatusCode": code, "Error": err.map(|m| json!({"Message": m}))});
        Ok::<_, std::io::Error>(Bytes::from(format!("{v}\n")))
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

pub async fn prune(State(engine): Eng, params: Params) -> ApiResult<Response> {
    let filters = params.filters(&["label", "until"])?;
    let until = match filters.get("until").first() {
        None => None,
        Some(u) => Some(parse_until(u)?),
    };
    let labels: Vec<String> = filters.get("label").to_vec();
    // Sizes are taken before: afterwards the writable layers are gone.
    let sizes: std::collections::BTreeMap<String, i64> = engine
        .containers()
        .records()
        .into_iter()
        .filter(|r| !r.state.running())
        .map(|r| {
            let rw = engine.container_sizes(&r.id).0;
            (r.id, rw)
        })
        .collect();
    let gone = engine
        .prune_containers(&labels, until)
        .await
        .map_err(ApiError::from)?;
    let reclaimed: i64 = gone.iter().filter_map(|id| sizes.get(id)).sum();
    Ok(axum::Json(json!({
        "ContainersDeleted": if gone.is_empty() { Value::Null } else { json!(gone) },
        "SpaceReclaimed": reclaimed,
    }))
    .into_response())
}

pub async fn top(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let pids = engine.container_pids(&id).map_err(ApiError::from)?;
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
    let titles: Vec<&str> = head.split_whitespace().collect();
    let Some(pid_col) = titles.iter().position(|t| *t == "PID") else {
        return Err(ApiError::internal("Couldn't find PID field in ps output"));
    };
    let mut procs = Vec::new();
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
        procs.push(row);
    }
    engine.container_topped(&id);
    Ok(axum::Json(json!({"Titles": titles, "Processes": procs})).into_response())
}

// Logs.

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

fn encode(entry: &logs::Entry, tty: bool, timestamps: bool) -> Bytes {
    let mut payload = Vec::with_capacity(entry.line.len() + 32);
    if timestamps {
        payload.extend_from_slice(fixed_nanos(&entry.time).as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(&entry.line);
    if tty {
        return Bytes::from(payload);
    }
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&frame_header(entry.stream, payload.len()));
    out.extend_from_slice(&payload);
    Bytes::from(out)
}

fn stream_type(tty: bool) -> &'static str {
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
    let rec = engine.container(&id).map_err(ApiError::from)?;
    let driver = rec.host_config.log_config.typ.as_str();
    if driver == "none" {
        return Err(ApiError::not_implemented(
            "configured logging driver does not support reading",
        ));
    }
    let tty = rec.config.tty;
    let path = std::path::PathBuf::from(&rec.log_path);
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
                .map(|r| r.state.running() || r.state.restarting())
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

// Attach and exec streams.

fn upgrade_response(tty: bool) -> Response {
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
fn detach_keys(s: &str) -> ApiResult<Vec<u8>> {
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

/// Copies the shim's frames to the client (raw payloads for a tty), stopping at the exit
/// frame. Returns the exit code if the shim sent it.
async fn pump_output<W: AsyncWrite + Unpin>(
    shim: &mut tokio::net::unix::OwnedReadHalf,
    to: &mut W,
    tty: bool,
) -> Option<i64> {
    loop {
        match read_frame(shim).await {
            Ok(Some((EXIT_FRAME, data))) => {
                return serde_json::from_slice::<Value>(&data)
                    .ok()
                    .and_then(|v| v.get("exit_code").and_then(Value::as_i64));
            }
            Ok(Some((stream, data))) => {
                let ok = if tty {
                    to.write_all(&data).await
                } else {
                    let mut b = Vec::with_capacity(data.len() + 8);
                    b.extend_from_slice(&frame_header(stream, data.len()));
                    b.extend_from_slice(&data);
                    to.write_all(&b).await
                };
                if ok.is_err() {
                    return None;
                }
                let _ = to.flush().await;
            }
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Joins a hijacked client connection and a shim stream until the output ends or the
/// client detaches.
async fn splice(
    io: TokioIo<hyper::upgrade::Upgraded>,
    shim: tokio::net::UnixStream,
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
        let (t, rec) = engine
            .attach_container(&id, stdin, stdout, stderr)
            .await
            .map_err(ApiError::from)?;
        (Some(t), rec)
    } else {
        (None, engine.container(&id).map_err(ApiError::from)?)
    };
    let tty = rec.config.tty;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let rec_path = rec.log_path.clone();
    tokio::spawn(async move {
        let Ok(client) = on_upgrade.await else { return };
        let mut io = TokioIo::new(client);
        if logs_too {
            // What was logged so far, then the live stream.
            let opts = LogOptions {
                stdout,
                stderr,
                ..LogOptions::default()
            };
            let path = std::path::PathBuf::from(rec_path);
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

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ExecConfigBody {
    #[serde(default)]
    attach_stdin: bool,
    #[serde(default)]
    attach_stdout: bool,
    #[serde(default)]
    attach_stderr: bool,
    #[serde(default)]
    detach_keys: Option<String>,
    #[serde(default)]
    tty: bool,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    privileged: bool,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    working_dir: Option<String>,
}

pub async fn exec_create(
    State(engine): Eng,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: ExecConfigBody = json_body(&body, "exec create")?;
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
    let id = engine.exec_create(&id, e).map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, axum::Json(json!({"Id": id}))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ExecStartBody {
    #[serde(default)]
    detach: bool,
    #[serde(default)]
    tty: bool,
}

pub async fn exec_start(
    State(engine): Eng,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(format!("exec start: reading body: {e}")))?;
    let b: ExecStartBody = if body.iter().all(u8::is_ascii_whitespace) {
        ExecStartBody::default()
    } else {
        json_body(&body, "exec start")?
    };
    if !b.detach && req.headers().contains_key(header::UPGRADE) {
        return exec_start_upgraded(engine, id, b, req);
    }
    let (shim, e) = engine.exec_start(&id).await.map_err(|x| match x {
        EngineError::Container(ContainerError::NotFound(_)) => {
            ApiError::not_found(format!("No such exec instance: {id}"))
        }
        other => ApiError::from(other),
    })?;
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
    b: ExecStartBody,
    mut req: Request,
) -> ApiResult<Response> {
    let e = engine.exec_inspect(&id).map_err(|x| match x {
        EngineError::Container(ContainerError::NotFound(_)) => {
            ApiError::not_found(format!("No such exec instance: {id}"))
        }
        other => ApiError::from(other),
    })?;
    if e.started {
        return Err(ApiError::conflict(format!(
            "Error: Exec command {id} has already run"
        )));
    }
    let rec = engine.container(&e.container).map_err(ApiError::from)?;
    if !rec.state.running() {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            rec.id
        )));
    }
    // The start request's Tty decides the framing (see `exec_start`).
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
                    let _ = io.write_all(&frame_header(1, text.len())).await;
                }
                let _ = io.write_all(text.as_bytes()).await;
                let _ = io.shutdown().await;
            }
        }
    });
    Ok(upgrade_response(tty))
}

pub async fn exec_resize(
    State(engine): Eng,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let h = size_param(&params, "h")?;
    let w = size_param(&params, "w")?;
    engine.exec_resize(&id, h, w).await.map_err(|x| match x {
        EngineError::Container(ContainerError::NotFound(_)) => {
            ApiError::not_found(format!("No such exec instance: {id}"))
        }
        other => ApiError::from(other),
    })?;
    Ok(StatusCode::OK.into_response())
}

pub async fn exec_inspect(State(engine): Eng, Path(id): Path<String>) -> ApiResult<Response> {
    let e = engine
        .exec_inspect(&id)
        .map_err(|_| ApiError::not_found(format!("No such exec instance: {id}")))?;
    let (entry, args) = e
        .cmd
        .split_first()
        .map_or((String::new(), Vec::new()), |(a, b)| {
            (a.clone(), b.to_vec())
        });
    Ok(axum::Json(json!({
        "ID": e.id,
        "Running": e.running,
        "ExitCode": e.exit_code,
        "ProcessConfig": {"tty": e.tty, "entrypoint": entry, "arguments": args,
            "privileged": e.privileged, "user": e.user},
        "OpenStdin": e.attach_stdin,
        "OpenStderr": e.attach_stderr,
        "OpenStdout": e.attach_stdout,
        "CanRemove": false,
        "ContainerID": e.container,
        "DetachKeys": e.detach_keys,
        "Pid": e.pid,
    }))
    .into_response())
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

    #[test]
    fn name_filter_is_dockerds() {
        assert!(name_matches("web-1", "web"));
        assert!(name_matches("web-1", "/web-1"));
        assert!(name_matches("web-1", "^/web-.$"));
        assert!(name_matches("muelletest-ps-up-7-0", "muelletest-ps-.*-7-"));
        assert!(!name_matches("web-1", "^web-2"));
        assert!(!name_matches("web-1", "web-["));
    }

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
