//! The container commands of the built `muelle` side by side with /usr/bin/docker (the 20.10
//! CLI) against the same daemon: dockerd (scripts/peers.sh up) and a private muelled
//! (target/debug/muelled with muelle-shim beside it, on its own socket, data root and exec
//! root, seeded with busybox by `muelle load` of scripts/busybox-image.sh's OCI tar). Same
//! output, same exit status. Every container runs with `--network none`, has a name unique
//! to the test, and is removed when the test ends, failed or not; the private muelled is
//! stopped and checked for leftover mounts and supervisors.
//!
//! This file holds the daemons, the runners of the two CLIs and one `#[test]` per check and
//! daemon; the checks live in one module per concept (run, ps, lifecycle, exec, cp …).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod changes;
mod cp;
mod exec;
mod inspect;
mod lifecycle;
mod observe;
mod ps;
mod run;
mod system;

use changes::diff_export_commit;
use cp::cp_both_ways;
use exec::{exec_detach_keys_from_config, exec_in_a_running_container, interactive_tty};
use inspect::inspect_containers;
use lifecycle::lifecycle_verbs;
use observe::events_top_port;
use ps::ps_formats;
use run::{detached_logs_and_wait, run_output_and_exit_codes, start_attach_and_run_rm};
use system::system_df_and_prune_report;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");
const DOCKER: &str = "/usr/bin/docker";
const DOCKERD_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon a test talks to. For a private muelled: the process and its directories (the
/// exec root under /run with a short name, as the socket and the shims' sockets live there
/// and unix socket paths end at 107 bytes).
struct Daemon {
    name: &'static str,
    host: String,
    child: Option<Child>,
    data: Option<tempfile::TempDir>,
    exec: Option<tempfile::TempDir>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MUELLE_HOST")
        .env_remove("DOCKER_HOST")
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

fn muelle(d: &Daemon, args: &[&str]) -> Output {
    run(Command::new(MUELLE).arg("-H").arg(&d.host).args(args))
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    docker_at(&d.host, args)
}

fn docker_at(host: &str, args: &[&str]) -> Output {
    run(Command::new(DOCKER).arg("-H").arg(host).args(args))
}

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

/// The same command through both CLIs (`--format json` becomes `{{json .}}` for 20.10).
fn both(d: &Daemon, args: &[&str]) -> (Output, Output) {
    let m = muelle(d, args);
    let mut old: Vec<&str> = args.to_vec();
    for i in 1..old.len() {
        if matches!(old[i - 1], "--format" | "-f") && old[i] == "json" {
            old[i] = "{{json .}}";
        }
    }
    (m, docker(d, &old))
}

fn both_ok(d: &Daemon, args: &[&str]) -> (String, String) {
    let (m, k) = both(d, args);
    (
        ok(m, &format!("muelle {args:?}")),
        ok(k, &format!("docker {args:?}")),
    )
}

/// Fails the test unless the docker CLI is there: a check that cannot run is never a pass
/// (scripts/test.sh leaves the `needs_docker` tests out on hosts without it).
fn require_docker_cli() {
    assert!(
        Path::new(DOCKER).exists(),
        "{DOCKER} is not installed (bash scripts/peers.sh up installs it)"
    );
}

/// The shared dockerd with busybox (scripts/peers.sh up). Other tests use it at the same
/// time: checks against it compare only what this test owns.
fn dockerd() -> Daemon {
    require_docker_cli();
    let out = docker_at(DOCKERD_HOST, &["image", "inspect", "busybox:latest"]);
    assert!(
        out.status.success(),
        "dockerd or its busybox:latest is missing (bash scripts/peers.sh up): {}",
        text(&out.stderr)
    );
    Daemon {
        name: "dockerd",
        host: DOCKERD_HOST.to_owned(),
        child: None,
        data: None,
        exec: None,
    }
}

/// Whether other tests use this daemon at the same time (the shared dockerd).
fn shared(d: &Daemon) -> bool {
    d.child.is_none()
}

/// muelled from the same build as this muelle, else the workspace's target/debug (the CLI
/// may be built in its own target directory); `MUELLED` overrides both.
fn muelled_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MUELLED") {
        return Some(PathBuf::from(p));
    }
    let beside = Path::new(MUELLE).parent()?.join("muelled");
    if beside.exists() {
        return Some(beside);
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/muelled");
    shared.exists().then_some(shared)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The busybox image as an OCI-archive tar (scripts/busybox-image.sh's layout, tarred), built
/// once into Cargo's scratch directory and reused (the script is reproducible).
fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        assert!(
            Path::new("/bin/busybox").exists(),
            "busybox-static is not installed (bash scripts/setup.sh installs it)"
        );
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = scratch.join("muelle-cli-busybox");
        let tar = dir.join("busybox-oci.tar");
        if tar.exists() {
            return tar;
        }
        // Built in a private directory renamed into place: concurrent test processes never
        // see a half-written tar.
        let work = scratch.join(format!("muelle-cli-busybox.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/busybox-image.sh");
        ok(
            run(Command::new("bash").arg(script).arg(work.join("layout"))),
            "scripts/busybox-image.sh",
        );
        ok(
            run(Command::new("tar")
                .arg("-C")
                .arg(work.join("layout"))
                .arg("-cf")
                .arg(work.join("busybox-oci.tar"))
                .arg(".")),
            "tar the layout",
        );
        if std::fs::rename(&work, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&work);
        }
        assert!(tar.exists());
        tar
    })
    .clone()
}

/// A private muelled seeded with busybox:latest.
fn muelled() -> Daemon {
    require_docker_cli();
    let bin = muelled_bin().expect("no muelled (cargo build -p muelle-api -p muelle-supervisor)");
    assert!(is_root(), "muelled needs root");
    let tar = busybox_tar();
    let data = tempfile::Builder::new()
        .prefix("muelle-ct-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let exec = tempfile::Builder::new()
        .prefix("mct-")
        .tempdir_in("/run")
        .unwrap();
    let config = data.path().join("daemon.json");
    std::fs::write(&config, "{}").unwrap();
    let log = std::fs::File::create(data.path().join("muelled.log")).unwrap();
    let host = format!("unix://{}", exec.path().join("m.sock").display());
    let child = Command::new(bin)
        .arg("-H")
        .arg(&host)
        .arg("--data-root")
        .arg(data.path().join("root"))
        .arg("--exec-root")
        .arg(exec.path())
        .arg("--config-file")
        .arg(&config)
        .args(["--log-level", "debug"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start muelled");
    let mut d = Daemon {
        name: "muelled",
        host,
        child: Some(child),
        data: Some(data),
        exec: Some(exec),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !muelle(&d, &["version"]).status.success() {
        if let Some(Ok(Some(st))) = d.child.as_mut().map(Child::try_wait) {
            panic!("muelled exited early ({st}):\n{}", d.log());
        }
        assert!(Instant::now() < deadline, "muelled did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(
        muelle(&d, &["load", "-q", "-i", tar.to_str().unwrap()]),
        "muelle load busybox",
    );
    ok(
        docker(&d, &["image", "inspect", "busybox:latest"]),
        "busybox loaded",
    );
    d
}

impl Daemon {
    fn log(&self) -> String {
        self.data
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("muelled.log")).ok())
            .unwrap_or_default()
    }

    /// Mount points under the private directories and supervisors of the exec root that
    /// outlived the daemon.
    fn leftovers(&self) -> (Vec<String>, Vec<u32>) {
        let roots: Vec<String> = [&self.data, &self.exec]
            .into_iter()
            .flatten()
            .map(|t| t.path().display().to_string())
            .collect();
        let under = |p: &str| roots.iter().any(|r| p.starts_with(r.as_str()));
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| under(p))
            .map(str::to_owned)
            .collect();
        let mut shims = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmd.split(|b| *b == 0).map(text).collect();
            if args.first().is_some_and(|a| a.ends_with("muelle-shim"))
                && args.iter().any(|a| under(a))
            {
                shims.push(pid);
            }
        }
        (mounts, shims)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- {} log (last lines) ---", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        // Containers outlive muelled (their supervisors are their own sessions): remove
        // whatever a test left, then stop the daemon as a service manager would.
        let ids = text(&docker(self, &["ps", "-aq", "--no-trunc"]).stdout);
        for id in ids.split_whitespace() {
            let _ = docker(self, &["rm", "-f", id]);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        // Anything left is a leak: cleaned up here (by pid and path only), and a failure.
        let (mounts, shims) = self.leftovers();
        for pid in &shims {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        for m in mounts.iter().rev() {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        if !std::thread::panicking() {
            assert!(
                mounts.is_empty() && shims.is_empty(),
                "muelled left mounts {mounts:?} and supervisors {shims:?}"
            );
        }
    }
}

/// Names unique to this process and test; every one is `rm -f`'d on drop.
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
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = format!(
            "muelletest-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
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

/// Removes an image tag on drop.
struct Untag {
    host: String,
    image: String,
}

impl Untag {
    fn new(d: &Daemon, image: &str) -> Untag {
        Untag {
            host: d.host.clone(),
            image: image.to_owned(),
        }
    }
}

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker_at(&self.host, &["rmi", "-f", &self.image]);
    }
}

/// One `#[test]` per check and daemon, under the host kind the daemon needs:
/// `needs_dockerd::dockerd::ps_formats`, `needs_docker::muelled::ps_formats` (the docker CLI
/// is the other side of every comparison). scripts/test.sh selects tests by these names.
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
    dockerd: run_output_and_exit_codes,
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
    system_df_and_prune_report,
);

against!(
    needs_docker,
    muelled: run_output_and_exit_codes,
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
    system_df_and_prune_report,
);

const NONET: &str = "--network=none";
