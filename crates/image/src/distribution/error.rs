//! Errors of the registry client. Each names the registry host and, where there is one, the
//! repository and the reference or digest concerned, so a one-line message is enough to act on.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::digest::Digest;
use crate::store::StoreError;

/// The `errors` array a registry sends with a failed request (distribution spec, "Error
/// Codes"). Kept so messages can say what the registry said, not just the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RegistryErrors {
    #[serde(default)]
    pub errors: Vec<RegistryErrorEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegistryErrorEntry {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl RegistryErrors {
    /// Parses a response body; anything that is not the spec's JSON yields no entries, since
    /// proxies and storage backends answer errors in HTML or plain text.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.errors
            .iter()
            .any(|e| e.code.eq_ignore_ascii_case(code))
    }
}

impl fmt::Display for RegistryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return f.write_str("no error details from the registry");
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => write!(f, "{}: {}", e.code, e.message)?,
                (false, true) => f.write_str(&e.code)?,
                _ => f.write_str(&e.message)?,
            }
        }
        Ok(())
    }
}

/// Errors of [`super::RegistryClient`].
#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("invalid registry host {host:?}: {reason}")]
    InvalidHost { host: String, reason: &'static str },
    #[error("invalid repository name {repository:?}: {reason}")]
    InvalidRepository {
        repository: String,
        reason: &'static str,
    },
    #[error("invalid reference {reference:?}: {reason}")]
    InvalidReference {
        reference: String,
        reason: &'static str,
    },
    #[error("cannot reach registry {host}: {source}")]
    Connect {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("TLS with registry {host} failed: {source}")]
    Tls {
        host: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("registry {host}: {what} timed out")]
    Timeout { host: String, what: String },
    #[error("registry {host}: {what}: {source}")]
    Http {
        host: String,
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "registry {host}: refusing plain HTTP to {url} (the registry is not listed as insecure)"
    )]
    InsecureNotAllowed { host: String, url: String },
    #[error("registry {host}: unsupported URL scheme in {url} (only http and https)")]
    UnsupportedScheme { host: String, url: String },
    #[error("registry {host}: authentication required for {repository}: {errors}")]
    Unauthorized {
        host: String,
        repository: String,
        errors: RegistryErrors,
    },
    #[error("registry {host}: access to {repository} denied: {errors}")]
    Denied {
        host: String,
        repository: String,
        errors: RegistryErrors,
    },
    #[error("registry {host}: manifest {repository}:{reference} not found: {errors}")]
    ManifestUnknown {
        host: String,
        repository: String,
        reference: String,
        errors: RegistryErrors,
    },
    #[error("registry {host}: blob {digest} not found in {repository}: {errors}")]
    BlobUnknown {
        host: String,
        repository: String,
        digest: Digest,
        errors: RegistryErrors,
    },
    #[error("registry {host}: repository {repository} not found: {errors}")]
    NameUnknown {
        host: String,
        repository: String,
        errors: RegistryErrors,
    },
    #[error("registry {host}: too many requests for {repository}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    TooManyRequests {
        host: String,
        repository: String,
        retry_after: Option<Duration>,
    },
    #[error("registry {host}: {what} for {repository} failed with HTTP {status} after {attempts} attempts: {errors}")]
    Server {
        host: String,
        repository: String,
        what: String,
        status: u16,
        attempts: u32,
        errors: RegistryErrors,
    },
    #[error("registry {host}: {what} for {repository}: unexpected HTTP {status}: {errors}")]
    UnexpectedStatus {
        host: String,
        repository: String,
        what: String,
        status: u16,
        errors: RegistryErrors,
    },
    #[error("registry {host}: {repository}@{reference}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        host: String,
        repository: String,
        reference: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("registry {host}: {repository}@{digest}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        host: String,
        repository: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("registry {host}: manifest {repository}:{reference} is larger than {limit} bytes")]
    ManifestTooLarge {
        host: String,
        repository: String,
        reference: String,
        limit: u64,
    },
    #[error("registry {host}: {what}")]
    Protocol { host: String, what: String },
    #[error("registry {host}: {repository}@{digest}: {source}")]
    Store {
        host: String,
        repository: String,
        digest: Digest,
        #[source]
        source: StoreError,
    },
    #[error("registry {host}: {repository}@{digest}: reading the blob to push: {source}")]
    Read {
        host: String,
        repository: String,
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("docker config {path}: {what}: {source}")]
    ConfigIo {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("docker config {path}: {reason}")]
    ConfigInvalid { path: PathBuf, reason: String },
    #[error("credentials for {host} are kept by the credential helper docker-credential-{helper}, which muelle does not support yet; log in with `muelle login {host}` instead")]
    CredentialHelperUnsupported { host: String, helper: String },
    #[error("TLS setup: {0}")]
    TlsSetup(String),
    #[error("{what}: background task failed: {reason}")]
    Task { what: &'static str, reason: String },
}

impl RegistryError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        use muelle_types::ErrorKind as K;
        use RegistryError as R;
        match self {
            R::InvalidHost { .. } | R::InvalidRepository { .. } | R::InvalidReference { .. } => {
                K::InvalidParameter
            }
            R::Unauthorized { .. } => K::Unauthorized,
            R::Denied { .. } => K::Forbidden,
            R::ManifestUnknown { .. } | R::BlobUnknown { .. } | R::NameUnknown { .. } => {
                K::NotFound
            }
            R::TooManyRequests { .. } => K::TooManyRequests,
            _ => K::System,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
