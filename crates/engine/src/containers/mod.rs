//! Containers: their records, their lifecycle and its rules (names, restart policies,
//! `--rm`), and the link to each one's supervisor.
//!
//! A container's record lives in `<data-root>/containers/ID/config.v2.json` (written
//! atomically: temp file, fsync, rename). Its rootfs is an overlay snapshot made at create
//! and mounted at start on `<exec-root>/containers/ID/rootfs`, the bundle the supervisor
//! hands to the runtime. While it runs, one `muelle-shim` holds it; the engine keeps a
//! `wait` request open on the shim's socket to learn the exit, and finds the shims again
//! after a restart.

pub mod etc;
pub mod fs;
pub mod logs;
pub mod model;
pub mod seccomp;
pub mod shim;
pub mod spec;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use muelle_image::snapshot::MountSpec;
use muelle_types::ErrorKind;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use crate::events::{Actor, Event, EventKind};
use crate::{Engine, EngineError, Result};
pub use model::{ContainerConfig, ContainerRecord, HostConfig, MountPoint, State};

/// The runtime containers run with (the runtime library, inside each supervisor), by the
/// name `/info` gives it.
pub const DEFAULT_RUNTIME: &str = "muelle";

/// The names `HostConfig.Runtime` may take: the default and `runc`, which clients of dockerd
/// ask for by name; both are muelle-runtime, which is runc-compatible. muelled has no way
/// to configure other runtimes.
pub const RUNTIMES: &[&str] = &[DEFAULT_RUNTIME, "runc"];

const RECORD: &str = "config.v2.json";
const ROOTFS_MOUNTS: &str = "rootfs.json";
const EXIT_FILE: &str = "exit.json";

/// Errors of container operations; `kind` says which kind of failure each is.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// Nothing to do (start of a running container, stop of a stopped one): 304.
    #[error("{0}")]
    NotModified(String),
    /// The container's process could not be started; `exit_code` is 126/127 when Docker's
    /// CLI would use them.
    #[error("{message}")]
    Start { message: String, exit_code: i64 },
    #[error("{0}")]
    Internal(String),
}

impl ContainerError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContainerError::NotFound(_) => ErrorKind::NotFound,
            ContainerError::Conflict(_) => ErrorKind::Conflict,
            ContainerError::Invalid(_) => ErrorKind::InvalidParameter,
            ContainerError::NotModified(_) => ErrorKind::NotModified,
            // Docker answers 400 when the command cannot be found or run (the CLI exits
            // 127/126), 500 for any other failure to start.
            ContainerError::Start {
                exit_code: 126 | 127,
                ..
            } => ErrorKind::InvalidParameter,
            ContainerError::Start { .. } | ContainerError::Internal(_) => ErrorKind::System,
        }
    }
}

impl From<ContainerError> for EngineError {
    fn from(e: ContainerError) -> Self {
        EngineError::Container(e)
    }
}

fn internal(what: &str) -> impl FnOnce(String) -> EngineError + '_ {
    move |e| ContainerError::Internal(format!("{what}: {e}")).into()
}

/// Docker's 409 for an operation that needs the container running.
fn ensure_running(rec: &ContainerRecord) -> Result<()> {
    if rec.state.running {
        return Ok(());
    }
    Err(ContainerError::Conflict(format!("Container {} is not running", rec.id)).into())
}

/// What a wait or a follower can watch: how many times the container exited, and whether
/// it is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub exits: u64,
    pub removed: bool,
    pub running: bool,
}

/// Where an attach connects.
pub enum AttachTarget {
    /// The shim's stream, after its `ok`.
    Live(shim::Stream),
    /// Connected when the container starts.
    Pending(oneshot::Receiver<shim::Stream>),
}

struct PendingAttach {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tx: oneshot::Sender<shim::Stream>,
}

/// An exec instance (`/containers/ID/exec` then `/exec/ID/start`).
#[derive(Debug, Clone)]
pub struct ExecRecord {
    pub id: String,
    pub container: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub working_dir: String,
    pub tty: bool,
    pub privileged: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub running: bool,
    pub started: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
}

pub(crate) struct Ctr {
    id: String,
    rec: Mutex<ContainerRecord>,
    progress: watch::Sender<Progress>,
    /// Serialises start, stop, kill-and-wait, remove.
    op: tokio::sync::Mutex<()>,
    pending: Mutex<Vec<PendingAttach>>,
}

impl Ctr {
    /// The op lock, once the container is still there: an operation that queued behind a
    /// removal finds it gone (404) instead of working on what is left of it (a restart
    /// recreated its bundle and answered 500 for the missing rootfs.json).
    async fn lock_op(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, ContainerError> {
        let guard = self.op.lock().await;
        if self.progress.borrow().removed {
            return Err(ContainerError::NotFound(self.id.clone()));
        }
        Ok(guard)
    }

    fn record(&self) -> ContainerRecord {
        match self.rec.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn update<T>(&self, f: impl FnOnce(&mut ContainerRecord) -> T) -> T {
        let mut g = match self.rec.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }
}

/// The engine's containers.
pub struct Containers {
    dir: PathBuf,
    run: PathBuf,
    runtime_root: PathBuf,
    map: Mutex<BTreeMap<String, Arc<Ctr>>>,
    execs: Mutex<BTreeMap<String, ExecRecord>>,
}

impl std::fmt::Debug for Containers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containers")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Writes a file so that a reader (or a crash) sees the old or the new content, never part.
pub(crate) fn write_durable(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_durable_mode(path, data, 0o600)
}

/// [`write_durable`] with another mode, for files a container's non-root users must read
/// through a bind mount (/etc/hosts, /etc/resolv.conf, /etc/hostname: 0644 as Docker's).
pub(crate) fn write_durable_mode(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("f")
    ));
    // 0600 by default: records hold the container's environment (passwords passed with -e)
    // and its config; other host users must not read them (Docker's files are 0600 too).
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // On a full disk a torn temporary file would only hold on to space.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes what a write cut short by a crash or a full disk left in a container's
/// directory: `write_durable`'s `.NAME.tmp` and the shim's `.exit.json.tmpPID`.
fn remove_temporary_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Creates `dir` (and missing parents) and closes it to other host users: a container's
/// directories hold its config, logs and rootfs, and a rootfs reachable by others would let
/// them run setuid binaries planted by container root (CVE-2021-41091).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

impl Containers {
    pub(crate) fn open(data_root: &Path, exec_root: &Path) -> Result<Self> {
        let dir = data_root.join("containers");
        let run = exec_root.join("containers");
        let runtime_root = exec_root.join("runtime");
        for d in [&dir, &run, &runtime_root] {
            create_private_dir(d).map_err(|source| EngineError::Io {
                what: "creating",
                path: d.clone(),
                source,
            })?;
        }
        let mut map = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                remove_temporary_files(&e.path());
                let p = e.path().join(RECORD);
                let Ok(bytes) = std::fs::read(&p) else {
                    continue;
                };
                match serde_json::from_slice::<ContainerRecord>(&bytes) {
                    Ok(rec) => {
                        let (tx, _) = watch::channel(Progress {
                            running: rec.state.running,
                            ..Progress::default()
                        });
                        map.insert(
                            rec.id.clone(),
                            Arc::new(Ctr {
                                id: rec.id.clone(),
                                rec: Mutex::new(rec),
                                progress: tx,
                                op: tokio::sync::Mutex::new(()),
                                pending: Mutex::new(Vec::new()),
                            }),
                        );
                    }
                    Err(e) => {
                        tracing::warn!(path = %p.display(), error = %e, "skipping unreadable container record")
                    }
                }
            }
        }
        Ok(Containers {
            dir,
            run,
            runtime_root,
            map: Mutex::new(map),
            execs: Mutex::new(BTreeMap::new()),
        })
    }

    fn data_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn bundle(&self, id: &str) -> PathBuf {
        self.run.join(id)
    }

    pub fn runtime_root(&self) -> &Path {
        &self.runtime_root
    }

    fn save(&self, rec: &ContainerRecord) -> Result<()> {
        let dir = self.data_dir(&rec.id);
        let data =
            serde_json::to_vec_pretty(rec).map_err(|e| internal("encode record")(e.to_string()))?;
        write_durable(&dir.join(RECORD), &data).map_err(|source| EngineError::Io {
            what: "writing",
            path: dir.join(RECORD),
            source,
        })
    }

    /// Finds a container by full ID, name (with or without `/`), or unique ID prefix.
    pub(crate) fn find(&self, name_or_id: &str) -> Result<Arc<Ctr>, ContainerError> {
        let map = lock(&self.map);
        let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if key.is_empty() {
            return Err(ContainerError::NotFound(name_or_id.to_string()));
        }
        if let Some(c) = map.get(key) {
            return Ok(c.clone());
        }
        if let Some(c) = map.values().find(|c| lock(&c.rec).name == key) {
            return Ok(c.clone());
        }
        let matches: Vec<&Arc<Ctr>> = map.values().filter(|c| c.id.starts_with(key)).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ContainerError::NotFound(name_or_id.to_string())),
            _ => Err(ContainerError::Invalid(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            ))),
        }
    }

    fn name_in_use(&self, name: &str, except: Option<&str>) -> Option<String> {
        lock(&self.map)
            .values()
            .find(|c| Some(c.id.as_str()) != except && lock(&c.rec).name == name)
            .map(|c| c.id.clone())
    }

    pub fn records(&self) -> Vec<ContainerRecord> {
        lock(&self.map).values().map(|c| c.record()).collect()
    }
}

/// A create request: Docker's body, already parsed at the API edge.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
}

/// A signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(s: &str) -> Result<i32, ContainerError> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(ContainerError::Invalid(format!("Invalid signal: {s}")));
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" | "IOT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STKFLT" => 16,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "TTIN" => 21,
        "TTOU" => 22,
        "URG" => 23,
        "XCPU" => 24,
        "XFSZ" => 25,
        "VTALRM" => 26,
        "PROF" => 27,
        "WINCH" => 28,
        "IO" | "POLL" => 29,
        "PWR" => 30,
        "SYS" => 31,
        _ => {
            if let Some(rt) = name.strip_prefix("RTMIN+") {
                match rt.parse::<i32>() {
                    Ok(k) if (0..=30).contains(&k) => 34 + k,
                    _ => return Err(ContainerError::Invalid(format!("Invalid signal: {s}"))),
                }
            } else {
                return Err(ContainerError::Invalid(format!("Invalid signal: {s}")));
            }
        }
    };
    Ok(n)
}

fn parse_bind(b: &str) -> Result<MountPoint, ContainerError> {
    let parts: Vec<&str> = b.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => {
            return Err(ContainerError::Invalid(format!(
                "invalid volume specification: '{b}'"
            )))
        }
    };
    if !dst.starts_with('/') {
        return Err(ContainerError::Invalid(format!(
            "invalid volume specification: '{b}': invalid mount config for type \"bind\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    if !src.starts_with('/') {
        return Err(ContainerError::Invalid(format!(
            "invalid volume specification: '{b}': named volumes are not supported yet; use an absolute host path"
        )));
    }
    let mut rw = true;
    let mut propagation = String::new();
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => rw = false,
            "rw" => rw = true,
            "z" | "Z" | "nocopy" => {}
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => {
                propagation = m.trim_start_matches('r').to_string()
            }
            _ => {
                return Err(ContainerError::Invalid(format!(
                    "invalid mode: {m} in volume specification '{b}'"
                )))
            }
        }
    }
    if !Path::new(src).exists() {
        return Err(ContainerError::Invalid(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {src}"
        )));
    }
    Ok(MountPoint {
        typ: "bind".into(),
        source: src.into(),
        destination: dst.into(),
        mode: mode.into(),
        rw,
        propagation: if propagation.is_empty() {
            "rprivate".into()
        } else {
            format!("r{propagation}")
        },
    })
}

fn parse_mount(m: &Value) -> Result<MountPoint, ContainerError> {
    let typ = m.get("Type").and_then(Value::as_str).unwrap_or("");
    let src = m.get("Source").and_then(Value::as_str).unwrap_or("");
    let dst = m.get("Target").and_then(Value::as_str).unwrap_or("");
    if typ != "bind" {
        return Err(ContainerError::Invalid(format!(
            "mount type {typ:?} is not supported yet (only bind)"
        )));
    }
    if !dst.starts_with('/') || !src.starts_with('/') {
        return Err(ContainerError::Invalid(format!(
            "invalid mount config for type \"bind\": source and target must be absolute paths: {src:?} {dst:?}"
        )));
    }
    if !Path::new(src).exists() {
        return Err(ContainerError::Invalid(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {src}"
        )));
    }
    let ro = m.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false);
    Ok(MountPoint {
        typ: "bind".into(),
        source: src.into(),
        destination: dst.into(),
        mode: String::new(),
        rw: !ro,
        propagation: "rprivate".into(),
    })
}

/// Checks a create request as Docker does before anything is made; returns its bind
/// mounts. Pure (but for checking that bind sources exist), so it is fuzzed with the
/// parsing of the request body (fuzz/fuzz_targets/container_create.rs).
pub fn validate(
    config: &ContainerConfig,
    host: &HostConfig,
) -> Result<Vec<MountPoint>, ContainerError> {
    if config.image.is_empty() {
        return Err(ContainerError::Invalid(
            "config.Image: no image specified".into(),
        ));
    }
    spec::check_caps(&host.cap_add).map_err(ContainerError::Invalid)?;
    spec::check_caps(&host.cap_drop).map_err(ContainerError::Invalid)?;
    match host.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {}
        "on-failure" => {
            if host.restart_policy.maximum_retry_count < 0 {
                return Err(ContainerError::Invalid(
                    "invalid restart policy: maximum retry count cannot be negative".into(),
                )
                );
            }
        }
        other => {
            return Err(ContainerError::Invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            ))
            )
        }
    }
    if host.auto_remove && !matches!(host.restart_policy.name.as_str(), "" | "no") {
        return Err(ContainerError::Invalid(
            "can't create 'AutoRemove' container with restart policy".into(),
        ));
    }
    match host.log_config.typ.as_str() {
        "" | "json-file" | "none" => {}
        other => {
            return Err(ContainerError::Invalid(format!(
                "logger: no log driver named '{other}' is registered"
            )))
        }
    }
    for (k, v) in &host.log_config.config {
        match k.as_str() {
            "max-size" => {
                parse_size(v).ok_or_else(|| {
                    ContainerError::Invalid(format!("invalid value for log opt max-size: {v}"))
                })?;
            }
            "max-file" => {
                v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ContainerError::Invalid(format!("invalid value for log opt max-file: {v}"))
                })?;
            }
            "compress" | "labels" | "env" | "tag" | "mode" => {}
            other => {
                return Err(ContainerError::Invalid(format!(
                    "unknown log opt '{other}' for json-file log driver"
                )))
            }
        }
    }
    if !host.runtime.is_empty() && !RUNTIMES.contains(&host.runtime.as_str()) {
        return Err(ContainerError::Invalid(format!(
            "Unknown runtime specified {}",
            host.runtime
        )));
    }
    if host.memory < 0 || host.nano_cpus < 0 || host.cpu_shares < 0 {
        return Err(ContainerError::Invalid(
            "resource limits (Memory, NanoCpus, CpuShares) cannot be negative".into(),
        ));
    }
    if host.memory > 0 && host.memory < 6 * 1024 * 1024 {
        return Err(ContainerError::Invalid(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    match host.network_mode() {
        "default" | "bridge" | "none" | "host" => {}
        other => {
            return Err(ContainerError::NotFound(format!(
                "network {other} not found"
            )))
        }
    }
    if let Some(s) = &config.stop_signal {
        parse_signal(s)?;
    }
    let mut mounts = Vec::new();
    for b in &host.binds {
        mounts.push(parse_bind(b)?);
    }
    for m in &host.mounts {
        mounts.push(parse_mount(m)?);
    }
    Ok(mounts)
}

/// Why a container's supervisor did not start.
enum SpawnError {
    /// The process could not be described (its user or groups, its files): dockerd reports
    /// such errors bare, with exit code 128.
    Setup(String),
    /// The supervisor or the runtime failed, with the exit code Docker gives that failure.
    Runtime(String, i64),
}

/// Adds the container's `--group-add` groups to a resolved user's supplementary groups.
fn add_groups(user: &mut etc::User, rootfs: &Path, host: &HostConfig) -> Result<(), String> {
    let wanted = host.group_add.as_deref().unwrap_or_default();
    for gid in etc::additional_groups(rootfs, wanted)? {
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(())
}

/// Docker's env merge: the container's variables override the image's of the same name.
fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let key = |s: &str| s.split('=').next().unwrap_or("").to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in over {
        let k = key(e);
        if let Some(i) = out.iter().position(|x| key(x) == k) {
            out[i] = e.clone();
        } else {
            out.push(e.clone());
        }
    }
    out
}

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn now() -> String {
    muelle_runtime::state::now_rfc3339()
}

fn container_key(id: &str) -> String {
    format!("container-{id}")
}

impl Engine {
    fn actor(rec: &ContainerRecord) -> Actor {
        let mut a = Actor {
            id: rec.id.clone(),
            attributes: rec.config.labels.clone(),
        };
        a.attributes
            .insert("image".into(), rec.config.image.clone());
        a.attributes.insert("name".into(), rec.name.clone());
        a
    }

    fn container_event(&self, rec: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let mut a = Self::actor(rec);
        for (k, v) in extra {
            a.attributes.insert(k.to_string(), v.clone());
        }
        self.events()
            .publish(Event::new(EventKind::Container, action, a));
    }

    pub fn containers(&self) -> &Containers {
        &self.containers
    }

    /// Creates a container: validates the request, makes its writable layer, records it.
    pub async fn create_container(&self, req: CreateRequest) -> Result<(String, Vec<String>)> {
        let c = &self.containers;
        let mut config = req.config;
        let mut host = req.host_config;
        let name = match &req.name {
            Some(n) if !n.is_empty() => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !etc::valid_name(n) {
                    return Err(ContainerError::Invalid(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    ))
                    .into());
                }
                n.to_string()
            }
            _ => {
                let mut i = 0;
                loop {
                    let n = etc::generate_name(i);
                    if c.name_in_use(&n, None).is_none() {
                        break n;
                    }
                    i += 1;
                }
            }
        };
        let mounts = validate(&config, &host)?;
        if host.runtime.is_empty() {
            host.runtime = DEFAULT_RUNTIME.into();
        }
        let image = self.images().image(&config.image)?;
        let ic = image.config.config.clone().unwrap_or_default();
        // Docker's merge of the image's config into the container's.
        if config.entrypoint.is_none() {
            config.entrypoint = ic.entrypoint.clone();
            if config.cmd.is_empty() {
                config.cmd = ic.cmd.clone().unwrap_or_default();
            }
        }
        let entry = config.entrypoint.clone().unwrap_or_default();
        let mut argv: Vec<String> = entry;
        argv.extend(config.cmd.iter().cloned());
        if argv.is_empty() {
            return Err(ContainerError::Invalid("no command specified".into()).into());
        }
        config.env = merge_env(ic.env.as_deref().unwrap_or(&[]), &config.env);
        if !config.env.iter().any(|e| e.starts_with("PATH=")) {
            config.env.insert(0, DEFAULT_PATH.into());
        }
        if config.working_dir.is_empty() {
            config.working_dir = ic.working_dir.clone().unwrap_or_default();
        } else if !config.working_dir.starts_with('/') {
            return Err(ContainerError::Invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                config.working_dir
            ))
            .into());
        }
        if config.user.is_empty() {
            config.user = ic.user.clone().unwrap_or_default();
        }
        let mut labels = ic.labels.clone().unwrap_or_default();
        labels.extend(config.labels.clone());
        config.labels = labels;
        if config.stop_signal.is_none() {
            config.stop_signal = ic.stop_signal.clone();
        }
        if let Some(p) = &ic.exposed_ports {
            let mut e = config.exposed_ports.clone().unwrap_or_default();
            for (k, v) in p {
                e.entry(k.clone()).or_insert(v.clone());
            }
            config.exposed_ports = Some(e);
        }
        if config.healthcheck.is_none() {
            config.healthcheck = ic
                .healthcheck
                .as_ref()
                .and_then(|h| serde_json::to_value(h).ok());
        }
        let id = etc::new_id().map_err(|e| internal("make an id")(e.to_string()))?;
        if config.hostname.is_empty() {
            config.hostname = if host.network_mode() == "host" {
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned()
            } else {
                id[..12].to_string()
            };
        }
        let dir = c.data_dir(&id);
        let rec = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: now(),
            image_id: image.id.to_string(),
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config: host,
            mounts,
            state: State::created(),
            restart_count: 0,
            stopped_by_user: false,
            driver: self.storage_driver().to_string(),
            log_path: dir.join(format!("{id}-json.log")).display().to_string(),
            hosts_path: dir.join("hosts").display().to_string(),
            hostname_path: dir.join("hostname").display().to_string(),
            resolv_conf_path: dir.join("resolv.conf").display().to_string(),
        };
        let ctr = Arc::new(Ctr {
            id: id.clone(),
            rec: Mutex::new(rec.clone()),
            progress: watch::channel(Progress::default()).0,
            op: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
        });
        {
            // Reserve the name before the slow part, so two creates cannot both take it.
            let mut map = lock(&c.map);
            if let Some(other) = map.values().find(|x| lock(&x.rec).name == name) {
                return Err(ContainerError::Conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                    other.id
                ))
                .into());
            }
            map.insert(id.clone(), ctr.clone());
        }
        let made = self.make_container_dir(&rec, &image.id.to_string()).await;
        if let Err(e) = made {
            lock(&c.map).remove(&id);
            let _ = std::fs::remove_dir_all(&dir);
            let key = container_key(&id);
            let images = self.images_handle();
            let _ = tokio::task::spawn_blocking(move || images.remove_rootfs(&key)).await;
            return Err(e);
        }
        self.container_event(&rec, "create", &[]);
        Ok((id, Vec::new()))
    }

    async fn make_container_dir(&self, rec: &ContainerRecord, image_id: &str) -> Result<()> {
        let dir = self.containers.data_dir(&rec.id);
        create_private_dir(&dir).map_err(|source| EngineError::Io {
            what: "creating",
            path: dir.clone(),
            source,
        })?;
        let images = self.images_handle();
        let key = container_key(&rec.id);
        let image_id = image_id.to_string();
        let mounts = tokio::task::spawn_blocking(move || images.prepare_rootfs(&image_id, &key))
            .await
            .map_err(|e| EngineError::Task {
                what: "prepare rootfs",
                reason: e.to_string(),
            })??;
        let data =
            serde_json::to_vec(&mounts).map_err(|e| internal("encode mounts")(e.to_string()))?;
        write_durable(&dir.join(ROOTFS_MOUNTS), &data).map_err(|source| EngineError::Io {
            what: "writing",
            path: dir.join(ROOTFS_MOUNTS),
            source,
        })?;
        self.containers.save(rec)
    }

    /// The mounts of a container's rootfs snapshot.
    pub fn rootfs_mounts(&self, id: &str) -> Result<Vec<MountSpec>> {
        let p = self.containers.data_dir(id).join(ROOTFS_MOUNTS);
        let bytes = std::fs::read(&p).map_err(|source| EngineError::Io {
            what: "reading",
            path: p.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| internal("decode rootfs mounts")(e.to_string()))
    }

    /// The container's record.
    pub fn container(&self, name_or_id: &str) -> Result<ContainerRecord> {
        Ok(self.containers.find(name_or_id)?.record())
    }

    /// Where a running container's rootfs is mounted.
    pub fn rootfs_path(&self, id: &str) -> PathBuf {
        self.containers.bundle(id).join("rootfs")
    }

    /// Starts a created or stopped container.
    pub async fn start_container(self: &Arc<Self>, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let op = ctr.lock_op().await?;
        let rec = ctr.record();
        if rec.state.paused {
            return Err(ContainerError::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            )
            .into());
        }
        if rec.state.running {
            return Err(ContainerError::NotModified("container already started".into()).into());
        }
        // A dead container is one whose removal failed part way: its rootfs may be gone.
        if rec.state.status == "removing" || rec.state.status == "dead" {
            return Err(ContainerError::Conflict(
                "container is marked for removal and cannot be started".into(),
            )
            .into());
        }
        let result = self.start_locked(&ctr).await;
        drop(op);
        // As dockerd's containerStart: a `--rm` container that fails to start is removed,
        // which is what `docker run --rm` waits for (condition=removed) before it exits.
        if result.is_err() && ctr.record().host_config.auto_remove {
            if let Err(e) = self.remove_container(&ctr.id, true, false).await {
                tracing::warn!(container = %ctr.id, error = %e, "auto-remove after a failed start");
            }
        }
        result
    }

    /// Boxed: a container's exit can restart it, which starts a monitor of its next exit,
    /// so the future types would otherwise contain themselves.
    fn start_locked<'a>(
        self: &'a Arc<Self>,
        ctr: &'a Arc<Ctr>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(self.start_inner(ctr))
    }

    async fn start_inner(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<()> {
        let t0 = std::time::Instant::now();
        let rec = ctr.record();
        let id = rec.id.clone();
        let bundle = self.containers.bundle(&id);
        let rootfs = bundle.join("rootfs");
        let data = self.containers.data_dir(&id);
        let _ = std::fs::remove_file(data.join(EXIT_FILE));
        // The shim's fallback exit record (the data root was full) of an earlier run.
        let _ = std::fs::remove_file(bundle.join(EXIT_FILE));
        // A leftover of an earlier run the daemon could not clean (it was away).
        let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir_all(self.containers.runtime_root.join(&id));
        create_private_dir(&bundle)
            .and_then(|()| create_private_dir(&rootfs))
            .map_err(|source| EngineError::Io {
                what: "creating",
                path: rootfs.clone(),
                source,
            })?;
        let mounts = self.rootfs_mounts(&id)?;
        muelle_image::snapshot::mount_at(&mounts, &rootfs)
            .map_err(|e| internal("mount the rootfs")(e.to_string()))?;
        let mounted = t0.elapsed();
        let result = self.spawn_shim(&rec, &bundle, &rootfs, &data).await;
        let ready = t0.elapsed();
        let pid = match result {
            Ok(pid) => pid,
            Err(err) => {
                let (message, code, full) = match err {
                    SpawnError::Setup(m) => (m.clone(), 128, m),
                    SpawnError::Runtime(m, code) => {
                        let full = format!(
                            "failed to create task for container: failed to create shim task: OCI runtime create failed: {m}: unknown"
                        );
                        (m, code, full)
                    }
                };
                let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                let finished = now();
                let rec = ctr.update(|r| {
                    r.state.status = if r.state.started_at == model::ZERO_TIME {
                        "created".into()
                    } else {
                        "exited".into()
                    };
                    r.state.running = false;
                    r.state.exit_code = code;
                    r.state.error = message.clone();
                    r.state.finished_at = finished;
                    r.clone()
                });
                let _ = self.containers.save(&rec);
                return Err(ContainerError::Start {
                    message: full,
                    exit_code: code,
                }
                .into());
            }
        };
        // Clients that attached before start get the stream from the first byte.
        let pending: Vec<PendingAttach> = std::mem::take(&mut *lock(&ctr.pending));
        let supervisor = shim::client(&bundle);
        for p in pending {
            if let Ok(s) = supervisor.attach(p.stdin, p.stdout, p.stderr).await {
                let _ = p.tx.send(s);
            }
        }
        // Learn the exit from a wait request opened before the process runs.
        let waiter = supervisor.wait().await;
        if let Err(e) = supervisor.start().await.map_err(|e| e.to_string()) {
            if let Ok(w) = waiter {
                drop(w);
            }
            let _ = self.runtime(&id, RuntimeOp::Kill(SIGKILL, true));
            let code = start_exit_code(&e);
            let rec = ctr.update(|r| {
                r.state.error = e.clone();
                r.state.exit_code = code;
                r.clone()
            });
            let _ = self.containers.save(&rec);
            return Err(ContainerError::Start {
                message: format!("failed to start container: {e}"),
                exit_code: code,
            }
            .into());
        }
        let started = now();
        let rec = ctr.update(|r| {
            r.state = State {
                status: "running".into(),
                running: true,
                pid,
                started_at: started.clone(),
                finished_at: r.state.finished_at.clone(),
                ..State::default()
            };
            r.stopped_by_user = false;
            r.clone()
        });
        self.containers.save(&rec)?;
        ctr.progress.send_modify(|p| p.running = true);
        tracing::debug!(
            container = %rec.id,
            mounted_us = mounted.as_micros() as u64,
            shim_ready_us = ready.as_micros() as u64,
            running_us = t0.elapsed().as_micros() as u64,
            "started"
        );
        self.container_event(&rec, "start", &[]);
        let engine = self.clone();
        let c2 = ctr.clone();
        tokio::spawn(async move {
            engine.monitor(c2, waiter.ok()).await;
        });
        Ok(())
    }

    async fn spawn_shim(
        &self,
        rec: &ContainerRecord,
        bundle: &Path,
        rootfs: &Path,
        data: &Path,
    ) -> std::result::Result<i64, SpawnError> {
        let id = &rec.id;
        let cfg = &rec.config;
        let hc = &rec.host_config;
        let mut user = etc::resolve_user(rootfs, &cfg.user).map_err(SpawnError::Setup)?;
        add_groups(&mut user, rootfs, hc).map_err(SpawnError::Setup)?;
        let host_net = hc.network_mode() == "host";
        let files = [
            (
                "/etc/hostname",
                &rec.hostname_path,
                format!("{}\n", cfg.hostname),
            ),
            (
                "/etc/hosts",
                &rec.hosts_path,
                etc::hosts(&cfg.hostname, &hc.extra_hosts, host_net),
            ),
            (
                "/etc/resolv.conf",
                &rec.resolv_conf_path,
                etc::resolv_conf(host_net),
            ),
        ];
        let mut etc_files = Vec::new();
        for (dest, path, content) in files {
            if !Path::new(path).exists() {
                write_durable_mode(Path::new(path), content.as_bytes(), 0o644)
                    .map_err(|e| SpawnError::Setup(format!("write {path}: {e}")))?;
            }
            etc_files.push((dest.to_string(), path.clone()));
        }
        let mut env = cfg.env.clone();
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.insert(1.min(env.len()), format!("HOSTNAME={}", cfg.hostname));
        }
        if cfg.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!(
                "HOME={}",
                if user.home.is_empty() {
                    "/"
                } else {
                    &user.home
                }
            ));
        }
        let mut args = vec![rec.path.clone()];
        args.extend(rec.args.iter().cloned());
        let init_binary = shim::find_binary("muelle-init").map(|p| p.display().to_string());
        let input = spec::SpecInput {
            record: rec,
            uid: user.uid,
            gid: user.gid,
            additional_gids: user.additional_gids,
            env,
            args,
            cwd: if cfg.working_dir.is_empty() {
                "/".into()
            } else {
                cfg.working_dir.clone()
            },
            etc_files,
            cgroups_path: format!("/muelle/{id}"),
            init_binary,
        };
        let spec = spec::build(&input).map_err(|e| SpawnError::Setup(e.to_string()))?;
        let spec_bytes = serde_json::to_vec_pretty(&spec)
            .map_err(|e| SpawnError::Setup(format!("encode spec: {e}")))?;
        write_durable(&bundle.join("config.json"), &spec_bytes)
            .map_err(|e| SpawnError::Setup(format!("write config.json: {e}")))?;
        let mut a = vec![
            "--id".to_string(),
            id.clone(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--runtime-root".into(),
            self.containers.runtime_root.display().to_string(),
            "--state-dir".into(),
            bundle.display().to_string(),
            "--exit-file".into(),
            data.join(EXIT_FILE).display().to_string(),
            "--unmount".into(),
            rootfs.display().to_string(),
        ];
        let driver = if hc.log_config.typ.is_empty() {
            "json-file"
        } else {
            hc.log_config.typ.as_str()
        };
        a.push("--log-driver".into());
        a.push(driver.into());
        a.push("--log-path".into());
        a.push(rec.log_path.clone());
        if let Some(size) = hc
            .log_config
            .config
            .get("max-size")
            .and_then(|v| parse_size(v))
        {
            a.push("--log-max-size".into());
            a.push(size.to_string());
        }
        if let Some(n) = hc.log_config.config.get("max-file") {
            a.push("--log-max-file".into());
            a.push(n.clone());
        }
        if cfg.tty {
            a.push("--tty".into());
        }
        if cfg.open_stdin {
            a.push("--stdin".into());
            if cfg.stdin_once {
                a.push("--stdin-once".into());
            }
        }
        shim::spawn(&a, &bundle.join("shim.log"))
            .await
            .map_err(|e| {
                let code = start_exit_code(&e);
                SpawnError::Runtime(e, code)
            })
    }

    /// Waits for the shim to report the exit (or finds the exit file when the shim is gone).
    async fn monitor(self: Arc<Self>, ctr: Arc<Ctr>, waiter: Option<shim::Waiter>) {
        let mut reply = None;
        if let Some(w) = waiter {
            reply = w.exit().await.ok();
        }
        if reply.is_none() {
            // The shim went away without answering, or we reconnect late: its exit file
            // has the answer; in the bundle (exec root) when the data root had no room.
            reply = shim::read_exit_file(&self.containers.data_dir(&ctr.id).join(EXIT_FILE))
                .or_else(|| shim::read_exit_file(&self.containers.bundle(&ctr.id).join(EXIT_FILE)));
        }
        self.on_exit(&ctr, reply).await;
    }

    async fn on_exit(self: &Arc<Self>, ctr: &Arc<Ctr>, reply: Option<shim::ExitRecord>) {
        let t0 = std::time::Instant::now();
        let code = reply.as_ref().map_or(255, |r| i64::from(r.exit_code));
        let oom = reply.as_ref().is_some_and(|r| r.oom_killed);
        let finished = reply
            .as_ref()
            .map(|r| r.finished_at.clone())
            .unwrap_or_else(now);
        let rootfs = self.rootfs_path(&ctr.id);
        let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        let _ = self.runtime(&ctr.id, RuntimeOp::Delete);
        let rec = ctr.update(|r| {
            r.state.running = false;
            r.state.paused = false;
            r.state.pid = 0;
            r.state.exit_code = code;
            r.state.oom_killed = oom;
            r.state.finished_at = finished.clone();
            r.state.status = "exited".into();
            if reply.is_none() {
                r.state.error = "the container's supervisor died without recording an exit".into();
            }
            r.clone()
        });
        if let Err(e) = self.containers.save(&rec) {
            // The exit lives on in memory and in the shim's exit record; a later save
            // (remove, start) writes it.
            tracing::warn!(container = %ctr.id, error = %e, "recording the exit");
        }
        for e in lock(&self.containers.execs).values_mut() {
            if e.container == ctr.id && e.running {
                e.running = false;
            }
        }
        tracing::debug!(container = %ctr.id, lag = ?muelle_types::time::parse_rfc3339(&finished).and_then(|f| SystemTime::now().duration_since(f).ok()), settled_us = t0.elapsed().as_micros() as u64, "exited");
        self.container_event(&rec, "die", &[("exitCode", code.to_string())]);
        ctr.progress.send_modify(|p| {
            p.exits += 1;
            p.running = false;
        });
        if rec.host_config.auto_remove {
            let engine = self.clone();
            let id = ctr.id.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.remove_container(&id, true, false).await {
                    tracing::warn!(container = %id, error = %e, "auto-remove failed");
                }
            });
            return;
        }
        let policy = &rec.host_config.restart_policy;
        let restart = match policy.name.as_str() {
            "always" => !rec.stopped_by_user,
            "unless-stopped" => !rec.stopped_by_user,
            "on-failure" => {
                code != 0
                    && !rec.stopped_by_user
                    && (policy.maximum_retry_count == 0
                        || rec.restart_count < policy.maximum_retry_count)
            }
            _ => false,
        };
        if restart {
            let engine = self.clone();
            let ctr = ctr.clone();
            let delay = Duration::from_millis(100u64 << rec.restart_count.clamp(0, 9) as u64);
            tokio::spawn(async move {
                ctr.update(|r| {
                    r.state.restarting = true;
                    r.state.status = "restarting".into();
                });
                tokio::time::sleep(delay).await;
                let Ok(_op) = ctr.lock_op().await else {
                    return;
                };
                let rec = ctr.record();
                if rec.stopped_by_user || rec.state.running || rec.state.status == "removing" {
                    ctr.update(|r| {
                        r.state.restarting = false;
                        if r.state.status == "restarting" {
                            r.state.status = "exited".into();
                        }
                    });
                    return;
                }
                ctr.update(|r| {
                    r.restart_count += 1;
                    r.state.restarting = false;
                });
                if let Err(e) = engine.start_locked(&ctr).await {
                    tracing::warn!(container = %ctr.id, error = %e, "restart failed");
                    ctr.update(|r| r.state.status = "exited".into());
                }
            });
        }
    }

    /// Sends a signal to the container's process (Docker's kill).
    pub async fn kill_container(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let sig = parse_signal(signal.unwrap_or("KILL"))?;
        let rec = ctr.record();
        ensure_running(&rec)?;
        // As Docker: a killed container counts as stopped by hand for `unless-stopped`.
        ctr.update(|r| r.stopped_by_user = true);
        self.signal(&rec.id, sig, false)?;
        self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        if sig == SIGKILL {
            // As dockerd: a KILL returns once the container is down (for at most 2 s), so a
            // client that inspects right after sees it stopped.
            self.wait_stopped(&ctr, Duration::from_secs(2)).await;
        }
        Ok(())
    }

    fn signal(&self, id: &str, sig: i32, all: bool) -> Result<()> {
        let c = muelle_runtime::Container::load(&self.containers.runtime_root, id)
            .map_err(|e| ContainerError::Conflict(format!("Container {id} is not running: {e}")))?;
        if sig == SIGKILL {
            // A frozen process cannot die: thaw it first.
            let _ = c.resume();
        }
        c.kill(sig, all).map_err(|e| {
            // It ended between the check and the signal: not running, as dockerd says.
            if c.status() == muelle_runtime::state::Status::Stopped {
                ContainerError::Conflict(format!("Container {id} is not running")).into()
            } else {
                ContainerError::Internal(format!("cannot kill container {id}: {e}")).into()
            }
        })
    }

    /// Waits until the container is not running (true) or `timeout` passes (false).
    async fn wait_stopped(&self, ctr: &Ctr, timeout: Duration) -> bool {
        let mut rx = ctr.progress.subscribe();
        let fut = rx.wait_for(|p| !p.running);
        tokio::time::timeout(timeout, fut)
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Docker's stop: the stop signal, then SIGKILL after the timeout.
    pub async fn stop_container(
        &self,
        name_or_id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        self.stop_locked(&ctr, signal, timeout).await
    }

    async fn stop_locked(
        &self,
        ctr: &Ctr,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let rec = ctr.record();
        if !rec.state.running {
            if rec.state.restarting || rec.state.status == "restarting" {
                ctr.update(|r| r.stopped_by_user = true);
                return Ok(());
            }
            return Err(ContainerError::NotModified("container already stopped".into()).into());
        }
        let sig = parse_signal(
            signal
                .or(rec.config.stop_signal.as_deref())
                .unwrap_or("TERM"),
        )?;
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        let rec = ctr.update(|r| {
            r.stopped_by_user = true;
            r.clone()
        });
        let _ = self.containers.save(&rec);
        if self.signal(&rec.id, sig, false).is_ok() {
            self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        }
        let grace = if timeout < 0 {
            Duration::from_secs(u64::MAX / 4)
        } else {
            Duration::from_secs(timeout as u64)
        };
        if !self.wait_stopped(ctr, grace).await {
            let _ = self.signal(&rec.id, SIGKILL, true);
            self.container_event(&rec, "kill", &[("signal", "9".into())]);
            if !self.wait_stopped(ctr, Duration::from_secs(30)).await {
                return Err(ContainerError::Internal(format!(
                    "container {} did not stop after SIGKILL",
                    rec.id
                ))
                .into());
            }
        }
        self.container_event(&ctr.record(), "stop", &[]);
        Ok(())
    }

    pub async fn restart_container(
        self: &Arc<Self>,
        name_or_id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        if ctr.record().state.status == "removing" {
            return Err(ContainerError::Conflict(
                "container is marked for removal and cannot be started".into(),
            )
            .into());
        }
        match self.stop_locked(&ctr, signal, timeout).await {
            Ok(()) => {}
            Err(EngineError::Container(ContainerError::NotModified(_))) => {}
            Err(e) => return Err(e),
        }
        self.start_locked(&ctr).await?;
        self.container_event(&ctr.record(), "restart", &[]);
        Ok(())
    }

    /// Removes a container (with `force`, killing it first).
    pub async fn remove_container(
        &self,
        name_or_id: &str,
        force: bool,
        _volumes: bool,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        let rec = ctr.record();
        if rec.state.status == "removing" {
            return Err(ContainerError::Conflict(format!(
                "removal of container {} is already in progress",
                rec.id
            ))
            .into());
        }
        // Between two runs of its restart policy a container has no process, but dockerd
        // counts it as running: removing it needs `force` (which also ends the restarts).
        let restarting = rec.state.restarting || rec.state.status == "restarting";
        if rec.state.running || rec.state.paused || restarting {
            if !force {
                let what = if rec.state.paused {
                    "paused"
                } else if restarting {
                    "restarting"
                } else {
                    "running"
                };
                return Err(ContainerError::Conflict(format!(
                    "You cannot remove a {what} container {}. Stop the container before attempting removal or force remove",
                    rec.id
                ))
                .into());
            }
            ctr.update(|r| r.stopped_by_user = true);
        }
        if rec.state.running || rec.state.paused {
            let _ = self.signal(&rec.id, SIGKILL, true);
            self.container_event(&rec, "kill", &[("signal", "9".into())]);
            if !self.wait_stopped(&ctr, Duration::from_secs(30)).await {
                return Err(ContainerError::Internal(format!(
                    "could not kill running container {}, cannot remove",
                    rec.id
                ))
                .into());
            }
        }
        ctr.update(|r| r.state.status = "removing".into());
        let id = rec.id.clone();
        if let Err(e) = self.remove_files(&id).await {
            // As dockerd's SetRemovalError: the container is dead, not forever "removing",
            // so `rm` can be tried again (once the disk has room, say). The record is
            // written again too: the exit that led here may not have reached the disk.
            let rec = ctr.update(|r| {
                r.state.status = "dead".into();
                r.state.error = format!("removal failed: {e}");
                r.clone()
            });
            if let Err(save) = self.containers.save(&rec) {
                tracing::warn!(container = %id, error = %save, "recording a failed removal");
            }
            return Err(e);
        }
        lock(&self.containers.map).remove(&id);
        lock(&self.containers.execs).retain(|_, e| e.container != id);
        tracing::debug!(container = %id, "removed");
        self.container_event(&rec, "destroy", &[]);
        ctr.progress.send_modify(|p| p.removed = true);
        Ok(())
    }

    /// What removing a stopped container deletes: its runtime state, rootfs snapshot,
    /// bundle and data directory. Safe to run again after a failure.
    async fn remove_files(&self, id: &str) -> Result<()> {
        let rootfs = self.rootfs_path(id);
        let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        let _ = self.runtime(id, RuntimeOp::Delete);
        let images = self.images_handle();
        let key = container_key(id);
        tokio::task::spawn_blocking(move || images.remove_rootfs(&key))
            .await
            .map_err(|e| EngineError::Task {
                what: "remove rootfs",
                reason: e.to_string(),
            })??;
        let _ = std::fs::remove_dir_all(self.containers.bundle(id));
        let data = self.containers.data_dir(id);
        std::fs::remove_dir_all(&data).map_err(|source| EngineError::Io {
            what: "removing",
            path: data,
            source,
        })
    }

    /// Docker's wait: `not-running` (default), `next-exit` or `removed`. Returns the future
    /// of the exit code after registering, so the caller can answer the headers first.
    pub fn wait_container(
        &self,
        name_or_id: &str,
        condition: &str,
    ) -> Result<impl std::future::Future<Output = (i64, Option<String>)> + Send + 'static> {
        let ctr = self.containers.find(name_or_id)?;
        let mut rx = ctr.progress.subscribe();
        let start = *rx.borrow();
        let cond = match condition {
            "" | "not-running" => 0,
            "next-exit" => 1,
            "removed" => 2,
            other => {
                return Err(ContainerError::Invalid(format!("invalid condition: {other:?}")).into())
            }
        };
        let c2 = ctr.clone();
        Ok(async move {
            let _ = rx
                .wait_for(|p| match cond {
                    0 => !p.running,
                    1 => p.exits > start.exits || p.removed,
                    _ => p.removed,
                })
                .await;
            let rec = c2.record();
            let err = (!rec.state.error.is_empty()).then(|| rec.state.error.clone());
            (rec.state.exit_code, err)
        })
    }

    /// Connects an attach (now, or when the container starts).
    pub async fn attach_container(
        &self,
        name_or_id: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(AttachTarget, ContainerRecord)> {
        let ctr = self.containers.find(name_or_id)?;
        let rec = ctr.record();
        let stdin = stdin && rec.config.open_stdin;
        if rec.state.running {
            let s = shim::client(&self.containers.bundle(&rec.id))
                .attach(stdin, stdout, stderr)
                .await
                .map_err(|e| {
                    ContainerError::Conflict(format!("cannot attach to {}: {e}", rec.id))
                })?;
            return Ok((AttachTarget::Live(s), rec));
        }
        let (tx, rx) = oneshot::channel();
        lock(&ctr.pending).push(PendingAttach {
            stdin,
            stdout,
            stderr,
            tx,
        });
        Ok((AttachTarget::Pending(rx), rec))
    }

    /// Sets the pty size of a running container.
    pub async fn resize_container(&self, name_or_id: &str, height: u32, width: u32) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let rec = ctr.record();
        ensure_running(&rec)?;
        let (height, width) = shim::pty_size(height, width)
            .map_err(|e| ContainerError::Internal(format!("resize: {e}")))?;
        shim::client(&self.containers.bundle(&rec.id))
            .resize(height, width)
            .await
            .map_err(|e| ContainerError::Internal(format!("resize: {e}")))?;
        Ok(())
    }

    pub async fn pause_container(&self, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        // Serialised with stop and rm: a freeze landing while rm -f waits for its SIGKILL
        // kept the process from dying.
        let _op = ctr.lock_op().await?;
        self.pause_locked(&ctr)
    }

    pub(crate) fn pause_locked(&self, ctr: &Ctr) -> Result<()> {
        let rec = ctr.record();
        ensure_running(&rec)?;
        if rec.state.paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                rec.id
            ))
            .into());
        }
        self.set_paused(ctr, &rec.id, true)
    }

    pub async fn unpause_container(&self, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        self.unpause_locked(&ctr)
    }

    pub(crate) fn unpause_locked(&self, ctr: &Ctr) -> Result<()> {
        let rec = ctr.record();
        if !rec.state.paused {
            return Err(
                ContainerError::Conflict(format!("Container {} is not paused", rec.id)).into(),
            );
        }
        self.set_paused(ctr, &rec.id, false)
    }

    /// Freezes (`pause`) or thaws (`unpause`) the container's processes, then records the
    /// state and sends the event of that name.
    fn set_paused(&self, ctr: &Ctr, id: &str, paused: bool) -> Result<()> {
        let (op, action, status) = if paused {
            (RuntimeOp::Pause, "pause", "paused")
        } else {
            (RuntimeOp::Resume, "unpause", "running")
        };
        if let Err(e) = self.runtime(id, op) {
            // The process ended, or a kill thawed it, since the record was read: a conflict
            // with its real state, which the record then follows.
            use muelle_runtime::state::Status;
            let now = muelle_runtime::Container::load(&self.containers.runtime_root, id)
                .map(|c| c.status())
                .unwrap_or(Status::Stopped);
            return Err(match (now, paused) {
                (Status::Stopped, _) => {
                    ContainerError::Conflict(format!("Container {id} is not running"))
                }
                (Status::Running, false) => {
                    ctr.update(|r| {
                        r.state.paused = false;
                        r.state.status = "running".into();
                    });
                    ContainerError::Conflict(format!("Container {id} is not paused"))
                }
                (Status::Paused, true) => {
                    ContainerError::Conflict(format!("Container {id} is already paused"))
                }
                _ => ContainerError::Internal(format!("{action}: {e}")),
            }
            .into());
        }
        let rec = ctr.update(|r| {
            r.state.paused = paused;
            r.state.status = status.into();
            r.clone()
        });
        let _ = self.containers.save(&rec);
        self.container_event(&rec, action, &[]);
        Ok(())
    }

    pub fn rename_container(&self, name_or_id: &str, new: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let new = new.strip_prefix('/').unwrap_or(new);
        if new.is_empty() {
            return Err(
                ContainerError::Invalid("Neither old nor new names may be empty".into()).into(),
            );
        }
        if !etc::valid_name(new) {
            return Err(ContainerError::Invalid(format!(
                "Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            ))
            .into());
        }
        let map = lock(&self.containers.map);
        let old = lock(&ctr.rec).name.clone();
        if old == new {
            return Err(ContainerError::Invalid(
                "Renaming a container with the same name as its current name".into(),
            )
            .into());
        }
        if let Some(other) = map
            .values()
            .find(|c| c.id != ctr.id && lock(&c.rec).name == new)
        {
            return Err(ContainerError::Conflict(format!(
                "Conflict. The container name \"/{new}\" is already in use by container \"{}\". You have to remove (or rename) that container to be able to reuse that name.",
                other.id
            ))
            .into());
        }
        let rec = ctr.update(|r| {
            r.name = new.to_string();
            r.clone()
        });
        drop(map);
        self.containers.save(&rec)?;
        self.container_event(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Pids of the container's processes.
    pub fn container_pids(&self, name_or_id: &str) -> Result<Vec<i32>> {
        let rec = self.container(name_or_id)?;
        ensure_running(&rec)?;
        match self.runtime(&rec.id, RuntimeOp::Processes) {
            Ok(pids) => Ok(pids),
            Err(e) => Err(ContainerError::Internal(format!("list processes: {e}")).into()),
        }
    }

    /// The `top` event dockerd records once it has answered `GET /containers/{id}/top`.
    pub fn container_topped(&self, name_or_id: &str) {
        if let Ok(rec) = self.container(name_or_id) {
            self.container_event(&rec, "top", &[]);
        }
    }

    /// Removes every stopped container; returns their IDs.
    pub async fn prune_containers(
        &self,
        labels: &[String],
        until: Option<SystemTime>,
    ) -> Result<Vec<String>> {
        let mut gone = Vec::new();
        for rec in self.containers.records() {
            if rec.state.running || rec.state.paused || rec.state.restarting {
                continue;
            }
            if !labels_match(&rec.config.labels, labels) {
                continue;
            }
            if let Some(u) = until {
                if muelle_types::time::parse_rfc3339(&rec.created).is_some_and(|c| c > u) {
                    continue;
                }
            }
            if self.remove_container(&rec.id, false, false).await.is_ok() {
                gone.push(rec.id);
            }
        }
        Ok(gone)
    }

    /// Finds the supervisors of running containers again after a daemon restart, and
    /// settles the ones that ended while the daemon was away.
    pub async fn restore_containers(self: &Arc<Self>) {
        self.remove_orphans().await;
        let all: Vec<Arc<Ctr>> = lock(&self.containers.map).values().cloned().collect();
        for ctr in all {
            let rec = ctr.record();
            let bundle = self.containers.bundle(&rec.id);
            let supervisor = shim::client(&bundle);
            let status = supervisor.status().await;
            match status {
                Ok(v) => {
                    let pid = i64::from(v.pid);
                    let waiter = supervisor.wait().await.ok();
                    if !rec.state.running {
                        // Killed mid-start: the shim made the container but was never told
                        // to start it. Nobody can attach to it now; end it.
                        let started = v.running;
                        if !started {
                            let _ = self.signal(&rec.id, SIGKILL, true);
                        }
                        ctr.update(|r| {
                            r.state.running = true;
                            r.state.status = "running".into();
                            r.state.pid = pid;
                            if r.state.started_at == model::ZERO_TIME {
                                r.state.started_at = now();
                            }
                        });
                    }
                    ctr.progress.send_modify(|p| p.running = true);
                    let engine = self.clone();
                    tokio::spawn(async move { engine.monitor(ctr, waiter).await });
                }
                Err(_) if rec.state.running => {
                    let engine = self.clone();
                    tokio::spawn(async move { engine.monitor(ctr, None).await });
                }
                Err(_) => {
                    let rootfs = self.rootfs_path(&rec.id);
                    let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                    let _ = self.runtime(&rec.id, RuntimeOp::Delete);
                    // As dockerd: `always` brings back whatever ran before, even if stopped
                    // by hand; `unless-stopped` only what was not.
                    let ran =
                        rec.state.started_at != model::ZERO_TIME || rec.state.status != "created";
                    let restart = match rec.host_config.restart_policy.name.as_str() {
                        // A failed removal: its rootfs may be gone.
                        _ if rec.state.status == "dead" => false,
                        "always" => ran,
                        "unless-stopped" => !rec.stopped_by_user && rec.state.status != "created",
                        _ => false,
                    };
                    if restart {
                        let engine = self.clone();
                        tokio::spawn(async move {
                            let Ok(_op) = ctr.lock_op().await else {
                                return;
                            };
                            if let Err(e) = engine.start_locked(&ctr).await {
                                tracing::warn!(container = %ctr.id, error = %e, "restart at daemon start failed");
                            }
                        });
                    }
                }
            }
        }
    }

    /// Undoes creates that a crash cut short: a directory without a record, a rootfs
    /// snapshot without a container.
    async fn remove_orphans(&self) {
        let known: std::collections::BTreeSet<String> =
            lock(&self.containers.map).keys().cloned().collect();
        if let Ok(rd) = std::fs::read_dir(&self.containers.dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) && !e.path().join(RECORD).exists() {
                    tracing::info!(container = %name, "removing the remains of an unfinished create");
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let images = self.images_handle();
        let _ = tokio::task::spawn_blocking(move || {
            let Ok(snaps) = images.meta().list_snapshots() else {
                return;
            };
            for s in snaps {
                if let Some(id) = s.key.strip_prefix("container-") {
                    if !known.contains(id) {
                        tracing::info!(snapshot = %s.key, "removing the rootfs of a container that was never recorded");
                        let _ = images.remove_rootfs(&s.key);
                    }
                }
            }
        })
        .await;
    }

    // Exec.

    pub fn exec_create(&self, name_or_id: &str, mut e: ExecRecord) -> Result<String> {
        let rec = self.container(name_or_id)?;
        ensure_running(&rec)?;
        if rec.state.paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                rec.id
            ))
            .into());
        }
        if e.cmd.is_empty() {
            return Err(ContainerError::Invalid("No exec command specified".into()).into());
        }
        e.id = etc::new_id().map_err(|x| internal("make an id")(x.to_string()))?;
        e.container = rec.id.clone();
        let id = e.id.clone();
        lock(&self.containers.execs).insert(id.clone(), e);
        self.container_event(
            &rec,
            &format!("exec_create: {}", self.exec_cmdline(&id)),
            &[],
        );
        Ok(id)
    }

    fn exec_cmdline(&self, id: &str) -> String {
        lock(&self.containers.execs)
            .get(id)
            .map(|e| e.cmd.join(" "))
            .unwrap_or_default()
    }

    pub fn exec_inspect(&self, id: &str) -> Result<ExecRecord> {
        lock(&self.containers.execs)
            .get(id)
            .cloned()
            .ok_or_else(|| ContainerError::NotFound(format!("exec instance {id}")).into())
    }

    /// Starts an exec: the shim stream after its `ok` line.
    pub async fn exec_start(&self, id: &str) -> Result<(shim::Stream, ExecRecord)> {
        let e = self.exec_inspect(id)?;
        if e.started {
            return Err(ContainerError::Conflict(format!(
                "Error: Exec command {id} has already run"
            ))
            .into());
        }
        let rec = self.container(&e.container)?;
        ensure_running(&rec)?;
        let bundle = self.containers.bundle(&rec.id);
        let spec: oci_spec::runtime::Spec = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ContainerError::Internal("cannot read the container's config.json".into())
            })?;
        let mut process = spec.process().clone().ok_or_else(|| {
            ContainerError::Internal("the container's config.json has no process".into())
        })?;
        let base_env = process.env().clone().unwrap_or_default();
        process
            .set_env(Some(merge_env(&base_env, &e.env)))
            .set_args(Some(e.cmd.clone()))
            .set_terminal(Some(e.tty))
            .set_console_size(None);
        if !e.working_dir.is_empty() {
            process.set_cwd(e.working_dir.clone().into());
        }
        if !e.user.is_empty() {
            let rootfs = self.rootfs_path(&rec.id);
            let mut u = etc::resolve_user(&rootfs, &e.user).map_err(ContainerError::Invalid)?;
            // As dockerd: an exec's own user keeps the container's `--group-add` groups.
            add_groups(&mut u, &rootfs, &rec.host_config).map_err(ContainerError::Invalid)?;
            let mut user = oci_spec::runtime::User::default();
            user.set_uid(u.uid)
                .set_gid(u.gid)
                .set_additional_gids(Some(u.additional_gids));
            process.set_user(user);
        }
        if e.privileged {
            let caps = spec::process_capabilities(&spec::capabilities(true, &[], &[]))
                .map_err(|e| ContainerError::Internal(e.to_string()))?;
            process.set_capabilities(Some(caps));
        }
        let (pid, s) = shim::client(&bundle)
            .exec(process, e.tty, e.attach_stdin)
            .await
            .map_err(|m| {
                let m = m.to_string();
                ContainerError::Start {
                    exit_code: start_exit_code(&m),
                    message: format!("OCI runtime exec failed: {m}: unknown"),
                }
            })?;
        let pid = i64::from(pid);
        let e = {
            let mut execs = lock(&self.containers.execs);
            let Some(x) = execs.get_mut(id) else {
                return Err(ContainerError::NotFound(format!("exec instance {id}")).into());
            };
            x.started = true;
            x.running = true;
            x.pid = pid;
            x.clone()
        };
        self.container_event(&rec, &format!("exec_start: {}", e.cmd.join(" ")), &[]);
        Ok((s, e))
    }

    /// Records an exec's end (its stream's last frame).
    pub fn exec_finished(&self, id: &str, code: i64) {
        let container = {
            let mut execs = lock(&self.containers.execs);
            let Some(x) = execs.get_mut(id) else { return };
            x.running = false;
            x.exit_code = Some(code);
            x.container.clone()
        };
        if let Ok(rec) = self.container(&container) {
            self.container_event(
                &rec,
                "exec_die",
                &[("execID", id.to_string()), ("exitCode", code.to_string())],
            );
        }
    }

    pub async fn exec_resize(&self, id: &str, height: u32, width: u32) -> Result<()> {
        let e = self.exec_inspect(id)?;
        let (height, width) = shim::pty_size(height, width)
            .map_err(|m| ContainerError::Conflict(format!("resize exec {id}: {m}")))?;
        let pid = i32::try_from(e.pid)
            .map_err(|_| ContainerError::Conflict(format!("resize exec {id}: no process")))?;
        shim::client(&self.containers.bundle(&e.container))
            .exec_resize(pid, height, width)
            .await
            .map_err(|m| ContainerError::Conflict(format!("resize exec {id}: {m}")))?;
        Ok(())
    }

    pub fn exec_ids(&self, container: &str) -> Vec<String> {
        lock(&self.containers.execs)
            .values()
            .filter(|e| e.container == container && e.running)
            .map(|e| e.id.clone())
            .collect()
    }
}

/// What the engine asks of the runtime library directly (the supervisor does the rest).
enum RuntimeOp {
    Kill(i32, bool),
    Delete,
    Pause,
    Resume,
    Processes,
}

impl Engine {
    /// Whether the container's process is over as far as the runtime knows (its state
    /// stopped, or already deleted by the supervisor), whatever the record still says.
    fn process_gone(&self, id: &str) -> bool {
        match muelle_runtime::Container::load(&self.containers.runtime_root, id) {
            Ok(c) => c.status() == muelle_runtime::state::Status::Stopped,
            Err(muelle_runtime::RuntimeError::NotFound(_)) => true,
            // Its directory went while it was read: the supervisor is deleting it.
            Err(muelle_runtime::RuntimeError::Path { source, .. }) => {
                source.kind() == std::io::ErrorKind::NotFound
            }
            Err(_) => false,
        }
    }

    /// One runtime-library call on a container's runtime state; errors as text (the
    /// runtime's error type is large, and callers only report it). `Processes` returns the
    /// pids, the others an empty list.
    fn runtime(&self, id: &str, op: RuntimeOp) -> Result<Vec<i32>, String> {
        let c = match muelle_runtime::Container::load(&self.containers.runtime_root, id) {
            Ok(c) => c,
            Err(e) => return Err(e.to_string()),
        };
        let r = match op {
            RuntimeOp::Kill(sig, all) => c.kill(sig, all).map(|()| Vec::new()),
            RuntimeOp::Delete => c.delete(true).map(|_| Vec::new()),
            RuntimeOp::Pause => c.pause().map(|()| Vec::new()),
            RuntimeOp::Resume => c.resume().map(|()| Vec::new()),
            RuntimeOp::Processes => c.processes(),
        };
        r.map_err(|e| e.to_string())
    }
}

/// Exit code `docker run` uses for a start error: 127 not found, 126 cannot invoke, else 128.
pub fn start_exit_code(msg: &str) -> i64 {
    let m = msg.to_ascii_lowercase();
    if m.contains("executable file not found") || m.contains("no such file or directory") {
        127
    } else if m.contains("permission denied") || m.contains("unable to find user") {
        126
    } else {
        128
    }
}

const SIGKILL: i32 = 9;

/// Docker's size units for `max-size` (`10m`, `1g`, `512k`, plain bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1024u64),
        'm' => (&t[..t.len() - 1], 1024 * 1024),
        'g' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        'b' => (&t[..t.len() - 1], 1),
        _ => (t.as_str(), 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n > 0.0).then_some((n * mul as f64) as u64)
}

/// `label=key` / `label=key=value` filters.
pub fn labels_match(labels: &BTreeMap<String, String>, filters: &[String]) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(f.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("kill").unwrap(), 9);
        assert_eq!(parse_signal("10").unwrap(), 10);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), 35);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }

    #[test]
    fn env_merge_overrides_by_name() {
        let m = merge_env(
            &["PATH=/bin".into(), "A=1".into()],
            &["A=2".into(), "B=3".into()],
        );
        assert_eq!(m, vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn sizes_and_codes() {
        assert_eq!(parse_size("10k"), Some(10240));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("x"), None);
        assert_eq!(
            start_exit_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_exit_code("exec /etc: permission denied"), 126);
    }
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

impl Engine {
    /// The size of a container's writable layer, and of its whole rootfs (`ps -s`).
    pub fn container_sizes(&self, id: &str) -> (i64, i64) {
        let Ok(mounts) = self.rootfs_mounts(id) else {
            return (0, 0);
        };
        let (mut rw, mut lower) = (0u64, 0u64);
        for m in &mounts {
            for o in &m.options {
                if let Some(u) = o.strip_prefix("upperdir=") {
                    rw += dir_size(Path::new(u));
                } else if let Some(l) = o.strip_prefix("lowerdir=") {
                    for d in l.split(':') {
                        lower += dir_size(Path::new(d));
                    }
                }
            }
        }
        (rw as i64, (rw + lower) as i64)
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Whatever a client sends in the fields validate reads, it answers, never panics;
        // and an accepted bind names the paths it was given.
        #[test]
        fn validate_answers_any_request(
            binds in proptest::collection::vec("[/a-z:,.]{0,24}", 0..4),
            caps in proptest::collection::vec("[A-Za-z_]{0,12}", 0..3),
            restart in "[a-z-]{0,12}",
            retries in -3i64..3,
            signal in proptest::option::of("[A-Z0-9+]{0,8}"),
            memory in -10i64..10_000_000,
            max_size in "[0-9kmgx]{0,5}",
        ) {
            let config = ContainerConfig {
                image: "busybox".into(),
                stop_signal: signal,
                ..ContainerConfig::default()
            };
            let mut host = HostConfig {
                binds: binds.clone(),
                cap_add: caps,
                memory,
                ..HostConfig::default()
            };
            host.restart_policy.name = restart;
            host.restart_policy.maximum_retry_count = retries;
            host.log_config.config.insert("max-size".into(), max_size);
            if let Ok(mounts) = validate(&config, &host) {
                prop_assert_eq!(mounts.len(), binds.len());
                for (m, b) in mounts.iter().zip(&binds) {
                    prop_assert!(b.starts_with(&m.source));
                    prop_assert!(m.destination.starts_with('/'));
                }
            }
        }
    }
}
