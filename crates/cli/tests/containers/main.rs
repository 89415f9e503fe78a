//! The container commands of the built `muelle` side by side with /usr/bin/docker (the 20.10
//! CLI) against the same daemon: dockerd (scripts/peers.sh up) and a private muelled
//! (target/debug/muelled with muelle-shim beside it, on its own socket, data root and exec
//! root, seeded with busybox by `muelle load` of scripts/busybox-image.sh's OCI tar). Same
//! output, same exit status. Every container runs with `--network none`, has a name unique
//! to the test, and is removed when the test ends, failed or not; the private muelled is
//! stopped and checked for leftover mounts and supervisors.
//!
//! This file holds one `#[test]` per check and daemon (the daemons and the runners of the
//! two CLIs are the `common` harness both CLI test binaries share); the checks live in one
//! module per concept (run, ps, lifecycle, exec, cp, health, stats and update …).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod cgroupfs;
mod changes;
mod cp;
mod devices;
mod exec;
mod flags;
mod health;
mod inspect;
mod lifecycle;
mod logs;
mod namespaces;
mod observe;
mod ps;
mod run;
mod stats_update;
mod storage;
mod system;

use cgroupfs::cgroupfs_needs_cgroupv1;
use changes::diff_export_commit;
use common::*;
use cp::cp_both_ways;
use devices::device_and_resource_flags_needs_cgroupv1;
use exec::{exec_detach_keys_from_config, exec_in_a_running_container, interactive_tty};
use flags::{
    pids_limit_needs_cgroupv1, read_only_with_tmpfs, resource_flags_needs_cgroupv1, unknown_flags,
};
use health::health_flags;
use inspect::inspect_containers;
use lifecycle::lifecycle_verbs;
use logs::rotated_logs_read_alike;
use namespaces::namespace_flags;
use observe::events_top_port;
use ps::ps_formats;
use run::{detached_logs_and_wait, run_output_and_exit_codes, start_attach_and_run_rm};
use stats_update::stats_and_update;
use storage::{storage_flags, use_api_socket};
use system::system_df_and_prune_report;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private muelled seeded with scripts/busybox-image.sh's image.
fn muelled() -> Daemon {
    start_muelled(Seed::OciTar)
}

/// Container names unique to this process and test; every one is `rm -f`'d on drop.
struct Names {
    host: String,
    names: Vec<String>,
}

impl Names {
    fn new(d: &Daemon) -> Names {
        Names {
            host: d.host.clone(),
            names: Vec::new(),
        }
    }
    fn make(&mut self, what: &str) -> String {
        let n = format!("muelletest-{what}-{}", muelle_test_support::proc::unique());
        self.names.push(n.clone());
        n
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = docker_at(&self.host, &["rm", "-f", n]);
        }
    }
}

against!(
    run_output_and_exit_codes,
    detached_logs_and_wait,
    ps_formats,
    lifecycle_verbs,
    start_attach_and_run_rm,
    inspect_containers,
    exec_in_a_running_container,
    exec_detach_keys_from_config,
    interactive_tty,
    cp_both_ways,
    diff_export_commit,
    events_top_port,
    stats_and_update,
    system_df_and_prune_report,
    health_flags,
    cgroupfs_needs_cgroupv1,
    unknown_flags,
    read_only_with_tmpfs,
    pids_limit_needs_cgroupv1,
    resource_flags_needs_cgroupv1,
    storage_flags,
    use_api_socket,
    device_and_resource_flags_needs_cgroupv1,
    namespace_flags,
    rotated_logs_read_alike,
);

const NONET: &str = "--network=none";
