//! Errors of the network objects, worded as dockerd's so that clients show the same text.

use muelle_types::ErrorKind;

/// What went wrong with a network request.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// `network X not found` (404).
    #[error("network {0} not found")]
    NotFound(String),
    /// A driver (or IPAM driver) that is not there: dockerd's plugin lookup failure (404).
    #[error("plugin \"{0}\" not found")]
    UnknownDriver(String),
    /// Something else that is missing (a pool to take a subnet from), in dockerd's words.
    #[error("{0}")]
    Missing(String),
    /// A name taken (409).
    #[error("{0}")]
    Conflict(String),
    /// Not allowed (built-in networks, overlapping pools, active endpoints): dockerd's 403.
    #[error("{0}")]
    Forbidden(String),
    /// Bad input (400).
    #[error("{0}")]
    Invalid(String),
    /// dockerd answers these plain errors with 500.
    #[error("{0}")]
    Other(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl NetworkError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetworkError::NotFound(_)
            | NetworkError::UnknownDriver(_)
            | NetworkError::Missing(_) => ErrorKind::NotFound,
            NetworkError::Conflict(_) => ErrorKind::Conflict,
            NetworkError::Forbidden(_) => ErrorKind::Forbidden,
            NetworkError::Invalid(_) => ErrorKind::InvalidParameter,
            NetworkError::Other(_) | NetworkError::Io { .. } => ErrorKind::System,
        }
    }
}

impl From<NetworkError> for crate::EngineError {
    fn from(e: NetworkError) -> Self {
        crate::EngineError::Network(e)
    }
}

impl From<muelle_net::NetError> for NetworkError {
    fn from(e: muelle_net::NetError) -> Self {
        match e {
            muelle_net::NetError::Invalid(m) => NetworkError::Invalid(m),
            muelle_net::NetError::Conflict(m) => NetworkError::Forbidden(m),
            e @ muelle_net::NetError::Io { .. } => NetworkError::Other(e.to_string()),
        }
    }
}
