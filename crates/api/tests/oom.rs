//! OOM kills through muelled and, side by side, the shared dockerd: a process that grows
//! past `--memory` is killed by the kernel, `inspect` says `OOMKilled: true` and exit 137,
//! and `events` announce `oom` before the `die` it caused; a container that stays under its
//! limit has neither.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use muelle_test_support::proc::unique;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD_SOCK: &str = "/run/docker.sock";

/// `tail` keeps its whole input when there is no newline: it grows until the limit.
const HOG: &str = "head -c 200m /dev/zero | tail";

struct Env {
    d: Daemon,
    theirs: Vec<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for n in &self.theirs {
            let _ = dockerd(&["rm", "-f", n]);
        }
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn dockerd(args: &[&str]) -> Output {
    Command::new(DOCKER)
        .args(["-H", &format!("unix://{DOCKERD_SOCK}")])
        .args(args)
        .output()
        .expect("run docker")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` in a container named `n` with a 32 MiB limit (no swap beyond it) to its end,
/// through `docker` (the stock CLI pointed at one daemon); answers (exit code, OOMKilled,
/// the container's event actions in order).
fn run_and_observe(
    docker: &dyn Fn(&[&str]) -> Output,
    n: &str,
    cmd: &str,
) -> (String, String, Vec<String>) {
    let since = docker(&["version", "-f", "{{.Server.Version}}"]);
    assert!(since.status.success(), "{}", text(&since));
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let o = docker(&[
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
    let code = o.status.code().map(|c| c.to_string()).unwrap_or_default();
    let inspect = docker(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        n,
    ]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let ev = docker(&[
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &end.to_string(),
        "--filter",
        &format!("container={n}"),
        "--format",
        "{{.Action}}",
    ]);
    assert!(ev.status.success(), "{}", text(&ev));
    let actions = String::from_utf8_lossy(&ev.stdout)
        .lines()
        .map(str::to_string)
        .filter(|a| a == "oom" || a == "die" || a == "start")
        .collect::<Vec<_>>();
    // The kernel signals an OOM episode once or several times (timing): one notice or many.
    let mut actions = actions;
    actions.dedup();
    (
        code,
        String::from_utf8_lossy(&inspect.stdout).trim().to_string(),
        actions,
    )
}

fn muelled_docker(d: &Daemon) -> impl Fn(&[&str]) -> Output + '_ {
    move |args: &[&str]| d.docker(args)
}

#[test]
fn oom_kill_is_inspected_and_announced_before_die_needs_memcg() {
    let e = Env {
        d: daemon_with_busybox(),
        theirs: Vec::new(),
    };
    let n = format!("oom-{}", unique());
    let (code, state, actions) = run_and_observe(&muelled_docker(&e.d), &n, HOG);
    assert_eq!(code, "137", "exit of the OOM-killed container");
    assert_eq!(state, "true 137");
    assert_eq!(actions, ["start", "oom", "die"], "events in order");

    let calm = format!("calm-{}", unique());
    let (code, state, actions) = run_and_observe(
        &muelled_docker(&e.d),
        &calm,
        "head -c 1m /dev/zero | tail | wc -c",
    );
    assert_eq!(code, "0");
    assert_eq!(state, "false 0");
    assert_eq!(actions, ["start", "die"]);
}

#[test]
fn oom_kill_answers_as_dockerd_needs_dockerd_memcg() {
    let mut e = Env {
        d: daemon_with_busybox(),
        theirs: Vec::new(),
    };
    let n = format!("oomd-{}", unique());
    e.theirs.push(n.clone());
    let theirs = run_and_observe(&|a: &[&str]| dockerd(a), &n, HOG);
    let ours = run_and_observe(&muelled_docker(&e.d), &n, HOG);
    assert_eq!(
        ours, theirs,
        "(exit code, OOMKilled and exit, events): muelled vs dockerd"
    );
}
