//! The context's error type. Messages that Docker users see keep dockerd's legacy wording.

use std::io;
use std::path::PathBuf;

use muelle_types::ErrorKind;
use thiserror::Error;

/// Everything the context code can fail with.
#[derive(Debug, Error)]
pub enum ContextError {
    /// A .dockerignore line or a COPY source that Go's filepath.Match calls malformed.
    #[error("syntax error in pattern: {pattern:?}")]
    BadPattern { pattern: String },
    /// A source that leaves its root lexically (`../x`), as dockerd words it.
    #[error("COPY failed: forbidden path outside the build context: {path} ()")]
    OutsideContext { path: String },
    /// A source that does not exist in the root (or is excluded by .dockerignore).
    #[error("COPY failed: file not found in build context or excluded by .dockerignore: stat {path}: file does not exist")]
    NotFound { path: String },
    /// No source at all after glob expansion.
    #[error("COPY failed: no source files were specified")]
    NoSources,
    /// Several sources into a destination that is not a directory.
    #[error("When using {cmd} with more than one source file, the destination must be a directory and end with a /")]
    DestNotDir { cmd: &'static str },
    /// A destination that is not an absolute, usable path.
    #[error("invalid COPY destination {dest:?}: {reason}")]
    BadDest { dest: String, reason: String },
    /// Symlinks nested too deep (a loop) while resolving a source.
    #[error("COPY failed: too many levels of symbolic links resolving {path}")]
    SymlinkLoop { path: String },
    /// The context tar (or an ADD archive) is malformed or hostile.
    #[error("invalid build context: {reason}")]
    BadArchive { reason: String },
    /// The context tar could not be extracted.
    #[error("extracting the build context: {0}")]
    Unpack(#[from] muelle_image::UnpackError),
    /// A URL that ADD cannot fetch: bad syntax or an unsupported scheme.
    #[error("{0}")]
    BadUrl(String),
    /// The remote answered, but not with the file.
    #[error("failed to GET {url} with status {status}")]
    HttpStatus { url: String, status: String },
    /// The remote's answer is not valid HTTP.
    #[error("fetching {url}: {reason}")]
    Http { url: String, reason: String },
    /// `--checksum` did not match what was downloaded.
    #[error("digest mismatch for {url}: expected {expected}, got {actual}")]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    /// Reading or writing a file or a stream failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl ContextError {
    /// What the API answers: the user's paths, patterns and contexts are InvalidParameter;
    /// a missing source NotFound as dockerd's errdefs; failures of the host System.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContextError::BadPattern { .. }
            | ContextError::OutsideContext { .. }
            | ContextError::NoSources
            | ContextError::DestNotDir { .. }
            | ContextError::BadDest { .. }
            | ContextError::SymlinkLoop { .. }
            | ContextError::BadArchive { .. }
            | ContextError::BadUrl(_)
            | ContextError::ChecksumMismatch { .. } => ErrorKind::InvalidParameter,
            ContextError::NotFound { .. } => ErrorKind::NotFound,
            ContextError::Unpack(e) => e.kind(),
            ContextError::HttpStatus { .. } | ContextError::Http { .. } => ErrorKind::System,
            ContextError::Io { .. } => ErrorKind::System,
        }
    }

    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| ContextError::Io { what, path, source }
    }
}
