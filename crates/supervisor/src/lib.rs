//! muelle-shim, the per-container supervisor (see `PROTOCOL.md` beside this crate), and
//! the daemon's typed side of its contract.
//!
//! This crate owns one started container's stdio (pipes or the pty master), its json-file
//! log, the attach/exec streams served on `shim.sock`, reaping the init and exec'd processes,
//! and the exit record. It calls the runtime library in process for create, start, exec and
//! delete, and must not touch anything else of the engine: no images, networks, metadata or
//! other containers. The shim is single-threaded and synchronous (it forks the container's
//! init), with small fixed buffers, so that a shim stays under 1 MiB of private memory.
//!
//! - [`server`]: the shim itself (the `muelle-shim` binary only parses its arguments);
//! - [`protocol`] and [`frame`]: the contract, requests and replies both ways, and the
//!   stream framing;
//! - `client` (feature `client`, tokio): the daemon's side, spawning a shim and talking to
//!   it in those types, reading streams as `Output` values;
//! - [`durable`]: crash-safe file writes, shared with the daemon's records;
//! - [`args`], [`logfile`] (with [`rotation`]), [`error`].
#![forbid(unsafe_code)]

pub mod args;
#[cfg(feature = "client")]
pub mod client;
pub mod durable;
pub mod error;
pub mod frame;
pub mod logfile;
pub mod protocol;
pub mod rotation;
pub mod server;

pub use error::ShimError;
