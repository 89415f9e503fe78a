//! muelle's image layer: the content store (blobs by digest, resumable ingests), image
//! metadata, manifests and configs, layer unpacking onto overlayfs layer directories,
//! snapshots, the registry client, and image archives (save/load/import/export).
//!
//! It must not touch the runtime, the engine or any HTTP server: it knows blobs, images and
//! directories, never containers or API requests. Everything read from an image (digests,
//! tar layers) is untrusted and validated here, at the edge; paths from layers are resolved
//! inside their root with openat2(RESOLVE_IN_ROOT), never by following symlinks out of it.

#![forbid(unsafe_code)]

pub mod digest;
pub mod distribution;
mod fsat;
pub mod images;
pub mod manifest;
pub mod meta;
pub mod reference;
pub mod snapshot;
pub mod store;
pub mod unpack;

pub use digest::{Algorithm, Digest, DigestError, Digester};
pub use images::{
    archive_from_root, extract_into_root, stat_in_root, Change, ChangeKind, CommitOptions,
    ImageError, ImageService, ImageSummary, PathStat, PullEvent, PullProgress,
};
pub use store::{ContentStore, IngestWriter, StoreError};
pub use unpack::{apply_layer, open_layer, UnpackError, UnpackOptions, UnpackSummary};
