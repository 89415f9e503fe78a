//! The registry client: the HTTP side of the OCI distribution spec (pull, push, mount, tags)
//! with Docker's token authentication, on reqwest over rustls.
//!
//! - [`RegistryClient`] is built from [`RegistryOptions`]: which hosts may use plain HTTP,
//!   user agent, where credentials come from, retry policy, timeouts, push chunking.
//! - Registries are named by host (`registry.example.com`, `127.0.0.1:5000`), repositories by
//!   path (`library/busybox`), manifests by tag or digest. All three are validated before
//!   they go into a URL.
//! - Everything received is untrusted: manifests are hashed as received and checked against
//!   the digest they were asked by and the one the registry claims; blobs stream into a
//!   [`ContentStore`](crate::store::ContentStore) ingest whose commit verifies size and digest.
//!   Responses are never decompressed (no `Accept-Encoding`), since digests cover the bytes
//!   as sent.
//! - Authorization headers go only to the registry host itself, never to the storage host a
//!   blob download is redirected to.
//! - Nothing is printed: progress goes to a [`Progress`] callback, errors are
//!   [`RegistryError`] values naming host, repository and reference.

// Errors carry host, repository, reference and both digests so one line says everything;
// they travel only on the failure path of network requests, where moving ~140 bytes is
// nothing next to a round trip, and boxing would make them awkward to match.
#![allow(clippy::result_large_err)]

mod auth;
mod blob;
mod client;
mod config;
mod error;
mod names;
mod ops;
mod progress;
mod retry;
mod stream;

pub use auth::{parse_challenge, repository_scope, Challenge, Credentials};
pub use blob::ingest_ref;
pub use client::{RegistryClient, RegistryOptions};
pub use config::{config_key, default_config_path, CredentialSource, Lookup};
pub use error::{RegistryError, RegistryErrorEntry, RegistryErrors, Result};
pub use names::{validate_repository, ManifestRef};
pub use ops::{FetchedManifest, ManifestInfo, DOCKER_CONTENT_DIGEST, MAX_MANIFEST_SIZE};
pub use progress::{BlobOutcome, NoProgress, Progress};
pub use retry::{parse_retry_after, RetryPolicy};

/// Media types worth putting in `Accept` when fetching an image manifest or index.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
