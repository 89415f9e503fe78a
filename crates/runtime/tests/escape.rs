//! Container escapes through descriptors the runtime's caller holds (CVE-2024-21626 class),
//! performed against `muelle-runtime` itself: a working directory, an executable path or a
//! /proc/PID/fd walk that names a host directory through `/proc/self/fd/N`, via `run`,
//! `create`+`start` and `exec`. Each test plants a secret in a host directory, opens that
//! directory as fd 5 of the shell that starts the runtime (as dockerd's or a supervisor's
//! descriptors are open when they call it), and fails if the secret ever reaches the
//! container's output.
//!
//! These need root (namespaces, mounts) but no particular cgroup version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{require_root, run_cmd, unique, wait_for, Ctr, Out, BIN};
use serde_json::json;

/// A host directory holding `host-secret` (a unique token) and a copy of busybox named
/// `echo`, that no container may ever see.
struct HostDir {
    dir: tempfile::TempDir,
    token: String,
}

impl HostDir {
    fn new() -> HostDir {
        let dir = tempfile::Builder::new()
            .prefix("muelle-escape-")
            .tempdir()
            .expect("tempdir");
        let token = format!("HOST-SECRET-{}", unique());
        std::fs::write(dir.path().join("host-secret"), format!("{token}\n")).unwrap();
        std::fs::copy(
            common::shared_rootfs().join("bin/busybox"),
            dir.path().join("echo"),
        )
        .unwrap();
        HostDir { dir, token }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fails if the secret reached the output.
    fn assert_unseen(&self, what: &str, o: &Out) {
        assert!(
            !o.stdout.contains(&self.token) && !o.stderr.contains(&self.token),
            "{what}: the container read a host file through an inherited descriptor: {o:?}"
        );
    }
}

/// Runs the runtime with `args` from a shell that holds the host directory open as fd 5.
fn with_fd5(c: &Ctr, host: &HostDir, args: &[&str]) -> Out {
    let mut script = format!(
        "exec 5<'{}'; exec '{BIN}' --root '{}'",
        host.path().display(),
        c.root.path().display()
    );
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    run_cmd(cmd)
}

const CWDS: &[&str] = &[
    "/proc/self/fd/5",
    "/proc/self/fd/5/",
    "/proc/self/fd/5/..",
    "/proc/self/fd/5/../../../../../../..",
    "/proc/thread-self/fd/5",
    "/proc/1/fd/5",
];

#[test]
fn run_with_cwd_through_inherited_fd_stays_in_root() {
    require_root();
    let host = HostDir::new();
    for cwd in CWDS {
        let mut c = Ctr::new("esc-run");
        c.sh("pwd; cat host-secret; cat ../../../../../../host-secret; ls");
        c.config["process"]["cwd"] = json!(cwd);
        c.write_config();
        let b = c.dir().to_str().unwrap().to_string();
        let o = with_fd5(&c, &host, &["run", "--bundle", &b, &c.id]);
        host.assert_unseen(&format!("run -w {cwd}"), &o);
        if o.code == 0 {
            // Started: then it must be somewhere inside its own root.
            let pwd = o.lines().first().map(|s| s.to_string()).unwrap_or_default();
            assert!(pwd.starts_with('/'), "cwd {cwd}: pwd {pwd:?}: {o:?}");
        }
    }
}

#[test]
fn create_start_with_cwd_through_inherited_fd_stays_in_root() {
    require_root();
    let host = HostDir::new();
    let out = tempfile::Builder::new()
        .prefix("muelle-escape-out-")
        .tempdir()
        .unwrap();
    let mut c = Ctr::new("esc-create");
    // The output goes to a bound host file: the container's stdio outlives `create`.
    c.bind(out.path(), "/mnt/out", false);
    c.sh("{ pwd; cat host-secret; cat ../../../../../../host-secret; } >/mnt/out/o 2>&1");
    c.config["process"]["cwd"] = json!("/proc/self/fd/5");
    c.write_config();
    let script = format!(
        "exec 5<'{}'; exec '{BIN}' --root '{}' create --bundle '{}' '{}' >/dev/null 2>'{}/create.err'",
        host.path().display(),
        c.root.path().display(),
        c.dir().display(),
        c.id,
        out.path().display(),
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    let created = run_cmd(cmd);
    if created.code == 0 {
        c.start().ok();
        let id = c.id.clone();
        let cc = &c;
        wait_for("container stopped", Duration::from_secs(10), || {
            cc.rt(&["state", &id]).stdout.contains("\"stopped\"")
        });
    }
    let seen = Out {
        code: created.code,
        stdout: std::fs::read_to_string(out.path().join("o")).unwrap_or_default(),
        stderr: std::fs::read_to_string(out.path().join("create.err")).unwrap_or_default(),
    };
    host.assert_unseen("create+start -w /proc/self/fd/5", &seen);
    assert_ne!(created.code, 0, "a magic-link cwd was accepted: {seen:?}");
}

/// Every descriptor number the runtime or its caller might hold: none may serve as a cwd.
#[test]
fn no_fd_number_works_as_cwd() {
    require_root();
    let host = HostDir::new();
    for n in 3..=24 {
        let mut c = Ctr::new("esc-fdn");
        c.sh("cat host-secret; cat ../../../../../../host-secret; ls ../../../../../../");
        c.config["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        c.write_config();
        let b = c.dir().to_str().unwrap().to_string();
        let o = with_fd5(&c, &host, &["run", "--bundle", &b, &c.id]);
        host.assert_unseen(&format!("run -w /proc/self/fd/{n}"), &o);
        assert_ne!(
            o.code, 0,
            "cwd /proc/self/fd/{n} was accepted: a magic link must not be a cwd: {o:?}"
        );
    }
}

#[test]
fn run_with_executable_through_inherited_fd_is_refused() {
    require_root();
    let host = HostDir::new();
    let mut c = Ctr::new("esc-exe");
    let marker = format!("RAN-HOST-BINARY-{}", unique());
    c.config["process"]["args"] = json!(["/proc/self/fd/5/echo", marker]);
    c.write_config();
    let b = c.dir().to_str().unwrap().to_string();
    let o = with_fd5(&c, &host, &["run", "--bundle", &b, &c.id]);
    assert!(
        !o.stdout.contains(&marker),
        "the container executed a host binary through an inherited fd: {o:?}"
    );
    assert_ne!(o.code, 0, "{o:?}");
}

/// A long-running container for the exec attacks; `attacker` is its process.
fn running(tag: &str, attacker: &str, ptrace: bool) -> (Ctr, u32) {
    let mut c = Ctr::new(tag);
    c.sh(attacker);
    if ptrace {
        for set in ["bounding", "effective", "permitted"] {
            c.config["process"]["capabilities"][set]
                .as_array_mut()
                .expect("capability set")
                .push(json!("CAP_SYS_PTRACE"));
        }
    }
    let pid = c.spawn_run(&[]);
    let id = c.id.clone();
    let cc = &c;
    wait_for("container running", Duration::from_secs(10), || {
        cc.rt(&["state", &id]).stdout.contains("\"running\"")
    });
    (c, pid)
}

#[test]
fn exec_with_cwd_through_inherited_fd_stays_in_root() {
    require_root();
    let host = HostDir::new();
    let (mut c, pid) = running("esc-exec", "while :; do sleep 0.1; done", false);
    for cwd in CWDS {
        let id = c.id.clone();
        let o = with_fd5(
            &c,
            &host,
            &[
                "exec",
                "--cwd",
                cwd,
                &id,
                "sh",
                "-c",
                "pwd; cat host-secret; cat ../../../../../../host-secret",
            ],
        );
        host.assert_unseen(&format!("exec --cwd {cwd}"), &o);
    }
    // The executable through the fd, by exec.
    let id = c.id.clone();
    let marker = format!("RAN-HOST-BINARY-{}", unique());
    let o = with_fd5(&c, &host, &["exec", &id, "/proc/self/fd/5/echo", &marker]);
    assert!(
        !o.stdout.contains(&marker),
        "exec ran a host binary through an inherited fd: {o:?}"
    );
    c.rt(&["kill", &id, "KILL"]);
    c.wait_spawned(pid);
}

/// Container root with CAP_SYS_PTRACE watches /proc for the process `exec` is setting up
/// and reads through its descriptors: it must find no host directory there. The exec'd
/// process's PATH is long so that its set-up (the executable lookup) takes milliseconds,
/// long enough for the watcher to see it many times over.
#[test]
fn exec_child_holds_no_host_fd_while_visible() {
    require_root();
    let host = HostDir::new();
    // Builtins only (read, echo): the watcher forks nothing, so it sweeps /proc quickly.
    let watcher = "while :; do for p in /proc/[0-9]*; do \
        for f in $p/fd/*; do read -r x < $f/host-secret && echo \"SEEN $x\"; done 2>/dev/null; \
        read -r x < $p/cwd/host-secret 2>/dev/null && echo \"SEEN $x\"; \
        done; done";
    let (mut c, pid) = running("esc-ptrace", watcher, true);
    let mut path = String::from("PATH=");
    for i in 0..14000 {
        path.push_str(&format!("/n/{i}:"));
    }
    path.push_str("/bin");
    let id = c.id.clone();
    for _ in 0..20 {
        let o = with_fd5(&c, &host, &["exec", "--env", &path, &id, "true"]);
        assert_eq!(o.code, 0, "{o:?}");
    }
    c.rt(&["kill", &id, "KILL"]);
    c.wait_spawned(pid);
    let out = c.read_bundle_file("run.out");
    assert!(
        !out.contains(&host.token),
        "container root read a host file through the descriptors of an exec being set up: {out}"
    );
}
