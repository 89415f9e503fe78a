//! The built `muelle` against real daemons: dockerd (from scripts/peers.sh) and a private
//! muelled (target/debug/muelled, on its own socket and data root). Each check runs muelle
//! and the docker CLI against the same daemon and compares what they print or what changed.
//! Only loopback: images come from the local busybox import, registries from 127.0.0.1.
//!
//! This file holds the daemons, the runners of the two CLIs, one `#[test]` per check and
//! daemon, and the checks that need no daemon (usage, autostart, terminals); the checks
//! against daemons live in one module per concept (images, archives, registry, system).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use muelle_test_support::registry as common;

mod archives;
mod images;
mod registry;
mod system;

use archives::{check_import_prune, check_save_load};
use images::{check_history, check_images, check_inspect, check_tag_rmi};
use registry::{check_login_logout_needs_registry, check_push_pull_needs_registry};
use system::check_version_info;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");
const DOCKER: &str = "/usr/bin/docker";
const DOCKERD_HOST: &str = "unix:///var/run/docker.sock";

struct Daemon {
    name: &'static str,
    host: String,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MUELLE_HOST")
        .env_remove("DOCKER_HOST")
        .env("MUELLE_NO_AUTOSTART", "1")
        .output()
        .expect("run")
}

fn muelle(d: &Daemon, args: &[&str]) -> Output {
    run(Command::new(MUELLE).arg("-H").arg(&d.host).args(args))
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    run(Command::new(DOCKER).arg("-H").arg(&d.host).args(args))
}

/// Runs and insists on success; returns stdout.
fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The same command through muelle and through /usr/bin/docker (Debian's 20.10 CLI, which
/// predates `--format json`: it gets the equivalent `{{json .}}`).
fn both(d: &Daemon, args: &[&str]) -> (String, String) {
    let m = ok(muelle(d, args), &format!("muelle {args:?}"));
    let mut old: Vec<&str> = args.to_vec();
    for i in 1..old.len() {
        if matches!(old[i - 1], "--format" | "-f") && old[i] == "json" {
            old[i] = "{{json .}}";
        }
    }
    let k = ok(docker(d, &old), &format!("docker {old:?}"));
    (m, k)
}

/// Removes a test's tag even when the test fails half-way.
struct Untag {
    host: String,
    name: String,
}

impl Untag {
    fn new(d: &Daemon, name: &str) -> Untag {
        Untag {
            host: d.host.clone(),
            name: name.to_owned(),
        }
    }
}

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = run(Command::new(DOCKER).args(["-H", &self.host, "rmi", &self.name]));
    }
}

/// Fails the test unless the docker CLI is there: a check that cannot run is never a pass
/// (scripts/test.sh leaves the `needs_docker` tests out on hosts without it).
fn require_docker_cli() {
    assert!(
        Path::new(DOCKER).exists(),
        "{DOCKER} is not installed (bash scripts/peers.sh up installs it)"
    );
}

/// The shared dockerd (scripts/peers.sh up), with its busybox:latest. Other tests use it at
/// the same time: checks against it compare only what this test owns.
fn dockerd() -> Daemon {
    require_docker_cli();
    let d = Daemon {
        name: "dockerd",
        host: DOCKERD_HOST.to_owned(),
        child: None,
        _dir: None,
    };
    let v = docker(&d, &["version"]);
    assert!(
        v.status.success(),
        "dockerd does not answer on {DOCKERD_HOST} (run: bash scripts/peers.sh up): {}",
        text(&v.stderr)
    );
    assert!(
        docker(&d, &["image", "inspect", "busybox:latest"])
            .status
            .success(),
        "dockerd has no busybox:latest (run: bash scripts/peers.sh up)"
    );
    d
}

/// Whether other tests use this daemon at the same time (the shared dockerd): what it holds
/// may change between two calls.
fn shared(d: &Daemon) -> bool {
    d.child.is_none()
}

/// target/debug/muelled beside the muelle under test.
fn muelled_bin() -> PathBuf {
    let p = Path::new(MUELLE)
        .parent()
        .expect("muelle has a directory")
        .join("muelled");
    assert!(
        p.exists(),
        "no muelled next to {MUELLE} (cargo build -p muelle-api)"
    );
    p
}

/// A private muelled on a temporary socket and data root, seeded with busybox:latest.
fn muelled() -> Daemon {
    require_docker_cli();
    let bin = muelled_bin();
    assert!(rustix_is_root(), "muelled needs root");
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("muelle.sock");
    let log = std::fs::File::create(dir.path().join("muelled.log")).unwrap();
    let child = Command::new(bin)
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start muelled");
    let d = Daemon {
        name: "muelled",
        host: format!("unix://{}", sock.display()),
        child: Some(child),
        _dir: Some(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !muelle(&d, &["version"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "muelled did not answer on {}",
            d.host
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    seed_busybox(&d);
    d
}

fn rustix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// busybox:latest into a fresh muelled: docker's own archive of it if dockerd has one (which
/// also checks that muelled loads docker-save tars), else the rootfs peers.sh builds.
fn seed_busybox(d: &Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("busybox.tar");
    let from_docker = run(Command::new(DOCKER)
        .args(["-H", DOCKERD_HOST, "save", "-o"])
        .arg(&tar)
        .arg("busybox:latest"))
    .status
    .success();
    if from_docker {
        ok(
            muelle(d, &["load", "-q", "-i", tar.to_str().unwrap()]),
            "seed load",
        );
        return;
    }
    // No dockerd (or no busybox in it): the same rootfs peers.sh imports into dockerd.
    let tar = busybox_rootfs_tar(dir.path());
    ok(
        muelle(
            d,
            &[
                "import",
                "-c",
                "CMD [\"/bin/sh\"]",
                tar.to_str().unwrap(),
                "busybox:latest",
            ],
        ),
        "seed import",
    );
}

/// `DIR/busybox-rootfs.tar`: the root filesystem of scripts/busybox-rootfs.sh (what peers.sh
/// imports into dockerd as busybox:latest), tarred.
fn busybox_rootfs_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/busybox-rootfs.sh");
    ok(
        run(Command::new("bash").arg(script).arg(&rootfs)),
        "scripts/busybox-rootfs.sh",
    );
    let tar = dir.join("busybox-rootfs.tar");
    ok(
        run(Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")),
        "tar rootfs",
    );
    tar
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

/// Unique names, so tests running at once (and the other daemon's tests) never collide.
fn unique(kind: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "muelletest/{kind}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
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

/// One `#[test]` per check and daemon, under the host kind the daemon needs:
/// `needs_dockerd::dockerd::check_images`, `needs_docker::muelled::check_images` (the docker
/// CLI is the other side of every comparison). scripts/test.sh selects tests by these names.
macro_rules! against {
    ($kind:ident, $daemon:ident: $($check:ident),* $(,)?) => {
        mod $kind {
            mod $daemon {
                $(
                    #[test]
                    fn $check() {
                        crate::$check(&crate::$daemon());
                    }
                )*
            }
        }
    };
}

against!(
    needs_dockerd,
    dockerd: check_images,
    check_inspect,
    check_history,
    check_tag_rmi,
    check_save_load,
    check_import_prune,
    check_push_pull_needs_registry,
    check_login_logout_needs_registry,
    check_version_info
);
against!(
    needs_docker,
    muelled: check_images,
    check_inspect,
    check_history,
    check_tag_rmi,
    check_save_load,
    check_import_prune,
    check_push_pull_needs_registry,
    check_login_logout_needs_registry,
    check_version_info
);

// ---- no daemon needed ----

#[test]
fn usage_errors_exit_125() {
    for args in [
        &["images", "--bogus"][..],
        &["bogus"],
        &["rmi"],
        &["history", "-H=maybe", "x"],
    ] {
        let out = run(Command::new(MUELLE).args(args));
        assert_eq!(
            out.status.code(),
            Some(125),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
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
        assert!(
            rustix_is_root() && Path::new("/usr/bin/unshare").exists(),
            "autostart tests need root and unshare (util-linux)"
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

    /// Runs `muelle ARGS` with /run (and /var/lib/muelle) replaced by empty tmpfs mounts.
    fn muelle(&self, args: &str, env: &[(&str, &str)]) -> Output {
        let script = format!(
            "mount -t tmpfs tmpfs /run && mkdir -p /var/lib/muelle && mount -t tmpfs tmpfs /var/lib/muelle && exec {}/muelle {args}",
            self.dir.path().display()
        );
        let mut cmd = Command::new("/usr/bin/unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
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
