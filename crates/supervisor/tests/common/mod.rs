//! Helpers of the shim's end-to-end tests: a shared busybox rootfs (the runtime tests' one),
//! a bundle and directories per container, the shim started as muelled starts it (stdout
//! the ready pipe), clients of `shim.sock`, and a guard that kills the shim and removes the
//! container, its cgroups and mounts whatever the test outcome.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use muelle_test_support::{
    fixtures::shared_rootfs,
    host::{is_mounted, remove_cgroup},
    proc::{alive, unique, wait_for},
};

pub const SHIM: &str = env!("CARGO_BIN_EXE_muelle-shim");

const CGROUP_PARENT: &str = "muelle-shim-test";
pub const TIMEOUT: Duration = Duration::from_secs(20);

pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    muelle_test_support::host::cgroup_dirs(CGROUP_PARENT, id)
}

/// One container under a shim.
pub struct Ctr {
    pub id: String,
    pub dir: TempDir,
    pub config: Value,
    pub args: Vec<String>,
    pub shim_pid: Option<i32>,
    pub mounts: Vec<PathBuf>,
}

impl Ctr {
    pub fn new(tag: &str, script: &str) -> Ctr {
        let rootfs = shared_rootfs();
        let dir = tempfile::Builder::new()
            .prefix("muelle-shim-")
            .tempdir()
            .expect("tempdir");
        for d in ["bundle", "rt", "state", "data"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        let id = format!("{tag}-{}", unique());
        let config = json!({
            "ociVersion": "1.2.0",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": ["sh", "-c", script],
                "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {
                    "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                    "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                    "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                },
                "noNewPrivileges": true
            },
            "root": {"path": rootfs, "readonly": true},
            "hostname": "muelle",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
            ],
            "linux": {
                "cgroupsPath": format!("/{CGROUP_PARENT}/{id}"),
                "resources": {"devices": [{"allow": false, "access": "rwm"}]},
                // A new, empty network namespace: nothing can reach out.
                "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
            }
        });
        Ctr {
            id,
            dir,
            config,
            args: Vec::new(),
            shim_pid: None,
            mounts: Vec::new(),
        }
    }

    pub fn p(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }
    pub fn rt_root(&self) -> PathBuf {
        self.p("rt")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.p("state")
    }
    pub fn sock(&self) -> PathBuf {
        self.p("state/shim.sock")
    }
    pub fn exit_file(&self) -> PathBuf {
        self.p("data/exit.json")
    }
    pub fn log_path(&self) -> PathBuf {
        self.p("data/ctr.log")
    }

    pub fn tty(&mut self) -> &mut Ctr {
        self.config["process"]["terminal"] = json!(true);
        self.args.push("--tty".into());
        self
    }

    pub fn arg(&mut self, a: &str) -> &mut Ctr {
        self.args.push(a.into());
        self
    }

    /// Starts the shim as muelled does; returns the ready line.
    pub fn spawn(&mut self) -> Value {
        std::fs::write(
            self.p("bundle/config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
        let stderr = std::fs::File::create(self.p("shim.log")).unwrap();
        let mut cmd = Command::new(SHIM);
        cmd.arg("--id")
            .arg(&self.id)
            .arg("--bundle")
            .arg(self.p("bundle"))
            .arg("--runtime-root")
            .arg(self.rt_root())
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--exit-file")
            .arg(self.exit_file())
            .arg("--log-path")
            .arg(self.log_path())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn shim");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(TIMEOUT).expect("ready line in time");
        let st = child.wait().expect("wait first shim process");
        assert!(st.success(), "first shim process: {st:?}");
        if let Ok(p) = std::fs::read_to_string(self.state_dir().join("shim.pid")) {
            self.shim_pid = p.trim().parse().ok();
        }
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"))
    }

    pub fn shim_log(&self) -> String {
        std::fs::read_to_string(self.p("shim.log")).unwrap_or_default()
    }

    pub fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(self.sock()).expect("connect shim.sock");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s
    }

    /// One request, one reply line; the connection is returned for streams.
    pub fn request(&self, req: Value) -> (Value, UnixStream) {
        let mut s = self.connect();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            let n = s.read(&mut b).expect("reply");
            if n == 0 || b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
        }
        let v = serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("reply {:?}: {e}", String::from_utf8_lossy(&line)));
        (v, s)
    }

    /// Sends a request whose reply comes later (wait).
    pub fn send(&self, req: Value) -> UnixStream {
        let mut s = self.connect();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        s
    }

    pub fn call(&self, req: Value) -> Value {
        self.request(req).0
    }

    pub fn start(&self) {
        assert_eq!(
            self.call(json!({"op": "start"})),
            json!({"ok": true}),
            "{}",
            self.shim_log()
        );
    }

    /// Sends `wait` first (the shim is gone soon after a quick process ends), then
    /// `start`; returns the wait reply.
    pub fn start_and_wait(&self) -> Value {
        let mut w = self.send(json!({"op": "wait"}));
        self.start();
        let mut line = String::new();
        BufReader::new(&mut w)
            .read_line(&mut line)
            .expect("wait reply");
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("wait reply {line:?}: {e}"))
    }

    pub fn wait_gone(&self) {
        if let Some(pid) = self.shim_pid {
            wait_for("shim exit", TIMEOUT, || !alive(pid));
        }
    }
}

/// Reads frames until the 255 frame; returns (stdout, stderr, frames, exit code).
pub fn read_stream(s: &mut UnixStream) -> (String, String, Vec<(u8, Vec<u8>)>, i64) {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("read stream");
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    let (frames, rest) = muelle_supervisor::frame::split(&all);
    assert!(rest.is_empty(), "trailing bytes {rest:?}");
    let (mut out, mut err, mut code) = (Vec::new(), Vec::new(), None);
    for (i, (st, p)) in frames.iter().enumerate() {
        match st {
            1 => out.extend_from_slice(p),
            2 => err.extend_from_slice(p),
            255 => {
                assert_eq!(i, frames.len() - 1, "255 frame is the last");
                let v: Value = serde_json::from_slice(p).unwrap();
                code = v["exit_code"].as_i64();
            }
            other => panic!("unexpected stream {other}"),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        frames,
        code.expect("a 255 frame"),
    )
}

impl Drop for Ctr {
    fn drop(&mut self) {
        if let Some(pid) = self.shim_pid {
            if alive(pid) {
                let _ = muelle_runtime::sys::kill(pid, libc::SIGKILL);
            }
        }
        if let Ok(c) = muelle_runtime::Container::load(&self.rt_root(), &self.id) {
            let _ = c.delete(true);
        }
        for d in cgroup_dirs(&self.id) {
            remove_cgroup(&d);
        }
        // The shared parent goes with the last test (rmdir fails while others use it).
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let _ = std::fs::remove_dir(e.path().join(CGROUP_PARENT));
            }
        }
        for m in &self.mounts {
            let _ = rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH);
        }
    }
}
