//! Containers: their records, their lifecycle and its rules (names, restart policies,
//! `--rm`), and the link to each one's supervisor. One concept per file:
//!
//! - `store`: the records by ID and name, found, saved, loaded at open (`index`: names and
//!   image users, derived from the records); `state`: a
//!   container's state, its transitions and the status derived from it; `model`: the record.
//! - `validate` (a create request as Docker checks it), `create`, `start` (mount, spec,
//!   supervisor, pending attaches), `monitor` (the exit), `restart` (the policy's one
//!   decision), `stop` (stop, kill, restart), `remove`, `wait`, `attach`, `pause`, `rename`,
//!   `prune`, `restore` (after a daemon restart), `exec` (with its own store), `size`,
//!   `runtime_ops` (what the engine asks the runtime library directly: signals, processes),
//!   `health` (the check and its probe loop, run as execs),
//!   `stats` (a sample of the cgroup's counters in Docker's shape), `update` (new limits on a
//!   record and its running cgroup), `resources` (`HostConfig` limits as OCI resources),
//!   `platform` (what the host's cgroups offer, dockerd's checks and warnings against it),
//!   `devices` (`--device`, device cgroup rules and requests, per-device block I/O),
//!   `namespaces` (pid/ipc/uts modes, /dev/shm, sysctls, OOM score: checks and spec),
//!   `userns` (a container under the daemon's `userns-remap`: checks, spec, idmapped rootfs).
//! - `spec` and `seccomp` (the OCI spec), `etc` (users and groups), `names`, `fs` (diff,
//!   commit, cp, export), `log_driver` (daemon-wide default, create and start checks, what
//!   the supervisor writes), `logs` (the reader, across rotated and gzipped files), `shim` (the supervisor client).
//!
//! A container's record lives in `<data-root>/containers/ID/config.v2.json` (written
//! atomically: temp file, fsync, rename). Its rootfs is an overlay snapshot made at create
//! and mounted at start on `<exec-root>/containers/ID/rootfs`, the bundle the supervisor
//! hands to the runtime. While it runs, one `muelle-shim` holds it; the engine keeps a
//! `wait` request open on the shim's socket to learn the exit, and finds the shims again
//! after a restart.

mod attach;
mod create;
mod devices;
pub mod etc;
pub mod exec;
pub mod fs;
pub mod health;
mod index;
pub mod log_driver;
pub mod logs;
pub mod model;
mod monitor;
pub mod names;
pub mod namespaces;
mod network_opts;
mod oom;
mod pause;
mod platform;
mod prune;
mod remove;
mod rename;
mod resources;
pub mod restart;
mod restore;
mod runtime_ops;
pub mod seccomp;
pub mod shim;
mod size;
pub mod spec;
mod start;
pub mod state;
mod stats;
mod stop;
mod store;
mod update;
pub mod userns;
pub mod validate;
mod wait;

use muelle_types::ErrorKind;

use crate::events::{Actor, Event, EventKind};
use crate::{Engine, EngineError, Result};
pub use attach::AttachTarget;
pub use create::CreateRequest;
pub use exec::ExecRecord;
pub use model::{ContainerConfig, ContainerRecord, HostConfig, MountPoint};
pub(crate) use network_opts::{host_config_list, links};
pub use runtime_ops::parse_signal;
pub use start::start_exit_code;
pub use state::{State, Status};
pub(crate) use store::Ctr;
pub use store::{Containers, Progress};
pub use validate::{parse_size, validate};

/// The runtime containers run with (the runtime library, inside each supervisor), by the
/// name `/info` gives it.
pub const DEFAULT_RUNTIME: &str = "muelle";

/// The names `HostConfig.Runtime` may take: the default and `runc`, which clients of dockerd
/// ask for by name; both are muelle-runtime, which is runc-compatible. muelled has no way
/// to configure other runtimes.
pub const RUNTIMES: &[&str] = &[DEFAULT_RUNTIME, "runc"];

/// The exit record the supervisor writes (in the data directory, or in the bundle when
/// the data root has no room).
const EXIT_FILE: &str = "exit.json";

/// Errors of container operations; `kind` says which kind of failure each is.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    /// Something else a create names that does not exist (a volume plugin), in its own words.
    #[error("{0}")]
    Missing(String),
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
            ContainerError::NotFound(_)
            | ContainerError::NoSuchExec(_)
            | ContainerError::Missing(_) => ErrorKind::NotFound,
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

impl From<crate::volumes::VolumeError> for EngineError {
    fn from(e: crate::volumes::VolumeError) -> Self {
        EngineError::Volume(e)
    }
}

impl From<crate::volumes::MountError> for ContainerError {
    fn from(e: crate::volumes::MountError) -> Self {
        match e {
            crate::volumes::MountError::Invalid(m) => ContainerError::Invalid(m),
            crate::volumes::MountError::NotFound(m) => ContainerError::Missing(m),
        }
    }
}

fn internal(what: &str) -> impl FnOnce(String) -> EngineError + '_ {
    move |e| ContainerError::Internal(format!("{what}: {e}")).into()
}

/// Docker's 409 for an operation that needs the container running.
fn ensure_running(rec: &ContainerRecord) -> Result<()> {
    if rec.state.running() {
        return Ok(());
    }
    Err(ContainerError::Conflict(format!("Container {} is not running", rec.id)).into())
}

/// The image service's key of a container's rootfs snapshot.
pub(crate) fn container_key(id: &str) -> String {
    format!("container-{id}")
}

fn now() -> String {
    muelle_types::time::rfc3339_nanos(std::time::SystemTime::now())
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

    /// Announces `action` on the container with its labels, image and name (and `extra`).
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

    /// Writes a container's record where the operation must go on whatever the disk says
    /// (an exit, a state seen from the runtime): the record in memory is right, and the
    /// next successful save writes it.
    fn save_or_warn(&self, rec: &ContainerRecord, what: &str) {
        if let Err(e) = self.containers.save(rec) {
            tracing::warn!(container = %rec.id, error = %e, "recording {what}");
        }
    }
}
