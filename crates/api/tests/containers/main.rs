//! muelled's container routes driven by the stock docker CLI (20.10), docker-py and bollard;
//! crash recovery (kill -9 of the daemon while containers run and while a start is half
//! done); Docker's status codes and error bodies for bad requests. Every container runs with
//! `--network none` from the busybox image loaded from a local tar (`--pull never`: nothing
//! ever contacts a registry). This file holds the shared fixtures; each module one group.
//!
//! Each test has its own muelled (it starts in milliseconds); `Env`'s drop removes every
//! container it made, kills any supervisor left under its roots and unmounts what stayed,
//! before the daemon itself stops, so a failing test leaks nothing either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod bad_requests;
mod lifecycle;
mod logs;
mod restart;
mod run;
mod sdks;
mod tty;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    daemon_with_busybox, is_up, kill_shims_and_unmount, mounts_under, remove_all_containers,
    shims_under, Daemon,
};

// Fixtures.

/// A daemon with busybox loaded; on drop, everything it ran is removed.
struct Env {
    d: Daemon,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl std::ops::DerefMut for Env {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.d
    }
}

fn env() -> Env {
    Env {
        d: daemon_with_busybox(),
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // The daemon may be down (a crash test failing between kill9 and respawn).
        if is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

const CGROUP_HIERARCHIES: &[&str] = &["memory", "pids", "cpu", "freezer", "devices", "blkio"];

fn leftover_cgroups(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for h in CGROUP_HIERARCHIES {
        for p in [
            format!("/sys/fs/cgroup/{h}/muelle/{id}"),
            format!("/sys/fs/cgroup/unified/muelle/{id}"),
            format!("/sys/fs/cgroup/muelle/{id}"),
        ] {
            if Path::new(&p).exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Fails unless nothing of these containers is left: mounts under the daemon's exec root,
/// supervisors, cgroups. Polls a little: a supervisor ends right after its container.
fn assert_no_leaks(d: &Daemon, ids: &[String]) {
    let exec_root = d.exec_root.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mounts = mounts_under(&exec_root);
        let shims: Vec<u32> = ids.iter().flat_map(|id| shims_under(id)).collect();
        let cgroups: Vec<String> = ids.iter().flat_map(|id| leftover_cgroups(id)).collect();
        if mounts.is_empty() && shims.is_empty() && cgroups.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "leaked: mounts {mounts:?}, shims {shims:?}, cgroups {cgroups:?}\nmuelled log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

/// `docker run --rm --network none --pull never busybox ARGS...`
fn run(d: &Daemon, args: &[&str]) -> Output {
    let mut all = vec!["run", "--rm", "--network", "none", "--pull", "never"];
    all.extend_from_slice(args);
    d.docker(&all)
}

fn inspect(d: &Daemon, name: &str) -> Value {
    let out = d.docker_ok(&["inspect", "--type", "container", name]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// Polls `f` every 50 ms until it returns Some, failing after `secs`.
fn poll<T>(d: &Daemon, what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nmuelled log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(d: &Daemon, name: &str) -> Value {
    inspect(d, name)["State"].clone()
}

/// `docker run -d --network none --pull never EXTRA...`, returning the container's id.
fn run_d(d: &Daemon, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--network", "none", "--pull", "never"];
    args.extend_from_slice(extra);
    d.docker_ok(&args).trim().to_string()
}
