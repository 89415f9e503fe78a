//! The built `muelle` against real daemons: dockerd (from scripts/peers.sh) and a private
//! muelled (target/debug/muelled, on its own socket, data root and exec root, seeded with
//! dockerd's busybox). Each check runs muelle and the docker CLI against the same daemon and
//! compares what they print or what changed. Only loopback: images come from the local
//! busybox, registries from 127.0.0.1.
//!
//! This file holds one `#[test]` per check and daemon (the daemons and the runners of the
//! two CLIs are the `common` harness both CLI test binaries share) and the checks that need
//! no daemon (usage, autostart, terminals); the checks against daemons live in one module
//! per concept (images, archives, registry, system, volumes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archives;
mod build;
#[path = "../common/mod.rs"]
mod common;
mod images;
mod registry;
mod system;
mod volumes;

use archives::{check_import_prune, check_save_load};
use common::*;
use images::{check_history, check_images, check_inspect, check_tag_rmi};
use registry::{check_login_logout_needs_registry, check_push_pull_needs_registry};
use system::check_version_info;
use volumes::check_volumes;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A private muelled seeded from dockerd's busybox.
fn muelled() -> Daemon {
    start_muelled(Seed::FromDockerd)
}

/// A difference between muelled and dockerd that is muelled's to fix, not the CLI's: said
/// aloud and not failed on, so the CLI's own checks keep running against muelled.
fn known_muelled_gap(d: &Daemon, what: &str) -> bool {
    if d.name == "muelled" {
        println!("KNOWN GAP (muelled): {what}");
        return true;
    }
    false
}

fn json_lines(s: &str, drop: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            if let Some(m) = v.as_object_mut() {
                for k in drop {
                    m.remove(*k);
                }
            }
            v.to_string()
        })
        .collect();
    v.sort();
    v
}

against!(
    check_images,
    check_inspect,
    check_history,
    check_tag_rmi,
    check_save_load,
    check_import_prune,
    check_push_pull_needs_registry,
    check_login_logout_needs_registry,
    check_version_info,
    check_volumes
);

// ---- no daemon needed ----

#[test]
fn usage_errors_exit_as_docker() {
    // A flag docker cannot parse is 125; a command it does not know, or missing arguments,
    // are 1 (docker 20.10 and 28 alike).
    for (args, code) in [
        (&["images", "--bogus"][..], 125),
        (&["bogus"], 1),
        (&["rmi"], 1),
        (&["history", "-H=maybe", "x"], 125),
    ] {
        let out = run(Command::new(MUELLE).args(args));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(Command::new(MUELLE).arg("rmi"));
    assert_eq!(
        text(&out.stderr),
        "muelle: 'muelle rmi' requires at least 1 argument\n\nUsage:  muelle rmi [OPTIONS] IMAGE [IMAGE...]\n\nSee 'muelle rmi --help' for more information\n"
    );
    let out = run(Command::new(MUELLE).arg("--help"));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unreachable_daemon_is_one_line() {
    let out = run(Command::new(MUELLE).args(["-H", "unix:///nonexistent/muelle.sock", "images"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "muelle: cannot connect to the daemon at unix:///nonexistent/muelle.sock: "
        ),
        "{err}"
    );
    let out = run(Command::new(MUELLE).args(["-H", "tcp://127.0.0.1:2375", "images"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("only unix:// sockets are supported"));
}

// ---- autostart, in a private mount namespace so the real /run/muelle is never touched ----

const STUB: &str = r#"#!/usr/bin/python3
# A stand-in muelled: answers /_ping and /version on the default socket, exits within 60 s.
import http.server, os, socketserver, sys, threading
mode = os.environ.get("STUB_MODE", "serve")
if mode == "fail":
    print("stub: refusing to start", file=sys.stderr)
    sys.exit(3)
print("stub muelled sid", os.getsid(0), "pid", os.getpid(), flush=True)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"OK" if self.path == "/_ping" else b'{"Version":"stub","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","Components":[{"Name":"Engine","Version":"stub","Details":{"ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","Experimental":"false"}}]}'
        self.send_response(200)
        self.send_header("Api-Version", "1.45")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
os.makedirs("/run/muelle", exist_ok=True)
threading.Timer(60, os._exit, [0]).start()
S("/run/muelle/muelle.sock", H).serve_forever()
"#;

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// A bin dir with this muelle and `muelled` (the stub or the real one) beside it.
    fn new(muelled: Option<&Path>) -> Sandbox {
        muelle_test_support::proc::require_root();
        assert!(
            Path::new("/usr/bin/unshare").exists(),
            "autostart tests need unshare (util-linux)"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(MUELLE, dir.path().join("muelle")).unwrap();
        let target = dir.path().join("muelled");
        match muelled {
            Some(real) => {
                std::fs::copy(real, &target).unwrap();
            }
            None => {
                assert!(
                    Path::new("/usr/bin/python3").exists(),
                    "the stub daemon needs /usr/bin/python3"
                );
                std::fs::write(&target, STUB).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        Sandbox { dir }
    }

    /// Runs `muelle ARGS` with /run (and /var/lib/muelle) replaced by empty tmpfs mounts, in
    /// a network namespace of its own (the daemon it starts makes its bridge and firewall
    /// tables there, never on the host).
    fn muelle(&self, args: &str, env: &[(&str, &str)]) -> Output {
        let script = format!(
            "ip link set lo up && mount -t tmpfs tmpfs /run && mkdir -p /var/lib/muelle && mount -t tmpfs tmpfs /var/lib/muelle && exec {}/muelle {args}",
            self.dir.path().display()
        );
        let mut cmd = Command::new("/usr/bin/unshare");
        cmd.args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ]);
        cmd.env_remove("MUELLE_HOST")
            .env_remove("DOCKER_HOST")
            .env_remove("MUELLE_NO_AUTOSTART");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("unshare")
    }
}

/// Ends a daemon this test started (its pid is in muelle's "started" line).
fn stop_started(stderr: &str) -> Option<i32> {
    let pid: i32 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("muelle: started muelled (pid "))?
        .trim_end_matches(')')
        .parse()
        .ok()?;
    let _ = Command::new("kill").arg(pid.to_string()).status();
    Some(pid)
}

#[test]
fn autostart_with_a_stub_daemon() {
    let sb = Sandbox::new(None);
    let out = sb.muelle(
        "version --format '{{.Server.Version}} {{.Client.ApiVersion}}'",
        &[],
    );
    let err = text(&out.stderr);
    let pid = stop_started(&err);
    assert!(out.status.success(), "{err}");
    assert!(pid.is_some(), "no 'started' line: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The negotiated version is the stub's older one.
    assert_eq!(text(&out.stdout), "stub 1.45\n");

    for (args, env) in [
        ("--no-autostart images", &[][..]),
        ("images", &[("MUELLE_NO_AUTOSTART", "1")][..]),
        ("-H unix:///run/muelle/muelle.sock images", &[][..]),
    ] {
        let out = sb.muelle(args, env);
        let err = text(&out.stderr);
        stop_started(&err);
        assert_eq!(out.status.code(), Some(1), "{args}: {err}");
        assert!(
            err.starts_with(
                "muelle: cannot connect to the daemon at unix:///run/muelle/muelle.sock"
            ),
            "{args}: {err}"
        );
    }

    let out = sb.muelle("images", &[("STUB_MODE", "fail")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("exited (exit status: 3) before answering")
            && err.contains("/run/muelle/muelled.log"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn autostart_without_muelled_is_one_clear_line() {
    let sb = Sandbox::new(None);
    std::fs::remove_file(sb.dir.path().join("muelled")).unwrap();
    let out = sb.muelle("images", &[("PATH", "/usr/bin:/bin")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err,
        "muelle: cannot start the daemon: muelled is neither next to this executable nor in PATH\n"
    );
}

#[test]
fn autostart_the_real_muelled() {
    let sb = Sandbox::new(Some(&muelled_bin()));
    let out = sb.muelle("images --format json", &[]);
    let err = text(&out.stderr);
    let pid = stop_started(&err);
    assert!(out.status.success(), "{err}");
    assert!(pid.is_some(), "{err}");
    assert_eq!(text(&out.stdout), "", "a fresh muelled has no images");
}

/// Runs muelle on a pseudo-terminal (util-linux `script`), for the terminal-only rules.
fn on_terminal(args: &str) -> (Option<i32>, String) {
    assert!(
        Path::new("/usr/bin/script").exists(),
        "/usr/bin/script (util-linux) is not installed"
    );
    let out = run(Command::new("/usr/bin/script")
        .args([
            "-qec",
            &format!("{MUELLE} -H unix:///nonexistent.sock {args}"),
            "/dev/null",
        ])
        .stdin(Stdio::null()));
    (out.status.code(), text(&out.stdout))
}

#[test]
fn no_tar_to_or_from_a_terminal() {
    let (code, out) = on_terminal("save busybox");
    assert_eq!(code, Some(1));
    assert!(
        out.contains(
            "muelle: cowardly refusing to save to a terminal. Use the -o flag or redirect"
        ),
        "{out}"
    );
    let (code, out) = on_terminal("load");
    assert_eq!(code, Some(1));
    assert!(
        out.contains("muelle: requested load from stdin, but stdin is empty"),
        "{out}"
    );
}
