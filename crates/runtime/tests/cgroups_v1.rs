//! Real-kernel test of the cgroup v1 manager: creates a cgroup under /muelle-test, moves a
//! child process in, sets and reads back limits, freezes, collects stats and destroys.
//! Needs root and the v1 memory hierarchy (its name says `needs_cgroupv1`: scripts/test.sh
//! leaves it out, reported as skipped, on a cgroup v2 host); fails without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use muelle_runtime::cgroups::{CgroupVersion, Manager};
use oci_spec::runtime::LinuxResources;
use rustix::process::{kill_process, Pid, Signal};

const PARENT: &str = "muelle-test";

/// Cleans up whatever the test created, also when an assertion fails half-way.
struct Guard {
    child: Option<Child>,
    manager: Manager,
}

impl Guard {
    fn kill_all(&mut self) {
        // v1 frozen tasks do not die until thawed.
        let _ = self.manager.thaw();
        for pid in self.manager.pids().unwrap_or_default() {
            if let Some(pid) = Pid::from_raw(pid) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill_all();
        let _ = self.manager.destroy();
        // The shared parent goes too, unless another run still uses it.
        for dir in self.manager.paths().values() {
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn v1_lifecycle_on_real_kernel_needs_cgroupv1() {
    assert!(
        rustix::process::geteuid().is_root(),
        "cgroup test needs root"
    );
    assert!(
        Path::new("/sys/fs/cgroup/memory").is_dir(),
        "/sys/fs/cgroup/memory (cgroup v1) is not mounted: a cgroup v2 host"
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let id = format!("t{}-{nanos}", std::process::id());
    let cgroup_path = PathBuf::from(format!("/{PARENT}/{id}"));
    let manager = Manager::new(&id, Some(&cgroup_path), false).unwrap();
    assert_eq!(manager.version(), CgroupVersion::V1, "host is cgroup v2");
    let memory_dir = manager.path_for("memory").unwrap();
    assert_eq!(
        memory_dir,
        Path::new("/sys/fs/cgroup/memory").join(PARENT).join(&id)
    );

    // A shell that keeps forking, so that memory gets charged to the new cgroup after
    // the move (v1 does not move existing charges along with a task).
    let child = Command::new("sh")
        .args(["-c", "while true; do sleep 0.1; done"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut guard = Guard {
        child: Some(child),
        manager: manager.clone(),
    };

    manager.apply(pid).unwrap();
    let procs = read(&memory_dir.join("cgroup.procs"));
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    if let Some(cpuset) = manager.path_for("cpuset") {
        assert!(!read(&cpuset.join("cpuset.cpus")).is_empty());
    }

    let memsw = memory_dir.join("memory.memsw.limit_in_bytes").exists();
    let mut memory = serde_json::json!({"limit": 67108864});
    if memsw {
        memory["swap"] = 134217728.into();
    }
    let resources: LinuxResources = serde_json::from_value(serde_json::json!({
        "memory": memory,
        "pids": {"limit": 16},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]
    }))
    .unwrap();
    manager.set(&resources).unwrap();
    assert_eq!(read(&memory_dir.join("memory.limit_in_bytes")), "67108864");
    if memsw {
        assert_eq!(
            read(&memory_dir.join("memory.memsw.limit_in_bytes")),
            "134217728"
        );
    }
    let pids_dir = manager.path_for("pids").unwrap();
    assert_eq!(read(&pids_dir.join("pids.max")), "16");
    let cpu_dir = manager.path_for("cpu").unwrap();
    assert_eq!(read(&cpu_dir.join("cpu.shares")), "512");
    assert_eq!(read(&cpu_dir.join("cpu.cfs_quota_us")), "50000");
    let devices_dir = manager.path_for("devices").unwrap();
    assert_eq!(read(&devices_dir.join("devices.list")), "c 1:3 rwm");

    // Lowering the limits again exercises the other memory/memsw write order.
    let lower: LinuxResources = serde_json::from_value(serde_json::json!({
        "memory": if memsw {
            serde_json::json!({"limit": 33554432, "swap": 50331648})
        } else {
            serde_json::json!({"limit": 33554432})
        },
        "pids": {"limit": 0}
    }))
    .unwrap();
    manager.set(&lower).unwrap();
    assert_eq!(read(&memory_dir.join("memory.limit_in_bytes")), "33554432");
    if memsw {
        assert_eq!(
            read(&memory_dir.join("memory.memsw.limit_in_bytes")),
            "50331648"
        );
    }
    assert_eq!(read(&pids_dir.join("pids.max")), "max");

    let freezer_dir = manager.path_for("freezer").unwrap();
    manager.freeze().unwrap();
    assert_eq!(read(&freezer_dir.join("freezer.state")), "FROZEN");
    assert!(manager.is_frozen().unwrap());
    manager.thaw().unwrap();
    assert_eq!(read(&freezer_dir.join("freezer.state")), "THAWED");
    assert!(!manager.is_frozen().unwrap());

    assert!(manager.pids().unwrap().contains(&pid));

    let start = Instant::now();
    let stats = loop {
        let stats = manager.stats().unwrap();
        if stats.memory.usage.usage > 0 || start.elapsed() > Duration::from_secs(5) {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(stats.memory.usage.usage > 0, "{stats:?}");
    assert_eq!(stats.memory.usage.limit, 33554432);
    assert!(stats.pids.current >= 1, "{stats:?}");
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["memory"]["usage"]["usage"].as_u64().unwrap() > 0);

    guard.kill_all();
    manager.destroy().unwrap();
    for dir in manager.paths().values() {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
}
