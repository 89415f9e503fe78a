//! Errors of the runtime library. Each carries the object it concerns (path, id, field).

use std::io;
use std::path::PathBuf;

/// Result alias for the runtime library.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Everything that can go wrong in the runtime library.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    InvalidConfig(String),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {0:?} already exists")]
    AlreadyExists(String),
    #[error(
        "invalid container id {0:?}: only letters, digits, '_', '-', '.' allowed, 1..=1024 long"
    )]
    InvalidId(String),
    #[error("container {id} is {status}: {what}")]
    WrongState {
        id: String,
        status: String,
        what: String,
    },
    #[error("{what} {path}: {source}")]
    Path {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("cgroup: {0}")]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error("seccomp: {0}")]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("{0}")]
    Hook(String),
    /// An error reported by the container's init or exec child, already worded.
    #[error("{0}")]
    Child(String),
    #[error("{0}")]
    Unsupported(String),
}

impl RuntimeError {
    /// A syscall failure with a description of what was being done.
    pub fn sys(what: impl Into<String>, source: impl Into<io::Error>) -> Self {
        RuntimeError::Sys {
            what: what.into(),
            source: source.into(),
        }
    }
    /// A failure on a path.
    pub fn path(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Self {
        RuntimeError::Path {
            what,
            path: path.into(),
            source: source.into(),
        }
    }
}

impl From<rustix::io::Errno> for RuntimeError {
    fn from(e: rustix::io::Errno) -> Self {
        RuntimeError::sys("system call", e)
    }
}
