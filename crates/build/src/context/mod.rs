//! The build context: what `docker build` sends and what COPY/ADD read from it.
//!
//! - [`ignore`]: .dockerignore as moby/patternmatcher reads it.
//! - [`send`]: the client's context tar (only what .dockerignore leaves).
//! - [`receive`]: the daemon's extraction of that tar (compressed or not) into a private dir.
//! - [`select`]: COPY/ADD sources resolved inside a root, their content hash (the legacy
//!   builder's `file:`/`dir:`/`multi:` spelling), and the tar a COPY extracts at '/'.
//! - [`remote`]: ADD of an http:// URL.
//!
//! Paths here are '/'-separated strings relative to a root; every file is opened with
//! openat2(RESOLVE_IN_ROOT) below the root's descriptor, so neither a symlink nor `..`
//! reaches outside the context (or another stage's rootfs for `--from`).

mod archive;
mod copy_tar;
mod error;
mod fsutil;
pub mod glob;
pub mod ignore;
pub mod receive;
pub mod remote;
pub mod select;
pub mod send;
mod tarsum;
#[cfg(test)]
mod testutil;

pub use error::ContextError;
