//! The harness both CLI test binaries (`cli` and `containers`) share: the daemons (the
//! shared dockerd of scripts/peers.sh, or a private muelled on its own socket, data root and
//! exec root, stopped and checked for leftover mounts and supervisors), the runners of the
//! built `muelle` and of /usr/bin/docker against one of them, names unique to a test, and
//! the `against!` macro that makes one `#[test]` per check and daemon. Each binary includes
//! it with `#[path = "../common/mod.rs"] mod common;`; what other crates' tests could use too
//! lives in muelle-test-support.

// Each binary uses only part of the harness.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use muelle_test_support::{fixtures, host, netns, proc};

pub const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");
pub const DOCKER: &str = "/usr/bin/docker";
pub const DOCKERD_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon a test talks to. For a private muelled: the process and its directories (the
/// exec root under /run with a short name, as the socket and the shims' sockets live there
/// and unix socket paths end at 107 bytes), and the network namespace it runs in (its own,
/// so its bridges, nft tables and published ports never meet another test's nor the host's;
/// see muelle_test_support::netns). The shared dockerd's "host" is the test's own namespace.
pub struct Daemon {
    pub name: &'static str,
    pub host: String,
    child: Option<Child>,
    data: Option<tempfile::TempDir>,
    exec: Option<tempfile::TempDir>,
    /// Declared last: deleted after the daemon stopped (Drop).
    netns: Option<netns::NamedNetns>,
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs a command to its end with neither CLI's environment (no host, no autostart).
pub fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MUELLE_HOST")
        .env_remove("DOCKER_HOST")
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

pub fn muelle(d: &Daemon, args: &[&str]) -> Output {
    run(Command::new(MUELLE).arg("-H").arg(&d.host).args(args))
}

pub fn docker(d: &Daemon, args: &[&str]) -> Output {
    docker_at(&d.host, args)
}

pub fn docker_at(host: &str, args: &[&str]) -> Output {
    run(Command::new(DOCKER).arg("-H").arg(host).args(args))
}

/// Insists on success; returns stdout.
pub fn ok(out: Output, what: &str) -> String {
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
pub fn both(d: &Daemon, args: &[&str]) -> (Output, Output) {
    let m = muelle(d, args);
    let mut old: Vec<&str> = args.to_vec();
    for i in 1..old.len() {
        if matches!(old[i - 1], "--format" | "-f") && old[i] == "json" {
            old[i] = "{{json .}}";
        }
    }
    (m, docker(d, &old))
}

/// [`both`], each insisting on success; their stdouts.
pub fn both_ok(d: &Daemon, args: &[&str]) -> (String, String) {
    let (m, k) = both(d, args);
    (
        ok(m, &format!("muelle {args:?}")),
        ok(k, &format!("docker {args:?}")),
    )
}

/// Fails the test unless the docker CLI is there: a check that cannot run is never a pass
/// (scripts/test.sh leaves the `needs_docker` tests out on hosts without it).
pub fn require_docker_cli() {
    assert!(
        Path::new(DOCKER).exists(),
        "{DOCKER} is not installed (bash scripts/peers.sh up installs it)"
    );
}

/// The shared dockerd (scripts/peers.sh up), with its busybox:latest. Other tests use it at
/// the same time: checks against it compare only what this test owns.
pub fn dockerd() -> Daemon {
    require_docker_cli();
    let v = docker_at(DOCKERD_HOST, &["version"]);
    assert!(
        v.status.success(),
        "dockerd does not answer on {DOCKERD_HOST} (run: bash scripts/peers.sh up): {}",
        text(&v.stderr)
    );
    let out = docker_at(DOCKERD_HOST, &["image", "inspect", "busybox:latest"]);
    assert!(
        out.status.success(),
        "dockerd has no busybox:latest (run: bash scripts/peers.sh up): {}",
        text(&out.stderr)
    );
    Daemon {
        name: "dockerd",
        host: DOCKERD_HOST.to_owned(),
        child: None,
        data: None,
        exec: None,
        netns: None,
    }
}

/// Whether other tests use this daemon at the same time (the shared dockerd): what it holds
/// may change between two calls.
pub fn shared(d: &Daemon) -> bool {
    d.child.is_none()
}

/// muelled from the same build as this muelle, else the workspace's target/debug (the CLI
/// may be built in its own target directory); `MUELLED` overrides both.
pub fn muelled_bin() -> PathBuf {
    let found = if let Some(p) = std::env::var_os("MUELLED") {
        Some(PathBuf::from(p))
    } else {
        let beside = Path::new(MUELLE).parent().map(|p| p.join("muelled"));
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/muelled");
        beside
            .filter(|p| p.exists())
            .or_else(|| shared.exists().then_some(shared))
    };
    found.expect("no muelled (cargo build -p muelle-api -p muelle-supervisor)")
}

/// Where a private muelled's busybox:latest comes from.
#[derive(Clone, Copy)]
pub enum Seed {
    /// Docker's own archive of it (which also checks that muelled loads docker-save tars)
    /// if the shared dockerd has one, else the rootfs peers.sh imports into dockerd.
    FromDockerd,
    /// scripts/busybox-image.sh's OCI layout, built once and loaded.
    OciTar,
}

/// A private muelled seeded with busybox:latest.
pub fn start_muelled(seed: Seed) -> Daemon {
    require_docker_cli();
    let bin = muelled_bin();
    proc::require_root();
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
    let ns = netns::NamedNetns::create();
    // nsenter execs muelled: the child's pid is the daemon's.
    let child = ns
        .command(bin)
        .env("MUELLE_INIT", muelle_test_support::static_init())
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
        netns: Some(ns),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !muelle(&d, &["version"]).status.success() {
        if let Some(Ok(Some(st))) = d.child.as_mut().map(Child::try_wait) {
            panic!("muelled exited early ({st}):\n{}", d.log());
        }
        assert!(Instant::now() < deadline, "muelled did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    seed_busybox(&d, seed);
    ok(
        docker(&d, &["image", "inspect", "busybox:latest"]),
        "busybox loaded",
    );
    d
}

fn seed_busybox(d: &Daemon, seed: Seed) {
    if let Seed::OciTar = seed {
        let tar = fixtures::busybox_oci_tar(Path::new(env!("CARGO_TARGET_TMPDIR")));
        ok(
            muelle(d, &["load", "-q", "-i", tar.to_str().unwrap()]),
            "muelle load busybox",
        );
        return;
    }
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
pub fn busybox_rootfs_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    let script = muelle_test_support::workspace().join("scripts/busybox-rootfs.sh");
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

impl Daemon {
    /// `program` run in the daemon's "host" network namespace: its own for a private
    /// muelled, the test's for the shared dockerd.
    pub fn in_netns(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match &self.netns {
            Some(ns) => ns.command(program),
            None => Command::new(program),
        }
    }

    /// What `readlink /proc/self/ns/net` prints in that namespace (and so in a
    /// `--network host` container of this daemon).
    pub fn netns_link(&self) -> String {
        let out = self
            .in_netns("readlink")
            .arg("/proc/self/ns/net")
            .output()
            .expect("readlink");
        text(&out.stdout).trim().to_owned()
    }

    /// Makes 127.0.0.1:`port` of the test's namespace (a registry it started) answer at the
    /// same address in the daemon's, while the value lives (nothing to do for dockerd).
    pub fn reach_host_port(&self, port: u16) -> Option<netns::HostPortBridge> {
        self.netns
            .as_ref()
            .map(|ns| netns::HostPortBridge::new(&ns.path, port))
    }

    pub fn log(&self) -> String {
        self.data
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("muelled.log")).ok())
            .unwrap_or_default()
    }

    /// Mount points under the private directories and supervisors of them that outlived
    /// the daemon.
    fn leftovers(&self) -> (Vec<String>, Vec<u32>) {
        let roots: Vec<String> = [&self.data, &self.exec]
            .into_iter()
            .flatten()
            .map(|t| t.path().display().to_string())
            .collect();
        let mounts = roots.iter().flat_map(|r| host::mounts_under(r)).collect();
        let mut shims: Vec<u32> = roots
            .iter()
            .flat_map(|r| host::processes_with("muelle-shim", r))
            .collect();
        shims.sort_unstable();
        shims.dedup();
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

/// `muelletest/KIND-…`: an image name unique to this process and call, so tests running at
/// once (and the other daemon's tests) never collide.
pub fn unique(kind: &str) -> String {
    format!("muelletest/{kind}-{}", proc::unique())
}

/// Removes an image tag on drop, also when the test fails half-way.
pub struct Untag {
    host: String,
    pub name: String,
}

impl Untag {
    pub fn new(d: &Daemon, name: &str) -> Untag {
        Untag {
            host: d.host.clone(),
            name: name.to_owned(),
        }
    }
}

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker_at(&self.host, &["rmi", "-f", &self.name]);
    }
}

/// One `#[test]` per check and daemon, under the host kind the daemon needs:
/// `needs_dockerd::dockerd::CHECK` and `needs_docker::muelled::CHECK` (the docker CLI is the
/// other side of every comparison), calling `crate::CHECK` with `crate::dockerd()` or
/// `crate::muelled()`. scripts/host-kinds.sh selects tests by these names.
macro_rules! against {
    ($($check:ident),* $(,)?) => {
        mod needs_dockerd {
            mod dockerd {
                $(
                    #[test]
                    fn $check() {
                        crate::$check(&crate::dockerd());
                    }
                )*
            }
        }
        mod needs_docker {
            mod muelled {
                $(
                    #[test]
                    fn $check() {
                        crate::$check(&crate::muelled());
                    }
                )*
            }
        }
    };
}
pub(crate) use against;
