//! System routes: `/_ping`, `/version`, `/info`, `/events`, `/auth`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use muelle_engine::containers::{DEFAULT_RUNTIME, RUNTIMES};
use muelle_engine::host::{go_arch, HostInfo};
use muelle_engine::{familiar, Engine, Event, EventKind, VERSION};
use muelle_image::distribution::CredentialSource;
use muelle_image::reference::Reference;
use muelle_types::time::rfc3339_nanos;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::request::{json_body, AuthConfig, Filters, Params};
use crate::version::{ApiVersion, MAX_VERSION, MIN_VERSION};

pub async fn ping() -> Response {
    let mut resp = "OK".into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&MAX_VERSION.to_string()) {
        h.insert("API-Version", v);
    }
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("OSType", HeaderValue::from_static("linux"));
    // "1" is the classic builder: clients must not try a BuildKit session here.
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    // Never in a swarm: newer docker CLIs hide the swarm commands on this.
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

pub async fn version() -> Json<Value> {
    let host = HostInfo::read();
    let details = json!({
        "ApiVersion": MAX_VERSION.to_string(),
        "Arch": go_arch(),
        "BuildTime": "",
        "Experimental": "false",
        "GitCommit": "",
        "GoVersion": "",
        "KernelVersion": host.kernel_version,
        "MinAPIVersion": MIN_VERSION.to_string(),
        "Os": "linux",
    });
    Json(json!({
        "Platform": {"Name": "muelle"},
        "Components": [{"Name": "Engine", "Version": VERSION, "Details": details}],
        "Version": VERSION,
        "ApiVersion": MAX_VERSION.to_string(),
        "MinAPIVersion": MIN_VERSION.to_string(),
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": go_arch(),
        "KernelVersion": host.kernel_version,
        "BuildTime": "",
    }))
}

pub async fn info(State(engine): State<Arc<Engine>>) -> ApiResult<Json<Value>> {
    let e = engine.clone();
    let images = tokio::task::spawn_blocking(move || e.images().list())
        .await
        .map_err(ApiError::task)??
        .len();
    let host = HostInfo::read();
    let insecure: Vec<String> = engine.config().insecure_registries.clone();
    let index_configs: BTreeMap<String, Value> = insecure
        .iter()
        .map(|h| {
            (
                h.clone(),
                json!({"Name": h, "Mirrors": [], "Secure": false, "Official": false}),
            )
        })
        .collect();
    let driver = engine.storage_driver();
    let recs = engine.containers().records();
    let running = recs
        .iter()
        .filter(|r| r.state.running() && !r.state.paused())
        .count();
    let paused = recs.iter().filter(|r| r.state.paused()).count();
    Ok(Json(json!({
        "ID": engine.id(),
        "Containers": recs.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": recs.len() - running - paused,
        "Images": images,
        "Driver": driver,
        "DriverStatus": [["Snapshotter", driver]],
        "Plugins": {"Volume": [], "Network": [], "Authorization": null, "Log": []},
        "MemoryLimit": true,
        "SwapLimit": false,
        "KernelMemory": false,
        "KernelMemoryTCP": false,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "OomKillDisable": false,
        "IPv4Forwarding": std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").map(|s| s.trim() == "1").unwrap_or(false),
        "BridgeNfIptables": false,
        "BridgeNfIp6tables": false,
        "Debug": tracing::enabled!(tracing::Level::DEBUG),
        "NFd": std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
        "NGoroutines": 0,
        "SystemTime": rfc3339_nanos(SystemTime::now()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": host.cgroup_version,
        "NEventsListener": engine.events().listeners(),
        "KernelVersion": host.kernel_version,
        "OperatingSystem": host.operating_system,
        "OSVersion": host.os_version,
        "OSType": "linux",
        "Architecture": host.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"],
            "IndexConfigs": index_configs,
            "Mirrors": [],
        },
        "NCPU": host.ncpu,
        "MemTotal": host.mem_total,
        "GenericResources": null,
        "DockerRootDir": engine.data_root().display().to_string(),
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": host.hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": VERSION,
        // Every name is the one runtime muelled runs (see `RUNTIMES`).
        "Runtimes": RUNTIMES.iter().map(|r| (r.to_string(), json!({"path": "muelle-runtime"}))).collect::<serde_json::Map<_, _>>(),
        "DefaultRuntime": DEFAULT_RUNTIME,
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": false,
            "Error": "",
            "RemoteManagers": null,
        },
        "LiveRestoreEnabled": false,
        "Isolation": "",
        "InitBinary": "muelle-init",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": [],
        "Warnings": [],
    })))
}

// Events.

/// Filter keys Docker's `/events` accepts.
const EVENT_FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// `since`/`until`: Unix seconds with optional fractional nanoseconds, as the docker CLI
/// sends them (it turns durations and dates into this form itself).
fn parse_timestamp(key: &str, value: &str) -> ApiResult<SystemTime> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid value {value:?} for {key}: expected Unix seconds, optionally with a fraction"
        ))
    };
    crate::time::unix_seconds(value).ok_or_else(bad)
}

struct EventFilter(Filters);

impl EventFilter {
    fn matches(&self, e: &Event) -> bool {
        let f = &self.0;
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            let vals = f.get(key);
            vals.is_empty() || vals.iter().any(|v| pred(v))
        };
        let name = e.actor.attributes.get("name").map(String::as_str);
        let names_actor = |v: &str| {
            e.actor.id == v
                || e.actor
                    .id
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(v))
                || name == Some(v)
                || name.is_some_and(|n| familiar(n) == familiar(v))
        };
        let of_kind = |kind: EventKind, v: &str| e.kind == kind && names_actor(v);
        any("type", &|v| e.kind.as_str() == v)
            // `exec_start: sh -c ...` is matched by `exec_start`, as Docker does.
            && any("event", &|v| e.action == v || e.action.split(':').next() == Some(v))
            && any("scope", &|v| v == "local")
            && any("image", &|v| {
                of_kind(EventKind::Image, v) || e.actor.attributes.get("image").is_some_and(|i| i == v)
            })
            && any("container", &|v| {
                of_kind(EventKind::Container, v)
                    || (e.kind == EventKind::Container && v.len() >= 3 && e.actor.id.starts_with(v))
            })
            && any("volume", &|v| of_kind(EventKind::Volume, v))
            && any("network", &|v| of_kind(EventKind::Network, v))
            && any("daemon", &|v| of_kind(EventKind::Daemon, v))
            && any("label", &|v| match v.split_once('=') {
                Some((k, val)) => e.actor.attributes.get(k).is_some_and(|x| x == val),
                None => e.actor.attributes.contains_key(v),
            })
            // Swarm objects never happen here.
            && ["config", "node", "plugin", "secret", "service"]
                .iter()
                .all(|k| f.get(k).is_empty())
    }
}

/// An event as Docker's `/events` sends it (with the pre-1.22 `status`/`id` fields that
/// older clients still read).
pub fn event_json(e: &Event) -> Value {
    let nanos = e.time_nanos();
    json!({
        "status": e.action,
        "id": e.actor.id,
        "Type": e.kind.as_str(),
        "Action": e.action,
        "Actor": {"ID": e.actor.id, "Attributes": e.actor.attributes},
        "scope": "local",
        "time": nanos / 1_000_000_000,
        "timeNano": nanos,
    })
}

enum Phase {
    Replay(std::vec::IntoIter<Event>),
    Live,
}

struct EventStream {
    phase: Phase,
    rx: broadcast::Receiver<Event>,
    closing: tokio::sync::watch::Receiver<bool>,
    filter: EventFilter,
    until: Option<SystemTime>,
}

pub async fn events(State(engine): State<Arc<Engine>>, params: Params) -> ApiResult<Response> {
    let filter = EventFilter(params.filters(EVENT_FILTERS)?);
    if let Some(types) = Some(filter.0.get("type")) {
        for t in types {
            if EventKind::parse(t).is_none()
                && !["config", "node", "plugin", "secret", "service"].contains(&t.as_str())
            {
                return Err(ApiError::bad_request(format!("invalid filter 'type={t}'")));
            }
        }
    }
    let since = params
        .string("since")
        .map(|v| parse_timestamp("since", v))
        .transpose()?;
    let until = params
        .string("until")
        .map(|v| parse_timestamp("until", v))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::bad_request("since must not be after until"));
        }
    }
    let (past, rx) = engine.events().subscribe();
    let replay: Vec<Event> = match since {
        None => Vec::new(),
        Some(s) => past
            .into_iter()
            .filter(|e| e.time >= s && until.is_none_or(|u| e.time <= u))
            .collect(),
    };
    let state = EventStream {
        phase: Phase::Replay(replay.into_iter()),
        rx,
        closing: engine.events().closing(),
        filter,
        until,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let next = match &mut st.phase {
                Phase::Replay(it) => match it.next() {
                    Some(e) => Some(e),
                    None => {
                        if st.until.is_some_and(|u| u <= SystemTime::now()) {
                            return None;
                        }
                        st.phase = Phase::Live;
                        continue;
                    }
                },
                Phase::Live => {
                    let wait = st.until.map(|u| {
                        u.duration_since(SystemTime::now())
                            .unwrap_or(Duration::ZERO)
                    });
                    let deadline = async {
                        match wait {
                            Some(d) => tokio::time::sleep(d).await,
                            None => std::future::pending().await,
                        }
                    };
                    let received = tokio::select! {
                        r = st.rx.recv() => r,
                        () = deadline => return None,
                        _ = st.closing.wait_for(|c| *c) => return None,
                    };
                    match received {
                        Ok(e) => Some(e),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "an events subscriber fell behind");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            };
            if let Some(e) = next {
                if st.until.is_some_and(|u| e.time > u) {
                    return None;
                }
                if st.filter.matches(&e) {
                    let mut line = event_json(&e).to_string().into_bytes();
                    line.push(b'\n');
                    return Some((Ok::<_, std::io::Error>(Bytes::from(line)), st));
                }
            }
        }
    });
    // Headers go out at once (the body is a stream), so the client knows it is listening.
    Ok((
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(stream.boxed()),
    )
        .into_response())
}

// Auth.

/// The registry host a `serveraddress` names: `https://host/v1/` → `host`; Docker Hub's
/// aliases → the host serving its API.
fn registry_host(serveraddress: &str) -> ApiResult<String> {
    let s = serveraddress.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Ok("registry-1.docker.io".to_string());
    }
    let probe = format!("{host}/x");
    let reference = Reference::parse(&probe).map_err(|e| {
        ApiError::bad_request(format!("invalid serveraddress {serveraddress:?}: {e}"))
    })?;
    Ok(reference.registry_host().to_string())
}

/// `POST /auth`: checks the credentials against the registry (a `GET /v2/` that must
/// authenticate). Nothing is stored: clients keep their own credentials.
pub async fn auth(
    State(engine): State<Arc<Engine>>,
    Extension(_v): Extension<ApiVersion>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let cfg: AuthConfig = json_body(&body, "auth configuration")?;
    let host = registry_host(&cfg.serveraddress)?;
    let creds = cfg.credentials()?;
    let client = match creds {
        Some(c) => engine
            .images()
            .registry()
            .with_credentials(CredentialSource::Static(HashMap::from([(host.clone(), c)]))),
        None => engine
            .images()
            .registry()
            .with_credentials(CredentialSource::Anonymous),
    };
    client.ping(&host).await?;
    Ok(Json(
        json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}

/// `POST /networks/prune`: muelle has no user-defined networks yet, so there is never one
/// to remove. Answered (rather than 404) so that `docker system prune` completes.
pub async fn networks_prune(params: Params) -> ApiResult<Json<Value>> {
    params.filters(&["label", "label!", "until"])?;
    Ok(Json(json!({ "NetworksDeleted": null })))
}

/// `POST /build/prune`: there is no build cache before the builder exists.
pub async fn build_prune(params: Params) -> ApiResult<Json<Value>> {
    params.bool("all")?;
    Ok(Json(json!({ "CachesDeleted": null, "SpaceReclaimed": 0 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp("since", "1700000000.5").unwrap(),
            SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000)
        );
        for bad in ["-1", "abc", "1.x", "", "1.1234567890"] {
            assert!(parse_timestamp("since", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(
            registry_host("http://127.0.0.1:5000/v2/").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            registry_host("https://index.docker.io/v1/").unwrap(),
            "registry-1.docker.io"
        );
        assert_eq!(registry_host("").unwrap(), "registry-1.docker.io");
    }

    #[test]
    fn event_filters() {
        let e = Event::new(
            EventKind::Image,
            "tag",
            muelle_engine::Actor::named("sha256:abcdef", "busybox:mine"),
        );
        let f = |s: &str| EventFilter(Filters::parse(s, EVENT_FILTERS).unwrap());
        assert!(f("").matches(&e));
        assert!(f(r#"{"type":["image"],"event":["tag"]}"#).matches(&e));
        assert!(f(r#"{"image":["busybox:mine"]}"#).matches(&e));
        assert!(f(r#"{"image":["abcd"]}"#).matches(&e));
        assert!(!f(r#"{"event":["untag"]}"#).matches(&e));
        assert!(!f(r#"{"container":["x"]}"#).matches(&e));
        let j = event_json(&e);
        assert_eq!(j["Type"], "image");
        assert_eq!(j["Actor"]["Attributes"]["name"], "busybox:mine");
    }
}
