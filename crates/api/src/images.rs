//! Image routes: list, inspect, history, pull/import, tag, remove, prune, save/load, push,
//! search.
//!
//! Image names may contain slashes (`127.0.0.1:5000/team/app:1`), so `/images/{name}/json`
//! cannot be an ordinary route pattern: everything under `/images/` that is not one of the
//! fixed routes comes to [`dispatch_get`], [`dispatch_post`] or [`delete`], which split the
//! action off the end as Docker's router does.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use muelle_engine::{created, familiar, Engine, PruneFilter};
use muelle_image::images::{ImportOptions, PullEvent, PushEvent, PushProgress, Removed};
use muelle_image::manifest::{ContainerConfig, Platform};
use muelle_image::reference::Reference;
use muelle_image::{Digest, ImageSummary, PullProgress};
use muelle_types::time::parse_rfc3339;
use serde_json::{json, Map, Value};

use crate::blocking::{blocking, body_reader, tar_response};
use crate::error::{ApiError, ApiResult};
use crate::request::{registry_auth, Params};
use crate::stream::{self, Kind, Sink};
use crate::time::{parse_until, unix_secs};
use crate::version::ApiVersion;

type Eng = State<Arc<Engine>>;

fn parse_reference(name: &str) -> ApiResult<Reference> {
    Reference::parse(name)
        .map_err(|e| ApiError::bad_request(format!("invalid reference format: {}", e.problem)))
}

fn parse_platform(params: &Params) -> ApiResult<Option<Platform>> {
    params
        .string("platform")
        .map(|p| {
            Platform::parse(p).map_err(|e| ApiError::bad_request(format!("invalid platform: {e}")))
        })
        .transpose()
}

fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}

fn familiar_all(names: &[String]) -> Vec<String> {
    names.iter().map(|n| familiar(n)).collect()
}

fn labels(image: &ImageSummary) -> BTreeMap<String, String> {
    image
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

// Listing.

/// Go's `path.Match` for the `reference` filter: `*` and `?` never match `/`; `[...]`
/// classes are taken literally (no Docker client sends them).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn rec(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| rec(&p[1..], &t[i..])),
            Some('?') => t.first().is_some_and(|&c| c != '/') && rec(&p[1..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && rec(&p[1..], &t[1..]),
        }
    }
    rec(&p, &t)
}

/// Whether a familiar tag name (`busybox:latest`) matches a `reference` filter, as Docker
/// matches it against both the name with tag and the name alone.
fn reference_matches(pattern: &str, tag_name: &str) -> bool {
    if glob(pattern, tag_name) {
        return true;
    }
    let name = tag_name
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or(tag_name, |(n, _)| n);
    glob(pattern, name)
}

fn summary_json(image: &ImageSummary, tags: Vec<String>, version: ApiVersion) -> Value {
    let mut v = json!({
        "Id": image.id.to_string(),
        "ParentId": "",
        "RepoTags": tags,
        "RepoDigests": familiar_all(&image.repo_digests),
        "Created": unix_secs(created(image)),
        "Size": image.size,
        "SharedSize": -1,
        "Labels": labels(image),
        "Containers": -1,
    });
    if version.before(1, 44) {
        v["VirtualSize"] = json!(image.size);
    }
    v
}

const LIST_FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];

pub async fn list(
    State(engine): Eng,
    Extension(version): Extension<ApiVersion>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let filters = params.filters(LIST_FILTERS)?;
    params.bool("all")?;
    params.bool("digests")?;
    params.bool("shared-size")?;
    let dangling = filters.bool("dangling")?;
    let until = filters
        .get("until")
        .iter()
        .map(|u| parse_until(u))
        .collect::<ApiResult<Vec<_>>>()?;
    let wanted_labels = filters.labels("label");
    let references: Vec<String> = filters.get("reference").to_vec();
    let before: Vec<String> = filters.get("before").to_vec();
    let since: Vec<String> = filters.get("since").to_vec();
    let images = blocking(&engine, move |e| {
        let resolve = |names: &[String]| -> ApiResult<Vec<Option<SystemTime>>> {
            names
                .iter()
                .map(|n| Ok(created(&e.images().image(n)?)))
                .collect()
        };
        let before = resolve(&before)?;
        let since = resolve(&since)?;
        let mut out = Vec::new();
        for image in e.images().list()? {
            let made = created(&image);
            if before.iter().any(|b| made >= *b) || since.iter().any(|s| made <= *s) {
                continue;
            }
            if until.iter().any(|u| made.is_none_or(|m| m >= *u)) {
                continue;
            }
            if let Some(d) = dangling {
                if d != image.repo_tags.is_empty() {
                    continue;
                }
            }
            let l = labels(&image);
            if !wanted_labels.iter().all(|(k, v)| match v {
                None => l.contains_key(k),
                Some(v) => l.get(k) == Some(v),
            }) {
                continue;
            }
            let mut tags = familiar_all(&image.repo_tags);
            if !references.is_empty() {
                tags.retain(|t| references.iter().any(|p| reference_matches(p, t)));
                if tags.is_empty() {
                    continue;
                }
            }
            out.push((made, summary_json(&image, tags, version)));
        }
        // Newest first, as Docker lists them.
        out.sort_by_key(|(made, _)| std::cmp::Reverse(*made));
        Ok(out.into_iter().map(|(_, v)| v).collect::<Vec<Value>>())
    })
    .await?;
    Ok(Json(Value::Array(images)))
}

// Inspect and history.

/// An image config's `config` in the shape of Docker's `ContainerConfig`, with the fields
/// Docker always sends filled in.
fn container_config_json(c: Option<&ContainerConfig>) -> Value {
    let mut map = match c.map(serde_json::to_value) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    };
    let defaults = [
        ("Hostname", json!("")),
        ("Domainname", json!("")),
        ("User", json!("")),
        ("AttachStdin", json!(false)),
        ("AttachStdout", json!(false)),
        ("AttachStderr", json!(false)),
        ("Tty", json!(false)),
        ("OpenStdin", json!(false)),
        ("StdinOnce", json!(false)),
        ("Env", Value::Null),
        ("Cmd", Value::Null),
        ("Image", json!("")),
        ("Volumes", Value::Null),
        ("WorkingDir", json!("")),
        ("Entrypoint", Value::Null),
        ("OnBuild", Value::Null),
        ("Labels", Value::Null),
    ];
    for (k, v) in defaults {
        map.entry(k.to_string()).or_insert(v);
    }
    Value::Object(map)
}

fn inspect_json(image: &ImageSummary, driver: &str, version: ApiVersion) -> Value {
    let cfg = &image.config;
    let extra = |k: &str| {
        cfg.extra
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut v = json!({
        "Id": image.id.to_string(),
        "RepoTags": familiar_all(&image.repo_tags),
        "RepoDigests": familiar_all(&image.repo_digests),
        "Parent": extra("parent"),
        "Comment": extra("comment"),
        "Created": cfg.created.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string()),
        "DockerVersion": extra("docker_version"),
        "Author": cfg.author.clone().unwrap_or_default(),
        "Config": container_config_json(cfg.config.as_ref()),
        "Architecture": cfg.architecture,
        "Os": cfg.os,
        "Size": image.size,
        "GraphDriver": {"Name": driver, "Data": {}},
        "RootFS": {
            "Type": "layers",
            "Layers": cfg.rootfs.diff_ids.iter().map(Digest::to_string).collect::<Vec<_>>(),
        },
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    });
    if let Some(variant) = &cfg.variant {
        v["Variant"] = json!(variant);
    }
    if let Some(osv) = &cfg.os_version {
        v["OsVersion"] = json!(osv);
    }
    if version.before(1, 45) {
        v["Container"] = json!(extra("container"));
        v["ContainerConfig"] = match cfg.extra.get("container_config") {
            Some(Value::Object(_)) => {
                let cc: Option<ContainerConfig> = cfg
                    .extra
                    .get("container_config")
                    .and_then(|c| serde_json::from_value(c.clone()).ok());
                container_config_json(cc.as_ref())
            }
            _ => container_config_json(None),
        };
    }
    if version.before(1, 44) {
        v["VirtualSize"] = json!(image.size);
    }
    v
}

async fn inspect(engine: Arc<Engine>, name: String, version: ApiVersion) -> ApiResult<Response> {
    let v = blocking(&engine, move |e| {
        let image = e.images().image(&name)?;
        Ok(inspect_json(&image, e.storage_driver(), version))
    })
    .await?;
    Ok(Json(v).into_response())
}

async fn history(engine: Arc<Engine>, name: String) -> ApiResult<Response> {
    let v = blocking(&engine, move |e| {
        let entries = e.images().history(&name)?;
        Ok(entries
            .into_iter()
            .map(|h| {
                json!({
                    "Id": h.id.map_or_else(|| "<missing>".to_string(), |d| d.to_string()),
                    "Created": unix_secs(h.created.as_deref().and_then(parse_rfc3339)),
                    "CreatedBy": h.created_by,
                    "Tags": if h.tags.is_empty() { Value::Null } else { json!(familiar_all(&h.tags)) },
                    "Size": h.size,
                    "Comment": h.comment,
                })
            })
            .collect::<Vec<Value>>())
    })
    .await?;
    Ok(Json(Value::Array(v)).into_response())
}

// Pull and import.

/// Turns pull events into Docker's progress messages.
struct PullMessages {
    sink: Sink,
    state: Mutex<PullState>,
}

struct PullState {
    /// `id` of the first line: the tag or digest asked for.
    asked: String,
    repo_path: String,
    queued: usize,
    last_update: HashMap<Digest, Instant>,
    resolved: Option<Digest>,
    fetched_anything: bool,
}

/// Layers the image service downloads at once; later ones are announced as waiting, as
/// Docker does for layers beyond its `max-concurrent-downloads`.
const DOWNLOAD_SLOTS: usize = 3;
/// Byte counts are sent at most this often per layer (Docker throttles the same way).
const UPDATE_EVERY: Duration = Duration::from_millis(100);

impl PullMessages {
    fn state(&self) -> std::sync::MutexGuard<'_, PullState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PullProgress for PullMessages {
    fn event(&self, event: PullEvent) {
        let mut st = self.state();
        let sink = &self.sink;
        match event {
            PullEvent::Resolved { digest, .. } => {
                st.resolved = Some(digest);
                sink.json(&json!({
                    "status": format!("Pulling from {}", st.repo_path),
                    "id": st.asked,
                }));
            }
            PullEvent::Waiting { layer, .. } => {
                st.queued += 1;
                sink.status("Pulling fs layer", Some(&short(&layer)));
                if st.queued > DOWNLOAD_SLOTS {
                    sink.status("Waiting", Some(&short(&layer)));
                }
            }
            PullEvent::Downloading { layer, done, total } => {
                st.fetched_anything = true;
                let now = Instant::now();
                let due = st
                    .last_update
                    .get(&layer)
                    .is_none_or(|t| now.duration_since(*t) >= UPDATE_EVERY);
                if due || done >= total {
                    st.last_update.insert(layer.clone(), now);
                    sink.json(&stream::progress(
                        "Downloading",
                        &short(&layer),
                        done,
                        total,
                    ));
                }
            }
            PullEvent::Verifying { layer } => {
                sink.status("Verifying Checksum", Some(&short(&layer)));
            }
            PullEvent::DownloadComplete { layer } => {
                sink.status("Download complete", Some(&short(&layer)));
            }
            PullEvent::Extracting { layer } => {
                st.fetched_anything = true;
                sink.status("Extracting", Some(&short(&layer)));
            }
            PullEvent::AlreadyExists { layer } => {
                sink.status("Already exists", Some(&short(&layer)));
            }
            PullEvent::Done { layer } => {
                sink.status("Pull complete", Some(&short(&layer)));
            }
            _ => {}
        }
    }
}

/// `fromImage` + `tag` as Docker combines them: a tag that is a digest pins the digest.
fn pull_reference(from: &str, tag: Option<&str>) -> ApiResult<Reference> {
    let base = parse_reference(from)?;
    match tag {
        None => Ok(base),
        Some(t) => match Digest::parse(t) {
            Ok(d) => Ok(base.with_digest(d)),
            Err(_) => base
                .with_tag(t)
                .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {}", e.problem))),
        },
    }
}

pub async fn create(
    State(engine): Eng,
    headers: HeaderMap,
    params: Params,
    body: Body,
) -> ApiResult<Response> {
    if let Some(src) = params.string("fromSrc") {
        return import(engine, params.clone(), src.to_string(), body).await;
    }
    let from = params.string("fromImage").ok_or_else(|| {
        ApiError::bad_request("missing query parameter: fromImage (or fromSrc to import)")
    })?;
    let reference = pull_reference(from, params.string("tag"))?;
    let platform = parse_platform(&params)?;
    let credentials = registry_auth(&headers)?;
    let (sink, rx) = Sink::new();
    let asked = reference
        .digest()
        .map(Digest::to_string)
        .or_else(|| reference.tag().map(str::to_string))
        .unwrap_or_default();
    tokio::spawn(async move {
        let name = reference.to_string();
        let previous = {
            let e = engine.clone();
            tokio::task::spawn_blocking(move || {
                e.images().image(&name).ok().map(|s| s.target.digest)
            })
            .await
            .ok()
            .flatten()
        };
        let progress = PullMessages {
            sink: sink.clone(),
            state: Mutex::new(PullState {
                asked,
                repo_path: reference.path().to_string(),
                queued: 0,
                last_update: HashMap::new(),
                resolved: None,
                fetched_anything: false,
            }),
        };
        match engine
            .pull(&reference, platform, credentials, &progress)
            .await
        {
            Ok(_) => {
                let st = progress.state();
                if let Some(d) = &st.resolved {
                    sink.status(&format!("Digest: {d}"), None);
                }
                let up_to_date =
                    !st.fetched_anything && previous.is_some() && previous == st.resolved;
                let status = if up_to_date {
                    format!("Status: Image is up to date for {}", reference.familiar())
                } else {
                    format!(
                        "Status: Downloaded newer image for {}",
                        reference.familiar()
                    )
                };
                sink.status(&status, None);
            }
            Err(e) => sink.fail(e.into()),
        }
    });
    Ok(stream::respond(rx, Kind::Json, "application/json").await)
}

async fn import(
    engine: Arc<Engine>,
    params: Params,
    src: String,
    body: Body,
) -> ApiResult<Response> {
    if src != "-" {
        return Err(ApiError::not_implemented(
            "importing from a URL is not supported: send the tarball as the request body with fromSrc=-",
        ));
    }
    let reference = match params.string("repo") {
        None => None,
        Some(repo) => Some(pull_reference(repo, params.string("tag"))?),
    };
    if reference.as_ref().is_some_and(|r| r.digest().is_some()) {
        return Err(ApiError::bad_request("cannot import to a digest reference"));
    }
    let opts = ImportOptions {
        reference,
        message: params.string("message").map(str::to_string),
        changes: params
            .all("changes")
            .into_iter()
            .map(str::to_string)
            .collect(),
        platform: parse_platform(&params)?,
    };
    let reader = body_reader(body);
    let id = blocking(&engine, move |e| {
        let mut reader = reader;
        Ok(e.import(&mut reader, &opts)?.id)
    })
    .await?;
    let line = json!({"status": id.to_string()}).to_string() + "\n";
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        line,
    )
        .into_response())
}

// Tag, remove, prune.

async fn tag(engine: Arc<Engine>, name: String, params: Params) -> ApiResult<Response> {
    let repo = params
        .string("repo")
        .ok_or_else(|| ApiError::bad_request("missing query parameter: repo"))?;
    let mut target = parse_reference(repo)?;
    if let Some(t) = params.string("tag") {
        target = target
            .with_tag(t)
            .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {}", e.problem)))?;
    }
    if target.digest().is_some() {
        return Err(ApiError::bad_request(
            "refusing to create a tag with a digest reference",
        ));
    }
    blocking(&engine, move |e| {
        e.tag(&name, &target)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::CREATED.into_response())
}

fn removed_json(removed: &[Removed]) -> Vec<Value> {
    removed
        .iter()
        .map(|r| match r {
            Removed::Untagged(n) => json!({"Untagged": familiar(n)}),
            Removed::Deleted(d) => json!({"Deleted": d.to_string()}),
        })
        .collect()
}

pub async fn delete(
    State(engine): Eng,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let force = params.bool("force")?;
    let noprune = params.bool("noprune")?;
    let removed = blocking(&engine, move |e| Ok(e.remove_image(&name, force, noprune)?)).await?;
    Ok(Json(Value::Array(removed_json(&removed))))
}

const PRUNE_FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

pub async fn prune(State(engine): Eng, params: Params) -> ApiResult<Json<Value>> {
    let filters = params.filters(PRUNE_FILTERS)?;
    let until = match filters.get("until") {
        [] => None,
        [one] => Some(parse_until(one)?),
        _ => {
            return Err(ApiError::bad_request(
                "invalid filter 'until': give it once",
            ))
        }
    };
    let filter = PruneFilter {
        all: filters.bool("dangling")? == Some(false),
        until,
        labels: filters.labels("label"),
        labels_not: filters.labels("label!"),
    };
    let report = blocking(&engine, move |e| Ok(e.prune_images(&filter)?)).await?;
    let deleted = if report.removed.is_empty() {
        Value::Null
    } else {
        Value::Array(removed_json(&report.removed))
    };
    Ok(Json(json!({
        "ImagesDeleted": deleted,
        "SpaceReclaimed": report.space_reclaimed,
    })))
}

// Save and load.

async fn save(engine: Arc<Engine>, names: Vec<String>) -> ApiResult<Response> {
    if names.is_empty() {
        return Err(ApiError::bad_request("missing query parameter: names"));
    }
    Ok(tar_response(&engine, move |e, out| {
        e.save(&names, out).map_err(ApiError::from)
    })
    .await)
}

pub async fn save_many(State(engine): Eng, params: Params) -> ApiResult<Response> {
    let names = params
        .all("names")
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    save(engine, names).await
}

pub async fn load(State(engine): Eng, params: Params, body: Body) -> ApiResult<Response> {
    params.bool("quiet")?;
    let reader = body_reader(body);
    let loaded = blocking(&engine, move |e| {
        let mut reader = reader;
        let loaded = e.load(&mut reader);
        if loaded.is_err() {
            // Read the rest, so the client gets the answer rather than a broken pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        }
        Ok(loaded?)
    })
    .await;
    // dockerd answers 200 whatever happens and reports a failed load in the stream; clients
    // raise their load error from that line (docker-py's `ImageLoadError`).
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(message = %e.message, "load failed");
            return Ok((
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                crate::stream::error_line(&e),
            )
                .into_response());
        }
    };
    let mut out = String::new();
    for image in loaded {
        if image.names.is_empty() {
            out += &json!({"stream": format!("Loaded image ID: {}\n", image.id)}).to_string();
            out.push('\n');
        }
        for name in &image.names {
            out += &json!({"stream": format!("Loaded image: {}\n", familiar(name))}).to_string();
            out.push('\n');
        }
    }
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response())
}

// Push.

struct PushMessages {
    sink: Sink,
    /// The config blob is pushed like a layer but Docker does not show it.
    config: Digest,
    state: Mutex<PushState>,
}

#[derive(Default)]
struct PushState {
    queued: usize,
    last_update: HashMap<Digest, Instant>,
    result: Option<(String, Digest, u64)>,
}

const UPLOAD_SLOTS: usize = 5;

impl PushProgress for PushMessages {
    fn event(&self, event: PushEvent) {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sink = &self.sink;
        let layer_of = |d: &Digest| (d != &self.config).then(|| short(d));
        match event {
            PushEvent::Preparing { layer, .. } => {
                if let Some(id) = layer_of(&layer) {
                    st.queued += 1;
                    sink.status("Preparing", Some(&id));
                    if st.queued > UPLOAD_SLOTS {
                        sink.status("Waiting", Some(&id));
                    }
                }
            }
            PushEvent::Pushing { layer, done, total } => {
                if let Some(id) = layer_of(&layer) {
                    let now = Instant::now();
                    let due = st
                        .last_update
                        .get(&layer)
                        .is_none_or(|t| now.duration_since(*t) >= UPDATE_EVERY);
                    if due || done >= total {
                        st.last_update.insert(layer.clone(), now);
                        sink.json(&stream::progress("Pushing", &id, done, total));
                    }
                }
            }
            PushEvent::Pushed { layer } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status("Pushed", Some(&id));
                }
            }
            PushEvent::AlreadyExists { layer } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status("Layer already exists", Some(&id));
                }
            }
            PushEvent::Mounted { layer, from } => {
                if let Some(id) = layer_of(&layer) {
                    sink.status(&format!("Mounted from {from}"), Some(&id));
                }
            }
            PushEvent::ManifestPushed { tag, digest, size } => {
                st.result = Some((tag, digest, size));
            }
            _ => {}
        }
    }
}

/// The names a push covers: the one asked for, or with no tag at all every tag of the
/// repository (Docker's behaviour for an empty `tag`).
fn push_targets(engine: &Engine, name: &str, tag: Option<&str>) -> ApiResult<Vec<Reference>> {
    let base = parse_reference(name)?;
    if let Some(t) = tag {
        return Ok(vec![pull_reference(name, Some(t))?]);
    }
    let explicit =
        name.contains('@') || name.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
    if explicit {
        return Ok(vec![base]);
    }
    let repo = base.repository();
    let mut out = Vec::new();
    for image in engine.images().list()? {
        for t in &image.repo_tags {
            if let Ok(r) = Reference::parse(t) {
                if r.repository() == repo {
                    out.push(r);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(ApiError::not_found(format!(
            "An image does not exist locally with the tag: {}",
            base.familiar_name()
        )));
    }
    out.sort_by_key(|r| r.to_string());
    Ok(out)
}

async fn push(
    engine: Arc<Engine>,
    name: String,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let credentials = registry_auth(&headers)?;
    let tag = params.string("tag").map(str::to_string);
    let targets = blocking(&engine, move |e| {
        let targets = push_targets(e, &name, tag.as_deref())?;
        targets
            .into_iter()
            .map(|r| {
                let id = e
                    .images()
                    .image(&r.to_string())
                    .map_err(|err| match err {
                        muelle_image::ImageError::NotFound { .. } => ApiError::not_found(format!(
                            "An image does not exist locally with the tag: {}",
                            r.familiar()
                        )),
                        other => other.into(),
                    })?
                    .id;
                Ok((r, id))
            })
            .collect::<ApiResult<Vec<_>>>()
    })
    .await?;
    let (sink, rx) = Sink::new();
    tokio::spawn(async move {
        if let Some((first, _)) = targets.first() {
            sink.status(
                &format!("The push refers to repository [{}]", first.repository()),
                None,
            );
        }
        for (reference, id) in targets {
            let progress = PushMessages {
                sink: sink.clone(),
                config: id,
                state: Mutex::new(PushState::default()),
            };
            match engine
                .push(&reference, credentials.clone(), &progress)
                .await
            {
                Ok(pushed) => {
                    sink.status(
                        &format!(
                            "{}: digest: {} size: {}",
                            pushed.tag, pushed.digest, pushed.size
                        ),
                        None,
                    );
                    sink.json(&json!({
                        "progressDetail": {},
                        "aux": {"Tag": pushed.tag, "Digest": pushed.digest.to_string(), "Size": pushed.size},
                    }));
                }
                Err(e) => {
                    sink.fail(e.into());
                    return;
                }
            }
        }
    });
    Ok(stream::respond(rx, Kind::Json, "application/json").await)
}

pub async fn search() -> ApiError {
    ApiError::not_implemented(
        "image search is not supported by muelle: registries speak the OCI distribution API, which has no search; Docker Hub's search service is not used",
    )
}

// Dispatch of `/images/{name}/{action}`.

fn split_action<'a>(rest: &'a str, action: &str) -> Option<&'a str> {
    rest.strip_suffix(action)
        .and_then(|n| n.strip_suffix('/'))
        .filter(|n| !n.is_empty())
}

fn page_not_found() -> ApiError {
    ApiError::not_found("page not found")
}

pub async fn dispatch_get(
    State(engine): Eng,
    Extension(version): Extension<ApiVersion>,
    Path(rest): Path<String>,
) -> ApiResult<Response> {
    if let Some(name) = split_action(&rest, "json") {
        return inspect(engine, name.to_string(), version).await;
    }
    if let Some(name) = split_action(&rest, "history") {
        return history(engine, name.to_string()).await;
    }
    if let Some(name) = split_action(&rest, "get") {
        return save(engine, vec![name.to_string()]).await;
    }
    Err(page_not_found())
}

pub async fn dispatch_post(
    State(engine): Eng,
    Path(rest): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    if let Some(name) = split_action(&rest, "tag") {
        return tag(engine, name.to_string(), params).await;
    }
    if let Some(name) = split_action(&rest, "push") {
        return push(engine, name.to_string(), params, headers).await;
    }
    Err(page_not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("busy*", "busy/box"));
        assert!(glob("b?sybox", "busybox"));
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("alpine", "busybox:latest"));
        assert!(reference_matches("127.0.0.1:5000/x", "127.0.0.1:5000/x:1"));
    }

    #[test]
    fn actions_split_off_names() {
        assert_eq!(split_action("busybox/json", "json"), Some("busybox"));
        assert_eq!(
            split_action("127.0.0.1:5000/a/b:1/json", "json"),
            Some("127.0.0.1:5000/a/b:1")
        );
        assert_eq!(split_action("json", "json"), None);
        assert_eq!(split_action("busybox/tag", "json"), None);
    }

    #[test]
    fn pull_references() {
        let r = pull_reference("busybox", Some("1.36")).unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:1.36");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = pull_reference("busybox", Some(&d)).unwrap();
        assert_eq!(r.digest().map(|x| x.to_string()), Some(d));
        assert!(pull_reference("Busybox", None).is_err());
        assert!(pull_reference("busybox", Some("bad tag")).is_err());
    }
}
