//! muelle's engine: the daemon's model and its rules over one data root. It owns the image
//! service (`images`: pull, push, tag, load, save, import, rmi, prune with their events),
//! containers and their supervisors (`containers`: records, state, lifecycle, restart
//! policies, exec, logs, filesystem), the bus of Docker-style events (`events`) and the host
//! facts `/info` reports (`host`). It is where the rules that span a request live (an untag
//! is announced as an event, a removal frees content unless asked not to, a prune picks
//! what counts as unused, an image a container uses keeps its last name).
//!
//! `volumes` holds the mount parsing and the named and anonymous volumes of the `local`
//! driver; `networks` writes each
//! container's /etc/hosts, /etc/hostname and /etc/resolv.conf and is where the facade over
//! the `net` crate goes. Health checks are `containers/health.rs` (the probe loop,
//! driven from start, pause and monitor, its results in the container's `State`), and
//! stats go in a `containers/stats.rs` over the runtime's cgroup statistics. Shared helpers:
//! `fsutil` (durable writes, private directories), `labels` (label filters). `userns`
//! resolves the daemon-wide `userns-remap` to subordinate id ranges.
//!
//! It must not touch HTTP, sockets or JSON wire formats (that is `muelle-api`), nor reach
//! into the image crate's internals (blobs, snapshots and the metadata database are the image
//! service's; the engine only calls its public methods). Nothing here prints: what happened
//! goes to `tracing` and to the event bus.

#![forbid(unsafe_code)]

pub mod builds;
pub mod containers;
pub mod events;
mod fsutil;
pub mod host;
mod images;
pub mod labels;
pub mod networks;
pub mod userns;
pub mod volumes;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use muelle_image::distribution::{CredentialSource, RegistryOptions};
use muelle_image::meta::MetaError;
use muelle_image::{ImageError, ImageService};
use thiserror::Error;

pub use events::{Actor, Event, EventKind, Events};
pub use images::{created, familiar, image_labels, PruneFilter, PruneReport};

/// The daemon's version, reported by `/version` and `/info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the engine keeps its state and how it reaches registries.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent state: content, metadata, snapshots (`/var/lib/muelle`).
    pub data_root: PathBuf,
    /// Runtime state rebuilt at each start: sockets, pid file (`/run/muelle`).
    pub exec_root: PathBuf,
    /// Registries (`host[:port]`) that may be reached over plain HTTP. Loopback registries
    /// always may, as in Docker (whose default insecure CIDR is 127.0.0.0/8).
    pub insecure_registries: Vec<String>,
    /// `userns-remap`: the user namespace every container gets unless it asks for
    /// `--userns host`.
    pub userns_remap: Option<userns::Remap>,
    /// The daemon-wide logging driver and options (daemon.json's `log-driver`, `log-opts`).
    pub log_config: muelle_types::container::LogConfig,
    /// The address pools and `bip` the networks' subnets come from.
    pub network: networks::NetworkConfig,
}

impl EngineConfig {
    pub fn new(data_root: impl Into<PathBuf>, exec_root: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_root: data_root.into(),
            exec_root: exec_root.into(),
            insecure_registries: Vec::new(),
            userns_remap: None,
            log_config: containers::log_driver::muelled_default(),
            network: networks::NetworkConfig::default(),
        }
    }

    /// Registry options for the daemon. Credentials come with each request
    /// (`X-Registry-Auth`), never from a config file of whoever started the daemon.
    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions {
            insecure_registries: self.insecure_registries.clone(),
            insecure: true,
            credentials: CredentialSource::Anonymous,
            user_agent: format!("muelled/{VERSION}"),
            ..RegistryOptions::default()
        }
    }
}

/// Errors of the engine. Image errors pass through unchanged; `kind` says which kind of
/// failure each is, which the API maps to a status code.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the data root {path} is in use by another muelled (its database {db} is locked); stop that daemon or pick another --data-root")]
    DataRootInUse { path: PathBuf, db: PathBuf },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Container(containers::ContainerError),
    #[error(transparent)]
    Volume(volumes::VolumeError),
    #[error(transparent)]
    Network(networks::NetworkError),
    /// `rmi` of an image's last name while a container uses it (Docker's wording).
    #[error("conflict: unable to remove repository reference \"{reference}\" (must force) - container {container} is using its referenced image {image} ({})", if *running { "running" } else { "stopped" })]
    ImageInUse {
        reference: String,
        container: String,
        image: String,
        running: bool,
    },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{what}: background task failed: {reason}")]
    Task { what: &'static str, reason: String },
    /// Host networking (namespaces, links, addresses, ports, rules) failed.
    #[error(transparent)]
    Net(muelle_net::NetError),
    #[error(transparent)]
    Build(builds::BuildError),
}

impl EngineError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        match self {
            EngineError::Image(e) => e.kind(),
            EngineError::Container(e) => e.kind(),
            EngineError::Volume(e) => e.kind(),
            EngineError::Network(e) => e.kind(),
            EngineError::Build(e) => e.kind(),
            EngineError::ImageInUse { .. } => muelle_types::ErrorKind::Conflict,
            EngineError::Net(e) => match e {
                muelle_net::NetError::Invalid(_) => muelle_types::ErrorKind::InvalidParameter,
                muelle_net::NetError::Conflict(_) => muelle_types::ErrorKind::Conflict,
                _ => muelle_types::ErrorKind::System,
            },
            EngineError::DataRootInUse { .. }
            | EngineError::Io { .. }
            | EngineError::Task { .. } => muelle_types::ErrorKind::System,
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// The engine of one data root. Share it as `Arc<Engine>`; every method takes `&self`.
pub struct Engine {
    config: EngineConfig,
    id: String,
    images: Arc<ImageService>,
    containers: containers::Containers,
    execs: containers::exec::ExecStore,
    volumes: volumes::Volumes,
    networks: networks::NetworkStore,
    events: Events,
    started: SystemTime,
    datapath: networks::datapath::Datapath,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the data root (creating it if needed). Fails with
    /// [`EngineError::DataRootInUse`] while another process has it open.
    pub fn open(config: EngineConfig) -> Result<Self> {
        let images = ImageService::open(&config.data_root, config.registry_options()).map_err(
            |e| match e {
                ImageError::Meta(MetaError::Open {
                    path,
                    source: redb::Error::DatabaseAlreadyOpen,
                }) => EngineError::DataRootInUse {
                    path: config.data_root.clone(),
                    db: path,
                },
                e => EngineError::Image(e),
            },
        )?;
        let id = engine_id(&config.data_root)?;
        // The data root is ours alone now: what builds a crash cut short left can go.
        builds::remove_stale_workspaces(&config.data_root);
        let containers = containers::Containers::open(&config.data_root, &config.exec_root)?;
        let volumes = volumes::Volumes::open(&config.data_root)?;
        let networks = networks::NetworkStore::open(&config.data_root)?;
        networks::ensure_builtins(&networks, &config.network, &networks::host_routes())?;
        Ok(Engine {
            config,
            id,
            images: Arc::new(images),
            containers,
            execs: containers::exec::ExecStore::default(),
            volumes,
            networks,
            events: Events::new(),
            started: SystemTime::now(),
            datapath: Default::default(),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn data_root(&self) -> &Path {
        &self.config.data_root
    }

    pub fn exec_root(&self) -> &Path {
        &self.config.exec_root
    }

    /// A stable identifier of this data root (Docker's `ID` in `/info`).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn started(&self) -> SystemTime {
        self.started
    }

    /// The image service, for queries. Changes go through the engine's own methods so that
    /// they are announced on the event bus.
    pub fn images(&self) -> &ImageService {
        &self.images
    }

    /// A shared handle on the image service, for blocking work on another thread.
    pub fn images_handle(&self) -> Arc<ImageService> {
        self.images.clone()
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The storage driver name as `/info` and image inspect report it.
    pub fn storage_driver(&self) -> &'static str {
        self.images.snapshotter().name()
    }
}

/// Reads the data root's ID, making one the first time. The kernel's random UUID is enough:
/// it only has to be unique among the daemons a client talks to.
fn engine_id(root: &Path) -> Result<String> {
    let path = root.join("engine-id");
    let io_err = |what| {
        let path = path.clone();
        move |source| EngineError::Io { what, path, source }
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("reading")(e)),
    }
    let id = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_else(|_| {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{:032X}", nanos ^ u128::from(std::process::id()))
        });
    let tmp = root.join(".engine-id.tmp");
    std::fs::write(&tmp, format!("{id}\n")).map_err(io_err("writing"))?;
    std::fs::rename(&tmp, &path).map_err(io_err("writing"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_of_a_data_root_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = EngineConfig::new(dir.path().join("data"), dir.path().join("exec"));
        let first = Engine::open(cfg.clone()).unwrap();
        let second = Engine::open(cfg).unwrap_err();
        assert!(
            matches!(second, EngineError::DataRootInUse { .. }),
            "{second}"
        );
        assert!(second.to_string().contains("in use by another muelled"));
        let id = first.id().to_string();
        drop(first);
        let again = Engine::open(EngineConfig::new(
            dir.path().join("data"),
            dir.path().join("exec"),
        ))
        .unwrap();
        assert_eq!(again.id(), id, "the engine ID is stable across restarts");
    }
}
