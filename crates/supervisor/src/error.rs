//! Errors of the supervisor.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the supervisor.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// Errors of the runtime library keep its wording: the daemon maps some of them
    /// (executable not found) to Docker's exit codes.
    #[error("{0}")]
    Runtime(Box<muelle_runtime::RuntimeError>),
    #[error("{what} {path}: {source}")]
    Path {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Request(String),
}

impl From<muelle_runtime::RuntimeError> for ShimError {
    fn from(e: muelle_runtime::RuntimeError) -> Self {
        ShimError::Runtime(Box::new(e))
    }
}

impl ShimError {
    /// A failed system call.
    pub fn io(what: &'static str, source: impl Into<io::Error>) -> Self {
        ShimError::Io {
            what,
            source: source.into(),
        }
    }

    /// A failure on a path.
    pub fn path(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: impl Into<io::Error>,
    ) -> Self {
        ShimError::Path {
            what,
            path: path.into(),
            source: source.into(),
        }
    }
}

impl ShimError {
    /// What kind of failure this is, in the daemon's taxonomy: a bad command line is the
    /// caller's; everything else the shim reports to the daemon, which decides for itself.
    pub fn kind(&self) -> muelle_types::ErrorKind {
        match self {
            ShimError::Usage(_) => muelle_types::ErrorKind::InvalidParameter,
            _ => muelle_types::ErrorKind::System,
        }
    }
}
