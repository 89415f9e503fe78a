//! The exit record's `oom_killed`: read from the container's cgroup before it goes (run as
//! root, real cgroups).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const LIMIT: i64 = 32 * 1024 * 1024;

fn limited(tag: &str, script: &str) -> Ctr {
    let mut c = Ctr::new(tag, script);
    c.config["linux"]["resources"]["memory"] = json!({ "limit": LIMIT });
    c
}

fn exit_file(c: &Ctr) -> Value {
    wait_for("exit file", TIMEOUT, || c.exit_file().exists());
    serde_json::from_slice(&std::fs::read(c.exit_file()).unwrap()).unwrap()
}

#[test]
fn oom_killed_container_says_so_needs_memcg() {
    // The shell's string doubles until the cgroup's limit: the kernel kills the init.
    let mut c = limited("oom", "x=a; while :; do x=$x$x; done");
    let ready = c.spawn();
    assert!(ready["pid"].as_i64().is_some(), "{ready} {}", c.shim_log());
    let w = c.start_and_wait();
    assert_eq!(w["exit_code"], 137, "{w} {}", c.shim_log());
    assert_eq!(w["oom_killed"], true, "{w} {}", c.shim_log());
    let ex = exit_file(&c);
    assert_eq!(ex["oom_killed"], true);
    assert_eq!(ex["exit_code"], 137);
    c.wait_gone();
    assert!(cgroup_dirs(&c.id).is_empty(), "cgroup left");
}

#[test]
fn container_within_its_limit_is_not_oom_killed_needs_memcg() {
    let mut c = limited("nooom", "x=a; x=$x$x$x; exit 3");
    c.spawn();
    let w = c.start_and_wait();
    assert_eq!(w["exit_code"], 3, "{w} {}", c.shim_log());
    assert_eq!(w["oom_killed"], false);
    assert_eq!(exit_file(&c)["oom_killed"], false);
}
