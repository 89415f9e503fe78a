//! muelle-shim, the per-container supervisor (see `PROTOCOL.md` beside this crate).
//!
//! This crate owns one started container's stdio (pipes or the pty master), its json-file
//! log, the attach/exec streams served on `shim.sock`, reaping the init and exec'd processes,
//! and the exit record. It calls the runtime library in process for create, start, exec and
//! delete, and must not touch anything else of the engine: no images, networks, metadata or
//! other containers. It is single-threaded and synchronous (it forks the container's init),
//! with small fixed buffers, so that a shim stays under 1 MiB of private memory.
//! The library part holds what tests use directly: the log writer, stream framing, the
//! request types and the command line.
#![forbid(unsafe_code)]

pub mod args;
pub mod error;
pub mod frame;
pub mod logfile;
pub mod protocol;

pub use error::ShimError;
