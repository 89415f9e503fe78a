//! Helpers of the end-to-end tests in `cli.rs`: a shared busybox rootfs, one bundle and one
//! state root per container, a runtime command runner with a timeout, and a guard that removes
//! the container (and its cgroups) whatever the test outcome.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use muelle_test_support::{
    fixtures::shared_rootfs,
    host::remove_cgroup,
    proc::{
        host_has_cap, require_root, status_code, status_field, unique, wait_for, wait_timeout, Out,
    },
};

/// The runtime binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_muelle-runtime");

/// Upper bound for any single runtime invocation.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs a command with piped stdout/stderr and [`CMD_TIMEOUT`] (the child is killed when it
/// expires, and the test fails).
pub fn run_cmd(cmd: Command) -> Out {
    muelle_test_support::proc::run_cmd(cmd, CMD_TIMEOUT)
}

/// The cgroup directories of container `id` (default cgroupsPath /muelle/<id>) that exist.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    muelle_test_support::host::cgroup_dirs("muelle", id)
}

/// One container: its bundle (config.json written on demand), its own state root and id.
/// Dropping it force-deletes the container, kills spawned runtime processes and removes any
/// cgroup left behind.
pub struct Ctr {
    pub id: String,
    pub root: TempDir,
    pub bundle: TempDir,
    pub config: Value,
    /// The runtime binary the commands run (`BIN` unless a test uses a private copy).
    pub bin: PathBuf,
    children: Vec<Child>,
}

impl Ctr {
    /// A container with the `muelle-runtime spec` defaults, made non-interactive and pointed
    /// at the shared read-only rootfs; the process is `sh -c true` until a test sets another.
    pub fn new(tag: &str) -> Ctr {
        let rootfs = shared_rootfs();
        let bundle = tempfile::Builder::new()
            .prefix("muelle-bundle-")
            .tempdir()
            .expect("bundle dir");
        let root = tempfile::Builder::new()
            .prefix("muelle-root-")
            .tempdir()
            .expect("root dir");
        let out = run_cmd({
            let mut c = Command::new(BIN);
            c.arg("spec").arg("--bundle").arg(bundle.path());
            c
        })
        .ok();
        assert!(out.stderr.is_empty(), "{out:?}");
        let cfg_path = bundle.path().join("config.json");
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(&cfg_path).expect("read spec output"))
                .expect("spec output is JSON");
        std::fs::remove_file(&cfg_path).expect("rm config");
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["sh", "-c", "true"]);
        config["root"] = json!({"path": rootfs, "readonly": true});
        Ctr {
            id: format!("{tag}-{}", unique()),
            root,
            bundle,
            config,
            bin: PathBuf::from(BIN),
            children: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.bundle.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.path().join(&self.id)
    }

    /// Sets the process to `sh -c script`.
    pub fn sh(&mut self, script: &str) -> &mut Ctr {
        self.config["process"]["args"] = json!(["sh", "-c", script]);
        self
    }

    /// Adds a mount entry.
    pub fn mount(&mut self, m: Value) -> &mut Ctr {
        self.config["mounts"]
            .as_array_mut()
            .expect("mounts")
            .push(m);
        self
    }

    /// Binds a host directory (read-write) into the container.
    pub fn bind(&mut self, host: &Path, dest: &str, ro: bool) -> &mut Ctr {
        let mut opts = vec!["rbind", "nosuid", "nodev"];
        if ro {
            opts.push("ro");
        }
        self.mount(json!({"destination": dest, "type": "bind", "source": host, "options": opts}))
    }

    /// Removes a namespace type from the defaults.
    pub fn drop_ns(&mut self, t: &str) -> &mut Ctr {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .retain(|n| n["type"] != t);
        self
    }

    /// Adds a namespace (new, or joined when `path` is given).
    pub fn add_ns(&mut self, t: &str, path: Option<&str>) -> &mut Ctr {
        self.drop_ns(t);
        let mut n = json!({"type": t});
        if let Some(p) = path {
            n["path"] = json!(p);
        }
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(n);
        self
    }

    /// Switches to a private, writable copy of the shared rootfs (for tests that plant
    /// symlinks or need to create things in it).
    pub fn private_rootfs(&mut self) -> PathBuf {
        let dst = self.dir().join("rootfs");
        let st = Command::new("cp")
            .arg("-a")
            .arg(shared_rootfs())
            .arg(&dst)
            .status()
            .expect("cp");
        assert!(st.success(), "copy rootfs");
        self.config["root"] = json!({"path": dst, "readonly": false});
        dst
    }

    pub fn write_config(&self) {
        std::fs::write(
            self.dir().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("encode"),
        )
        .expect("write config.json");
    }

    /// A runtime command with this container's `--root`.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Runs a runtime subcommand that does not leave container processes behind holding
    /// its stdio (state, kill, delete, list, ps, pause, update, foreground run...).
    pub fn rt(&self, args: &[&str]) -> Out {
        let mut c = self.cmd();
        c.args(args);
        run_cmd(c)
    }

    /// Like [`Ctr::rt`] for commands whose container processes outlive the command (create,
    /// exec --detach): stdio goes to files in the bundle, read back once the command returns.
    pub fn rt_files(&self, args: &[&str]) -> Out {
        let n = unique();
        let so = self.dir().join(format!("out-{n}.log"));
        let se = self.dir().join(format!("err-{n}.log"));
        let mut c = self.cmd();
        c.args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&so).expect("stdout file"))
            .stderr(std::fs::File::create(&se).expect("stderr file"));
        let mut child = c.spawn().expect("spawn");
        let st = wait_timeout(&mut child, CMD_TIMEOUT)
            .unwrap_or_else(|| panic!("runtime {args:?} timed out"));
        Out {
            code: status_code(st),
            stdout: std::fs::read_to_string(&so).unwrap_or_default(),
            stderr: std::fs::read_to_string(&se).unwrap_or_default(),
        }
    }

    /// `run` in the foreground: the container's stdout/stderr and the exit code.
    pub fn run(&self) -> Out {
        self.write_config();
        let b = self.dir().to_str().expect("utf8").to_string();
        self.rt(&["run", "--bundle", &b, &self.id])
    }

    /// `create` with extra flags before the id; stdio of the container goes to files.
    pub fn create_with(&self, extra: &[&str]) -> Out {
        self.write_config();
        let b = self.dir().to_str().expect("utf8").to_string();
        let mut args = vec!["create", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.rt_files(&args)
    }

    pub fn create(&self) -> Out {
        self.create_with(&[])
    }

    pub fn start(&self) -> Out {
        self.rt(&["start", &self.id])
    }

    /// create + start, asserting both succeed; returns the init's host pid.
    pub fn create_start(&self) -> i32 {
        self.create().ok();
        self.start().ok();
        self.pid()
    }

    /// `run` in the background (stdout and stderr to `run.out` / `run.err` in the bundle).
    /// Returns the pid of the runtime process.
    pub fn spawn_run(&mut self, extra: &[&str]) -> u32 {
        self.write_config();
        let mut c = self.cmd();
        c.arg("run").arg("--bundle").arg(self.dir()).args(extra);
        c.arg(&self.id);
        self.spawn(c, "run")
    }

    /// Spawns a command with stdio to `<name>.out` / `<name>.err` in the bundle; it is killed
    /// when the container guard drops. Returns its pid.
    pub fn spawn(&mut self, mut c: Command, name: &str) -> u32 {
        c.stdin(Stdio::null())
            .stdout(std::fs::File::create(self.dir().join(format!("{name}.out"))).expect("out"))
            .stderr(std::fs::File::create(self.dir().join(format!("{name}.err"))).expect("err"));
        let child = c.spawn().expect("spawn");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Waits for the spawned process with this pid and returns its exit code.
    pub fn wait_spawned(&mut self, pid: u32) -> i32 {
        let i = self
            .children
            .iter()
            .position(|c| c.id() == pid)
            .expect("spawned child");
        let mut child = self.children.remove(i);
        let st = wait_timeout(&mut child, CMD_TIMEOUT).expect("spawned process timed out");
        status_code(st)
    }

    pub fn read_bundle_file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name)).unwrap_or_default()
    }

    /// `state` as JSON (panics if it fails).
    pub fn state(&self) -> Value {
        let o = self.rt(&["state", &self.id]).ok();
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state JSON: {e}: {o:?}"))
    }

    pub fn status(&self) -> String {
        self.state()["status"]
            .as_str()
            .expect("status string")
            .to_string()
    }

    pub fn pid(&self) -> i32 {
        let pid = self.state()["pid"].as_i64().expect("pid") as i32;
        assert!(pid > 0, "pid {pid}");
        pid
    }

    pub fn wait_status(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = self.rt(&["state", &self.id]);
            let ok = o.code == 0
                && serde_json::from_str::<Value>(&o.stdout)
                    .is_ok_and(|v| v["status"].as_str() == Some(want));
            if ok {
                return;
            }
            if Instant::now() > deadline {
                // Say what the spawned runtime commands printed and what `state` says.
                let mut ctx = format!("last state: {o:?}\n");
                for name in ["run", "exec", "start"] {
                    for ext in ["out", "err"] {
                        let f = format!("{name}.{ext}");
                        let t = self.read_bundle_file(&f);
                        if !t.is_empty() {
                            ctx.push_str(&format!("{f}: {t}\n"));
                        }
                    }
                }
                let ps = Command::new("ps")
                    .args(["-eo", "pid,ppid,stat,wchan:30,args"])
                    .output();
                if let Ok(ps) = ps {
                    for l in String::from_utf8_lossy(&ps.stdout).lines() {
                        if l.contains(&self.id) || l.contains("muelle-runtime") {
                            ctx.push_str(l);
                            ctx.push('\n');
                        }
                    }
                }
                panic!("timed out waiting for status {want}\n{ctx}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asserts that a failed create/run left nothing behind.
    pub fn assert_no_leftovers(&self) {
        assert!(
            !self.state_dir().exists(),
            "state dir {} left behind",
            self.state_dir().display()
        );
        let cg = cgroup_dirs(&self.id);
        assert!(cg.is_empty(), "cgroup dirs left behind: {cg:?}");
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The build's binary: a private copy under attack may have been damaged.
        let mut c = Command::new(BIN);
        c.arg("--root").arg(self.root.path());
        c.args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(mut child) = c.spawn() {
            let _ = wait_timeout(&mut child, CMD_TIMEOUT);
        }
        for d in cgroup_dirs(&self.id) {
            remove_cgroup(&d);
        }
    }
}

/// Is `path` a mount point in this (host) mount namespace?
pub fn host_mounted(path: &Path) -> bool {
    muelle_test_support::host::is_mounted(path)
}
