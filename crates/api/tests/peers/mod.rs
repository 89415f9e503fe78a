//! Fixtures for the tests that compare muelled with the shared dockerd (parity.rs,
//! swarm.rs): a private muelled with busybox, the shared dockerd and the containers a test
//! made there, docker-py scripts with a time limit. A missing peer (the docker CLI,
//! python3-docker, dockerd) skips the test or its dockerd half, and fails it when `CI` is
//! set.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    self, daemon_with_busybox, is_up, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER,
};

pub const PYTHON: &str = "/usr/bin/python3";
pub const DOCKERD_SOCKET: &str = "/var/run/docker.sock";

/// Whether a peer is there: a test that needs a missing one fails, naming it. Tests say
/// what they need in their names (`..._needs_<kinds>`), so scripts/test.sh leaves them out,
/// reported as skipped, on a host without it.
pub fn peer(present: bool, what: &str) -> bool {
    assert!(present, "{what} is missing (scripts/peers.sh up)");
    present
}

pub fn have_docker_py() -> bool {
    peer(
        Command::new(PYTHON)
            .args(["-c", "import docker"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "python3-docker",
    )
}

/// A muelled with busybox; on drop everything it ran is removed.
pub struct Env {
    pub d: Daemon,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

pub fn env() -> Option<Env> {
    if !peer(Path::new(DOCKER).exists(), DOCKER) {
        return None;
    }
    Some(Env {
        d: daemon_with_busybox(),
    })
}

/// The shared dockerd with its busybox, if it is up.
pub fn dockerd() -> Option<Dockerd> {
    let up = Path::new(DOCKER).exists()
        && dockerd_cmd(&["image", "inspect", "busybox:latest"])
            .status
            .success();
    peer(up, "dockerd with busybox:latest").then(|| Dockerd { names: Vec::new() })
}

pub fn dockerd_cmd(args: &[&str]) -> Output {
    Command::new(DOCKER)
        .arg("-H")
        .arg(format!("unix://{DOCKERD_SOCKET}"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// The containers this test made on the shared dockerd, force-removed on drop.
pub struct Dockerd {
    pub names: Vec<String>,
}

impl Dockerd {
    /// A container name unique to this process and purpose.
    pub fn name(&mut self, what: &str) -> String {
        let n = format!("muelletest-parity-{what}-{}", std::process::id());
        self.names.push(n.clone());
        n
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        dockerd_cmd(args)
    }

    pub fn http(&self, method: &str, path: &str, body: &[u8]) -> support::Response {
        support::http(Path::new(DOCKERD_SOCKET), method, path, &[], body)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = dockerd_cmd(&["rm", "-f", n]);
        }
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Runs a docker-py script with `unix://SOCKET` and `args` as its arguments; a script that
/// hangs is killed after a minute (a hang is one of the bugs here).
pub fn python(script: &str, socket: &str, args: &[&str]) -> Output {
    let mut child = Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .arg(format!("unix://{socket}"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = Vec::new();
    let mut err = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    Output {
        status: child.wait().unwrap(),
        stdout: out,
        stderr: err,
    }
}

/// The script's last stdout line as JSON, failing with its output and the daemon log.
pub fn python_json(script: &str, socket: &str, args: &[&str], log: &dyn Fn() -> String) -> Value {
    let out = python(script, socket, args);
    let last = text(&out.stdout).lines().last().unwrap_or("").to_string();
    assert!(
        out.status.success(),
        "docker-py script on {socket} failed:\n{}\ndaemon log:\n{}",
        show(&out),
        log()
    );
    serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {}", show(&out)))
}

pub fn poll<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
