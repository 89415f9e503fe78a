//! Volumes and the mounts a container asks for. Today: `-v`/`HostConfig.Binds` and
//! `--mount`/`HostConfig.Mounts` of type `bind`, checked and turned into the `MountPoint`s
//! a container's record keeps (and inspect shows). Named volumes and their store come here.
//!
//! Must not touch containers' records or lifecycle: callers get mount points or a
//! [`MountError`] worded as Docker's.

mod binds;

pub use binds::{parse_bind, parse_mount};

/// A mount request Docker would refuse; the message is Docker's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MountError(pub String);

impl MountError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        muelle_types::ErrorKind::InvalidParameter
    }
}
