//! Volumes and the mounts a container asks for: `-v`/`HostConfig.Binds` (`binds`) and
//! `--mount`/`HostConfig.Mounts` (bind, volume, tmpfs; `mount_api`) parsed as Docker does,
//! `--volumes-from` (`from`), and each mount as the OCI spec's entry (`oci`); the
//! named and anonymous volumes of the `local` driver (`store`: records and data under
//! `<data-root>/volumes`; `local`: the driver's `type`/`device`/`o` mounts); the engine's
//! volume operations with their events (`ops`); what a container's create, start, exit and
//! `rm -v` do with its volumes (`use_by`), and the copy of the image's content into a new
//! empty volume (`copyup`).
//!
//! Must not touch containers' records or lifecycle beyond reading them: the container
//! actions call in here.

mod binds;
mod copyup;
mod from;
mod local;
mod mount_api;
mod oci;
mod ops;
mod propagation;
mod store;
mod subpath;
mod use_by;

pub use binds::{parse_bind, MountRequest};
pub use from::merge_by_destination;
pub use mount_api::{parse_mount, MountExtra};
pub use oci::oci_mount;
pub use ops::{VolumeFilters, VolumesPrune};
pub use store::{valid_name, VolumeRecord, Volumes, ANONYMOUS_LABEL, LOCAL};

/// A mount request Docker would refuse; the message is Docker's.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("{0}")]
    Invalid(String),
    /// A volume driver (plugin) that does not exist: dockerd's 404.
    #[error("{0}")]
    NotFound(String),
}

impl MountError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        match self {
            MountError::Invalid(_) => muelle_types::ErrorKind::InvalidParameter,
            MountError::NotFound(_) => muelle_types::ErrorKind::NotFound,
        }
    }
}

/// Errors of the volume store, worded as dockerd's.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    #[error(
        "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
    )]
    UnknownDriver { name: String, driver: String },
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse { name: String, users: Vec<String> },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Mount(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
}

impl VolumeError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        use muelle_types::ErrorKind as K;
        match self {
            VolumeError::NotFound(_) | VolumeError::UnknownDriver { .. } => K::NotFound,
            VolumeError::InvalidName(_) | VolumeError::Invalid(_) => K::InvalidParameter,
            VolumeError::InUse { .. } | VolumeError::Conflict(_) => K::Conflict,
            VolumeError::Mount(_) | VolumeError::Io { .. } | VolumeError::Internal(_) => K::System,
        }
    }
}
