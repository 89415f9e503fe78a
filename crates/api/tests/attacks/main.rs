//! Attacks performed through muelled and the stock docker CLI, with the host checked
//! afterwards: CVE-2019-5736 (a container overwriting `muelle-shim` through
//! `/proc/PID/exe`), hostile image layers through `load`, `import` and `pull`, and symlink
//! swaps racing `docker cp` (CVE-2018-15664) and volume mounts (CVE-2021-30465). This file
//! holds the shared fixtures; each module one kind of attack.
//!
//! A missing peer (docker CLI, busybox, docker-registry) fails the test, naming it; the
//! test's name says what it needs, so scripts/test.sh leaves it out on a host without it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod exe_overwrite;
mod hostile_layers;
mod symlink_races;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{busybox_tar, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

/// Fails the test, naming the missing peer (the test's name says what it needs, so
/// scripts/test.sh leaves it out, as skipped, on a host without it).
fn missing(what: &str) {
    panic!("{what} is needed (scripts/peers.sh install)");
}

/// A daemon with busybox loaded (optionally with extra environment). On drop, a failing
/// test's too, every container goes, then whatever supervisor or mount is left.
struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env_with(vars: &[(&str, &str)]) -> Option<Env> {
    if !Path::new(DOCKER).exists() {
        missing(DOCKER);
        return None;
    }
    let tar = busybox_tar();
    support::shim_binary();
    let d = Daemon::start_with_env(&[], vars);
    let out = d.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "docker load: {out:?}\n{}", d.log());
    let scratch = tempfile::Builder::new()
        .prefix("muelle-attack-")
        .tempdir_in("/var/tmp")
        .unwrap();
    Some(Env { d, scratch })
}

fn env() -> Option<Env> {
    env_with(&[])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn unique() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), n % 1_000_000_000)
}

fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(o.status.success(), "sha256sum {}", p.display());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The entry names of a tar stream, one a line.
fn tar_names(tar: &[u8]) -> String {
    let mut list = Command::new("tar")
        .arg("-t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut list.stdin.take().unwrap(), tar).unwrap();
    String::from_utf8_lossy(&list.wait_with_output().unwrap().stdout).into_owned()
}
