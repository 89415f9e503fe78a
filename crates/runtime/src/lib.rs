//! The muelle OCI runtime: turns an OCI bundle (`config.json` + rootfs) into a running,
//! isolated process, and manages it through the lifecycle of the runtime-spec
//! (creating → created → running → stopped).
//!
//! It owns namespaces, cgroups (v1 and v2), the container's rootfs and mounts, devices,
//! capabilities, seccomp, rlimits, hooks, the console and the state directory under `--root`.
//! It must not touch images, networks or anything of the engine: it knows bundles only.
//! It is synchronous and fork-safe: no threads and no async runtime, because namespaces,
//! credentials and capabilities are per-thread and are changed here between `fork` and `exec`.
//! The `sys` module is the only place with `unsafe`.

pub mod capabilities;
pub mod cgroupfs;
pub mod cgroups;
pub mod container;
pub mod error;
pub mod hooks;
pub mod idmap;
pub mod process;
pub mod rootfs;
pub mod safepath;
pub mod sealed;
pub mod seccomp;
pub mod seccomp_cache;
pub mod signal;
pub mod spec;
pub mod state;
pub mod sync;
pub mod sys;

pub use container::{Container, CreateOptions, ExecOptions};
pub use error::{Result, RuntimeError};
