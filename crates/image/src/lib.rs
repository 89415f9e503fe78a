//! muelle's image layer: the content store (blobs by digest, resumable ingests), image
//! metadata, manifests and configs, layer unpacking onto overlayfs layer directories,
//! snapshots, the registry client, and image archives (save/load/import/export).
//!
//! It must not touch the runtime, the engine or any HTTP server: it knows blobs, images and
//! directories, never containers or API requests. Everything read from an image (digests,
//! tar layers) is untrusted and validated here, at the edge; paths from layers are resolved
//! inside their root with openat2(RESOLVE_IN_ROOT), never by following symlinks out of it.

#![forbid(unsafe_code)]

pub mod compress;
pub mod digest;
#[cfg(feature = "service")]
pub mod distribution;
mod fsat;
#[cfg(feature = "service")]
pub mod images;
pub mod manifest;
#[cfg(feature = "service")]
pub mod meta;
pub mod reference;
#[cfg(feature = "service")]
pub mod snapshot;
#[cfg(feature = "service")]
pub mod store;
pub mod unpack;

pub use digest::{Algorithm, Digest, DigestError, Digester};
#[cfg(feature = "service")]
pub use images::{
    archive_from_root, extract_into_root, stat_in_root, Change, ChangeKind, CommitOptions,
    ImageError, ImageService, ImageSummary, PathStat, PullEvent, PullProgress,
};
#[cfg(feature = "service")]
pub use store::{ContentStore, IngestWriter, StoreError};
pub use unpack::{
    apply_layer, extract_to_dir, open_layer, ExtractOptions, UnpackError, UnpackOptions,
    UnpackSummary,
};
