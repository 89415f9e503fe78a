//! Fixtures for the daemon tests: a real `muelled` on a temporary socket and data root, in a
//! network namespace of its own (muelle_test_support::netns), the stock docker CLI pointed at
//! it, a raw HTTP client for status codes and headers, the
//! busybox image as an OCI-archive tar, and a docker-registry with htpasswd auth.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use muelle_test_support::{host::mounts_under, proc::now_secs, registry as common};

pub mod both;

pub const DOCKER: &str = "/usr/bin/docker";

/// Fails the calling test, naming what is missing, unless every path exists. A test that
/// cannot run must never pass: scripts/test.sh leaves out the tests whose name says
/// `needs_<kind>` when the host lacks that kind, and nextest reports those as skipped.
#[macro_export]
macro_rules! require {
    ($($path:expr),+) => {
        $(
            assert!(
                std::path::Path::new($path).exists(),
                "{} is not installed (bash scripts/peers.sh install installs the test peers)",
                $path
            );
        )+
    };
}

/// A running muelled, stopped with SIGTERM (then SIGKILL) on drop, its directories removed.
///
/// It runs in a named network namespace of its own, kept across `restart`/`kill9`+`respawn`
/// (as a daemon restarting on one host finds its bridges, veths and containers where they
/// were) and deleted on drop: its bridges, nft tables and published ports are invisible to
/// the host and to other tests. "The host" of this daemon is that namespace: reach its
/// published ports with [`Daemon::in_netns`]; let it reach a server the test started on the
/// real host's loopback (a registry) with [`Daemon::reach_host_port`].
pub struct Daemon {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub docker_config: PathBuf,
    /// Extra environment of the daemon process (kept across restarts).
    env: Vec<(String, String)>,
    /// Declared last: deleted after the daemon stopped (Drop) and its directories went.
    netns: muelle_test_support::netns::NamedNetns,
}

pub fn muelled() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_muelled"));
    c.env("MUELLE_INIT", muelle_test_support::static_init());
    c
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Daemon {
        Self::start_on(None, extra, &[])
    }

    /// A daemon with extra environment variables (e.g. `MUELLE_SHIM`).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Self::start_on(None, extra, env)
    }

    /// A daemon whose data root is `data_root` (a small filesystem the test mounted, say)
    /// instead of a directory of its own.
    pub fn start_on(data_root: Option<PathBuf>, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Self::try_start_on(data_root, extra, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Daemon::start_with`], but a muelled that exits before it listens (a TCP port
    /// another process took meanwhile) is an error the caller can retry, with the log.
    pub fn try_start_with(extra: &[&str]) -> Result<Daemon, String> {
        Self::try_start_on(None, extra, &[])
    }

    fn try_start_on(
        data_root: Option<PathBuf>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Daemon, String> {
        let dir = tempfile::Builder::new()
            .prefix("muelled-test-")
            .tempdir_in("/var/tmp")
            .expect("tempdir");
        let socket = dir.path().join("run/muelle.sock");
        let data_root = data_root.unwrap_or_else(|| dir.path().join("data"));
        let exec_root = dir.path().join("run");
        let docker_config = dir.path().join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        let mut d = Daemon {
            child: None,
            socket,
            data_root,
            exec_root,
            docker_config,
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            netns: muelle_test_support::netns::NamedNetns::create(),
        };
        d.try_spawn(extra)?;
        Ok(d)
    }

    fn spawn(&mut self, extra: &[&str]) {
        self.try_spawn(extra).unwrap_or_else(|e| panic!("{e}"));
    }

    fn try_spawn(&mut self, extra: &[&str]) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("muelled.log"))
            .unwrap();
        // Our own (empty) config file, so a host's /etc/muelle/daemon.json changes nothing.
        let config = self.dir.path().join("daemon.json");
        if !config.exists() {
            std::fs::write(&config, "{}").unwrap();
        }
        // nsenter execs muelled: the child's pid is the daemon's.
        let mut cmd = self.netns.command(env!("CARGO_BIN_EXE_muelled"));
        cmd.env("MUELLE_INIT", muelle_test_support::static_init());
        let child = cmd
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--config-file")
            .arg(&config)
            .args(["--log-level", "debug"])
            .args(extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start muelled");
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("muelled exited early ({status}):\n{}", self.log()));
                }
            }
            assert!(
                Instant::now() < deadline,
                "muelled did not listen:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("muelled.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The daemon's network namespace (a file under /run/netns; the same one after a
    /// restart or respawn).
    pub fn netns(&self) -> &Path {
        &self.netns.path
    }

    /// `program` run inside the daemon's network namespace: how a test reaches what the
    /// daemon publishes "on the host" (`-p 127.0.0.1:P:80`), or lists its links and rules.
    pub fn in_netns(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.netns.command(program)
    }

    /// Makes 127.0.0.1:`port` of the test's namespace (a registry the test started) answer
    /// at 127.0.0.1:`port` inside the daemon's, while the returned value lives.
    pub fn reach_host_port(&self, port: u16) -> muelle_test_support::netns::HostPortBridge {
        muelle_test_support::netns::HostPortBridge::new(self.netns(), port)
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
    }

    pub fn restart(&mut self) {
        assert!(self.stop(), "muelled did not stop cleanly:\n{}", self.log());
        self.spawn(&[]);
    }

    /// SIGKILL, as a crash: nothing is cleaned up, the supervisors and their containers
    /// stay. `respawn` starts muelled again on the same roots.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts muelled again (after `kill9` or `stop`) on the same socket and roots.
    pub fn respawn(&mut self) {
        assert!(self.child.is_none(), "muelled is still running");
        self.spawn(&[]);
    }

    pub fn docker_command(&self) -> Command {
        let mut c = Command::new(DOCKER);
        c.env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", &self.docker_config)
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT");
        c
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_command()
            .args(args)
            .output()
            .expect("run docker")
    }

    /// Runs docker and fails the test (with both outputs and the daemon log) unless it
    /// succeeds; returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed:\nstdout: {}\nstderr: {}\nmuelled log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs docker expecting failure; returns stderr.
    pub fn docker_err(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "docker {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn docker_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .docker_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docker");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn http(&self, method: &str, path: &str, body: &[u8]) -> Response {
        self.http_with(method, path, &[], body)
    }

    pub fn http_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http(&self.socket, method, path, headers, body)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `message` of a Docker error body.
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.text()))
            .to_string()
    }
}

/// One HTTP/1.1 request on a unix socket (`Connection: close`), chunked bodies decoded.
pub fn http(
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut s = UnixStream::connect(socket).expect("connect to muelled");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: muelle\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// The busybox image as an OCI-archive tar (scripts/busybox-image.sh's layout, tarred),
/// built once per test binary.
pub fn busybox_tar() -> PathBuf {
    muelle_test_support::fixtures::busybox_oci_tar(Path::new(env!("CARGO_TARGET_TMPDIR")))
}

/// The gzip tar of the busybox image's single layer (a root filesystem), for import tests.
pub fn busybox_layer(tar: &Path) -> PathBuf {
    let layout = tar.parent().unwrap().join("layout");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(manifest_digest)).unwrap()).unwrap();
    blob(manifest["layers"][0]["digest"].as_str().unwrap())
}

/// Fails the test unless python3 can import docker-py (Debian's python3-docker).
pub fn require_docker_py() {
    require!("/usr/bin/python3");
    let probe = Command::new("/usr/bin/python3")
        .args(["-c", "import docker"])
        .output()
        .expect("run python3");
    assert!(
        probe.status.success(),
        "python3 cannot import docker: python3-docker is not installed \
         (bash scripts/peers.sh install): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
}

/// The `muelle-shim` that muelled finds beside itself (target/debug). `cargo nextest run
/// --workspace` builds it; with `-p muelle-api` alone it is built here when missing.
pub fn shim_binary() -> PathBuf {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let bin = Path::new(env!("CARGO_BIN_EXE_muelled"))
            .parent()
            .expect("muelled has a directory")
            .join("muelle-shim");
        if bin.exists() {
            return bin;
        }
        let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut child = Command::new(env!("CARGO"))
            .args(["build", "-p", "muelle-supervisor", "--bin", "muelle-shim"])
            .current_dir(top)
            .spawn()
            .expect("run cargo build -p muelle-supervisor");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                assert!(
                    status.success() && bin.exists(),
                    "cargo build -p muelle-supervisor failed ({status})"
                );
                return bin;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cargo build -p muelle-supervisor took more than 600 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .clone()
}

// Container fixtures (the containers/ and container_fs tests).

/// A daemon with busybox loaded from the local tar (through the docker CLI).
pub fn daemon_with_busybox() -> Daemon {
    require!(DOCKER);
    let tar = busybox_tar();
    shim_binary();
    let d = Daemon::start();
    let out = d.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "docker load: {out:?}\n{}", d.log());
    d
}

/// Whether the daemon answers on its socket (it may be down: a crash test failing between
/// kill9 and respawn).
pub fn is_up(d: &Daemon) -> bool {
    UnixStream::connect(&d.socket).is_ok()
}

/// Force-removes every container the daemon knows.
pub fn remove_all_containers(d: &Daemon) {
    let r = d.http("GET", "/containers/json?all=1", b"");
    if r.status == 200 {
        for c in r.json().as_array().cloned().unwrap_or_default() {
            let id = c["Id"].as_str().unwrap_or_default();
            let _ = d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
        }
    }
}

/// Whatever is still there after the daemon's own cleanup (a daemon bug, or no daemon):
/// supervisors under its directory are killed first, so their containers' processes die with
/// the cgroups; then the mounts under it are detached, innermost first.
pub fn kill_shims_and_unmount(d: &Daemon) {
    let root = d.dir.path().to_string_lossy().into_owned();
    for pid in shims_under(&root) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    for m in mounts_under(&root).into_iter().rev() {
        let _ = Command::new("umount").args(["-l", &m]).status();
    }
}

/// Pids of muelle-shim processes whose command line mentions `needle`.
pub fn shims_under(needle: &str) -> Vec<u32> {
    muelle_test_support::host::processes_with("muelle-shim", needle)
}
