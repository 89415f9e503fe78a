//! OOM kills through muelled and, side by side, the shared dockerd: a process that grows
//! past `--memory` is killed by the kernel, `inspect` says `OOMKilled: true` and exit 137,
//! and `events` announce `oom` before the `die` it caused; a container that stays under its
//! limit has neither.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use support::both::{unique, Both, Res};

/// `tail` keeps its whole input when there is no newline: it grows until the limit.
const HOG: &str = "head -c 200m /dev/zero | tail";

fn ok(r: Res) -> Res {
    assert!(r.code == 0, "{r:?}");
    r
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs `cmd` in a container named `n` with a 32 MiB limit (no swap beyond it) to its end,
/// through `docker` (the stock CLI pointed at one daemon); answers (exit code, OOMKilled
/// and exit code, the container's start/oom/die events in order).
fn run_and_observe(
    docker: &dyn Fn(&[&str]) -> Res,
    n: &str,
    cmd: &str,
) -> (i32, String, Vec<String>) {
    let start = unix_now() - 1;
    let run = docker(&[
        "run",
        "--name",
        n,
        "--network",
        "none",
        "-m",
        "32m",
        "--memory-swap",
        "32m",
        "busybox",
        "sh",
        "-c",
        cmd,
    ]);
    let state = ok(docker(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        n,
    ]));
    let until = (unix_now() + 1).to_string();
    let events = ok(docker(&[
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &until,
        "--filter",
        &format!("container={n}"),
        "--format",
        "{{.Action}}",
    ]));
    let mut actions: Vec<String> = events
        .out
        .lines()
        .filter(|a| matches!(*a, "oom" | "die" | "start"))
        .map(str::to_string)
        .collect();
    // The kernel signals an OOM episode once or several times (timing): one notice or many.
    actions.dedup();
    (run.code, state.out.trim().to_string(), actions)
}

/// A private muelled whose containers and supervisors go when the test ends, failed or not.
struct Private(support::Daemon);

impl Drop for Private {
    fn drop(&mut self) {
        if support::is_up(&self.0) {
            support::remove_all_containers(&self.0);
        }
        support::kill_shims_and_unmount(&self.0);
    }
}

#[test]
fn oom_kill_is_inspected_and_announced_before_die_needs_memcg() {
    let p = Private(support::daemon_with_busybox());
    let ours = |a: &[&str]| Res::of(&p.0.docker(a));
    let (code, state, actions) = run_and_observe(&ours, &unique("oom"), HOG);
    assert_eq!(code, 137, "exit of the OOM-killed container");
    assert_eq!(state, "true 137");
    assert_eq!(actions, ["start", "oom", "die"], "events in order");

    let calm = "head -c 1m /dev/zero | tail | wc -c";
    let (code, state, actions) = run_and_observe(&ours, &unique("calm"), calm);
    assert_eq!(code, 0);
    assert_eq!(state, "false 0");
    assert_eq!(actions, ["start", "die"]);
}

#[test]
fn oom_kill_answers_as_dockerd_needs_dockerd_memcg() {
    let b = Both::start();
    let n = unique("oomd");
    b.keep_theirs(&n);
    let theirs = run_and_observe(&|a| b.theirs(a), &n, HOG);
    let ours = run_and_observe(&|a| b.ours(a), &n, HOG);
    assert_eq!(
        ours, theirs,
        "(exit code, OOMKilled and exit, events): muelled vs dockerd"
    );
}
