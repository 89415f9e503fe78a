//! Real-kernel test of the cgroup v2 device filter: creates a cgroup in a real cgroup2
//! hierarchy (/sys/fs/cgroup itself on a unified host, /sys/fs/cgroup/unified on a hybrid
//! one), moves shells in before they touch any device, and checks that the BPF program
//! built from the rules allows and denies what it should, and that a second `set`
//! replaces the first program instead of stacking on it.
//!
//! Needs root, a cgroup2 mount (v2 hosts and hybrid v1 hosts both have one) and a kernel that
//! accepts BPF_PROG_TYPE_CGROUP_DEVICE programs; fails, saying which is missing, without them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use muelle_runtime::cgroups::{probe_device_filter, CgroupVersion, Manager};
use muelle_runtime::sys;
use oci_spec::runtime::LinuxResources;

/// The shell script run in the cgroup: waits for a line on stdin (sent once it has been
/// moved into the cgroup and the rules are set), then opens /dev/null (1:3) and
/// /dev/zero (1:5).
const SCRIPT: &str = "read go; \
    cat /dev/null && echo ok-null; \
    head -c1 /dev/zero >/dev/null && echo ok-zero; \
    exit 0";

/// Kills and reaps the children and removes the cgroup whatever the test outcome.
struct Guard {
    children: Vec<Child>,
    manager: Manager,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Removing the cgroup also frees the programs attached to it.
        let _ = self.manager.destroy();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A cgroup2 mount: the unified /sys/fs/cgroup or the hybrid /sys/fs/cgroup/unified.
fn cgroup2_root() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mounts: Vec<(String, String)> = mountinfo
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some((f.get(4)?.to_string(), f.get(sep + 1)?.to_string()))
        })
        .collect();
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|p| mounts.iter().any(|(mp, ty)| mp == p && ty == "cgroup2"))
        .map(PathBuf::from)
}

fn rules(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(serde_json::json!({ "devices": v })).unwrap()
}

/// Starts the script, held on its `read`.
fn spawn() -> Child {
    Command::new("sh")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lets the script go and collects what it printed.
fn release(mut child: Child) -> Output {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "script failed: {out:?}");
    out
}

/// Moves a fresh script into the cgroup (held before any device access), then releases it.
fn run_in_cgroup(guard: &mut Guard) -> (String, String) {
    let child = spawn();
    guard.manager.apply(child.id() as i32).unwrap();
    let out = release(child);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Our programs attached directly to the cgroup.
fn attached_programs(dir: &Path) -> Vec<u32> {
    let cg = std::fs::File::open(dir).unwrap();
    sys::bpf_prog_query(cg.as_fd(), sys::BPF_CGROUP_DEVICE).unwrap()
}

#[test]
fn v2_device_filter_on_real_kernel() {
    assert!(rustix::process::geteuid().is_root(), "needs root");
    let root =
        cgroup2_root().expect("no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified");
    if let Err(e) = probe_device_filter() {
        panic!("the kernel refuses cgroup device BPF programs here: {e}");
    }

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let id = format!("devbpf-{}-{nanos}", std::process::id());
    let parent = PathBuf::from(format!("/muelle-test-{id}"));
    let cgroup_path = parent.join("c");
    let manager =
        Manager::with_root(&root, CgroupVersion::V2, &id, Some(&cgroup_path), false).unwrap();
    let dir = manager.path_for("").unwrap();
    assert_eq!(dir, root.join(cgroup_path.strip_prefix("/").unwrap()));
    let mut guard = Guard {
        children: Vec::new(),
        manager,
        dir: root.join(parent.strip_prefix("/").unwrap()),
    };

    // Outside any filter both devices work (sanity check of the script itself).
    let (out, err) = {
        let child = spawn();
        let out = release(child);
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(out, "ok-null\nok-zero\n", "stderr: {err}");

    // A held process in the cgroup first, so that `set` runs on a cgroup with a task, as
    // for a container.
    let holder = spawn();
    guard.manager.apply(holder.id() as i32).unwrap();
    guard.children.push(holder);

    // deny all, allow c 1:3 rwm: /dev/null works, /dev/zero is refused.
    guard
        .manager
        .set(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ])))
        .unwrap();
    assert_eq!(attached_programs(&dir).len(), 1);
    let (out, err) = run_in_cgroup(&mut guard);
    assert_eq!(out, "ok-null\n", "stderr: {err}");
    assert!(
        err.contains("/dev/zero") && err.contains("Operation not permitted"),
        "stderr: {err}"
    );

    // Update: 1:5 allowed too. Had the first program stayed attached, it would still
    // refuse /dev/zero (all attached programs must allow).
    guard
        .manager
        .set(&rules(serde_json::json!([
            {"allow": false, "type": "a"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
        ])))
        .unwrap();
    let programs = attached_programs(&dir);
    assert_eq!(programs.len(), 1, "old program not detached: {programs:?}");
    let (out, err) = run_in_cgroup(&mut guard);
    assert_eq!(out, "ok-null\nok-zero\n", "stderr: {err}");
    assert!(err.is_empty(), "stderr: {err}");

    // Access bits: /dev/null read-only. `cat` only reads, the redirection writes.
    guard
        .manager
        .set(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "r"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
        ])))
        .unwrap();
    assert_eq!(attached_programs(&dir).len(), 1);
    let (out, err) = run_in_cgroup(&mut guard);
    assert_eq!(out, "ok-null\n", "stderr: {err}");
    assert!(
        err.contains("/dev/null") && err.contains("Operation not permitted"),
        "stderr: {err}"
    );

    // Allow-all default with a deny exception for /dev/zero (an allow-list is not needed).
    guard
        .manager
        .set(&rules(serde_json::json!([
            {"allow": true, "type": "a"},
            {"allow": false, "type": "c", "major": 1, "minor": 5, "access": "r"}
        ])))
        .unwrap();
    assert_eq!(attached_programs(&dir).len(), 1);
    let (out, err) = run_in_cgroup(&mut guard);
    assert_eq!(out, "ok-null\n", "stderr: {err}");
    assert!(err.contains("Operation not permitted"), "stderr: {err}");

    // A program attached by someone else (here an allow-all "r0 = 1; exit") is left
    // alone by `set`, which only replaces its own.
    let cg = std::fs::File::open(&dir).unwrap();
    let allow_all = [
        u64::from_ne_bytes([0xb7, 0, 0, 0, 1, 0, 0, 0]),
        u64::from_ne_bytes([0x95, 0, 0, 0, 0, 0, 0, 0]),
    ];
    let foreign = sys::bpf_prog_load_cgroup_device(&allow_all, c"GPL", "foreign", &mut []).unwrap();
    let ours_before = attached_programs(&dir);
    sys::bpf_prog_attach(
        foreign.as_fd(),
        cg.as_fd(),
        sys::BPF_CGROUP_DEVICE,
        sys::BPF_F_ALLOW_MULTI,
    )
    .unwrap();
    let with_foreign = attached_programs(&dir);
    assert_eq!(with_foreign.len(), 2);
    let foreign_id = *with_foreign
        .iter()
        .find(|id| !ours_before.contains(id))
        .unwrap();
    guard
        .manager
        .set(&rules(serde_json::json!([
            {"allow": false, "type": "a"},
            {"allow": true, "type": "c", "major": 1, "minor": 3}
        ])))
        .unwrap();
    let after = attached_programs(&dir);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.contains(&foreign_id),
        "foreign program detached: {after:?}"
    );
    assert!(
        !after.contains(&ours_before[0]),
        "old program not detached: {after:?}"
    );
    let (out, err) = run_in_cgroup(&mut guard);
    assert_eq!(out, "ok-null\n", "stderr: {err}");
    assert!(err.contains("Operation not permitted"), "stderr: {err}");
    sys::bpf_prog_detach2(foreign.as_fd(), cg.as_fd(), sys::BPF_CGROUP_DEVICE).unwrap();
    assert_eq!(attached_programs(&dir).len(), 1);
    eprintln!("v2 device filter checked on {}", dir.display());
}
