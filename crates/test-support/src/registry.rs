//! A real docker-registry on 127.0.0.1 (plain or with htpasswd auth) and skopeo, for the
//! image, daemon and CLI tests, and ports for the servers tests start.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Fails the test, naming the package, unless `path` exists: a missing peer is never a pass.
/// scripts/test.sh leaves out the tests whose name says `needs_<kind>` when the host lacks
/// that kind, so nextest reports them as skipped.
pub fn require_peer(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is not installed: this test needs the Debian package {package} \
         (bash scripts/peers.sh install)"
    );
}

/// Ports below the kernel's ephemeral range (32768 and up on Debian), so no client socket
/// takes one between our pick and the server's bind. Each test process starts at its own
/// block of 16 (by pid); concurrent processes can still share a block, and other programs on
/// the machine may hold a port, so servers are checked with [`listener_owned_by`] and
/// restarted on the next port when the bind fails.
pub fn next_port() -> u16 {
    const FIRST: u16 = 20000;
    const BLOCKS: u32 = 760; // 20000 + 760 * 16 = 32160, below 32768
    static N: AtomicU16 = AtomicU16::new(0);
    let block = (std::process::id() % BLOCKS) as u16;
    let n = N.fetch_add(1, Ordering::Relaxed);
    // Later picks wander into other blocks rather than wrap onto our own first ports.
    let offset = (u32::from(block) * 16 + u32::from(n) * 7) % (BLOCKS * 16);
    FIRST + offset as u16
}

/// The inodes of the TCP sockets listening on 127.0.0.1:`port` or *:`port` (IPv4 and v6),
/// in the network namespace of the test itself (`None`) or of process `pid` (a daemon in a
/// namespace of its own).
fn listening_inodes(pid: Option<u32>, port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let dir = pid.map_or("/proc/net".to_string(), |p| format!("/proc/{p}/net"));
    for table in [format!("{dir}/tcp"), format!("{dir}/tcp6")] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let Some((_, p)) = local.rsplit_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(p, 16).ok() == Some(port) {
                out.push((*inode).to_string());
            }
        }
    }
    out
}

/// The pids of the processes holding a socket listening on `port`.
pub fn listener_pids(port: u16) -> Vec<u32> {
    let inodes = listening_inodes(None, port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
        });
        if holds {
            pids.push(pid);
        }
    }
    pids
}

/// Whether the process `pid` itself listens on `port` (in its own network namespace): an
/// answer on the port proves nothing while other tests start servers at the same time.
pub fn listener_owned_by(pid: u32, port: u16) -> bool {
    let inodes = listening_inodes(Some(pid), port);
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|l| {
            inodes
                .iter()
                .any(|i| l.as_os_str() == format!("socket:[{i}]").as_str())
        })
    })
}

/// How a server we started came up on its port.
pub enum Started {
    /// It listens there itself.
    Listening,
    /// It exited (typically: the port was taken); try another port.
    Exited(String),
}

/// Waits until `child` listens on `port` itself, or exits. `log` is read for the message.
pub fn wait_listening(child: &mut Child, port: u16, what: &str, log: &Path) -> Started {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Started::Exited(format!("{what} exited ({status}): {text}"));
        }
        if listener_owned_by(child.id(), port) {
            return Started::Listening;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!(
                "{what} did not listen on 127.0.0.1:{port} within 30 s (held by pids {:?}): {text}",
                listener_pids(port)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running docker-registry, killed on drop (also when a test fails).
pub struct Registry {
    child: Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port of `host` (127.0.0.1:PORT).
    pub fn port(&self) -> u16 {
        self.host
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("the registry's port")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A docker-registry on 127.0.0.1 with deletes enabled and no auth.
pub fn start_registry() -> Registry {
    let dir = tempfile::tempdir().expect("tempdir");
    spawn_registry(dir, "  delete:\n    enabled: true\n", "")
}

/// A docker-registry on 127.0.0.1 requiring basic auth (htpasswd, bcrypt) for `user`.
pub fn start_auth_registry(user: &str, password: &str) -> Registry {
    require_peer("/usr/bin/htpasswd", "apache2-utils");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("/usr/bin/htpasswd")
        .args(["-Bbn", user, password])
        .output()
        .unwrap();
    assert!(out.status.success(), "htpasswd: {out:?}");
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, &out.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: muelle-test\n    path: {}\n",
        htpasswd.display()
    );
    spawn_registry(dir, "", &auth)
}

/// Starts docker-registry in `dir` with `storage_extra` under `storage:` and `tail` at the
/// end of its config, on ports from [`next_port`] until it listens on one itself.
fn spawn_registry(dir: tempfile::TempDir, storage_extra: &str, tail: &str) -> Registry {
    require_peer("/usr/bin/docker-registry", "docker-registry");
    let mut failures = Vec::new();
    for _ in 0..8 {
        let port = next_port();
        let cfg = dir.path().join("config.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n{storage_extra}http:\n  addr: 127.0.0.1:{port}\n{tail}",
                dir.path().join("data").display()
            ),
        )
        .expect("config");
        let log_path = dir.path().join(format!("registry-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("log");
        let mut child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        match wait_listening(&mut child, port, "docker-registry", &log_path) {
            Started::Listening => {
                return Registry {
                    child,
                    host: format!("127.0.0.1:{port}"),
                    _dir: dir,
                };
            }
            Started::Exited(why) => failures.push(why),
        }
    }
    panic!("docker-registry did not start on any of 8 ports: {failures:#?}");
}

/// Runs skopeo, failing the test with its stderr; returns its stdout.
pub fn skopeo(args: &[&str]) -> String {
    require_peer("/usr/bin/skopeo", "skopeo");
    let out = Command::new("/usr/bin/skopeo")
        .args(args)
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
