//! The cgroup filesystem inside a container, from a config.json `cgroup` mount at
//! /sys/fs/cgroup (as `muelle-runtime spec` and Docker write it): on cgroup v1 a tmpfs with
//! each hierarchy of the host (named ones such as name=systemd included) bound from the
//! container's own cgroup, read-only unless the mount says "rw"; on cgroup v2 a cgroup2 mount
//! of the container's cgroup namespace. Tests that read v1 files say `needs_cgroupv1`; the
//! others run on both (scripts/test.sh runs them again on a cgroup v2 view of a v1 host).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{require_root, Ctr};
use serde_json::json;

fn cgroup_v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The v1 hierarchies of this host as a container sees them: the names of the cgroup (not
/// cgroup2) mounts directly under /sys/fs/cgroup, from /proc/self/mountinfo.
fn host_v1_hierarchies() -> BTreeSet<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            let mp = Path::new(f[4]);
            (f[sep + 1] == "cgroup" && mp.parent() == Some(Path::new("/sys/fs/cgroup")))
                .then(|| mp.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

/// A container with a 64 MiB memory limit and the spec's cgroup mount with `rw`/`ro`.
fn limited(tag: &str, rw: bool, script: &str) -> Ctr {
    let mut c = Ctr::new(tag);
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    let mounts = c.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    let mode = if rw { "rw" } else { "ro" };
    mounts.push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", mode]
    }));
    c.sh(script);
    c
}

const V1_SCRIPT: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
     echo 1 > /sys/fs/cgroup/memory/memory.soft_limit_in_bytes && echo wrote || echo refused; \
     mkdir /sys/fs/cgroup/x 2>/dev/null && echo mkdir || echo no-mkdir; \
     ls /sys/fs/cgroup";

#[test]
fn own_memory_limit_read_only_needs_cgroupv1() {
    require_root();
    assert!(!cgroup_v2_host(), "this test reads cgroup v1 files");
    let o = limited("cgfs-ro", false, V1_SCRIPT).run().ok();
    let l = o.lines();
    assert_eq!(l[0], "67108864", "{o:?}");
    assert_eq!(l[1], "refused", "{o:?}");
    assert_eq!(l[2], "no-mkdir", "{o:?}");
    let listed: BTreeSet<String> = l[3..].iter().map(|s| s.to_string()).collect();
    let mut want = host_v1_hierarchies();
    // Co-mounted controllers also appear under each controller's name, as symlinks.
    for h in want.clone() {
        if h.contains(',') {
            want.extend(h.split(',').map(str::to_string));
        }
    }
    assert_eq!(listed, want, "{o:?}");
}

#[test]
fn privileged_cgroup_mount_is_writable_needs_cgroupv1() {
    require_root();
    assert!(!cgroup_v2_host(), "this test reads cgroup v1 files");
    let o = limited("cgfs-rw", true, V1_SCRIPT).run().ok();
    let l = o.lines();
    assert_eq!(&l[..3], ["67108864", "wrote", "mkdir"], "{o:?}");
}

/// The container's own cgroup is the root of what it sees, on v1 and v2: its init is pid 1
/// in the root's cgroup.procs and the only process there.
#[test]
fn own_cgroup_is_the_root() {
    require_root();
    let procs = if cgroup_v2_host() {
        "/sys/fs/cgroup/cgroup.procs"
    } else {
        "/sys/fs/cgroup/pids/cgroup.procs"
    };
    let script = format!(
        "awk '$5 == \"/sys/fs/cgroup\" {{ for (i = 6; i < NF; i++) if ($i == \"-\") print $(i + 1) }}' \
         /proc/self/mountinfo; cat {procs}; grep '^0::' /proc/self/cgroup"
    );
    let mut c = limited("cgfs-root", false, &script);
    // A cgroup v2 view of a v1 host has no controllers to limit memory with.
    c.config["linux"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("memory");
    c.add_ns("cgroup", None);
    let o = c.run().ok();
    let l = o.lines();
    let fs = if cgroup_v2_host() { "cgroup2" } else { "tmpfs" };
    assert_eq!(l[0], fs, "{o:?}");
    // The shell is pid 1; `cat` itself runs in the cgroup too, as its child.
    assert_eq!(l[1], "1", "{o:?}");
    assert_eq!(l.len(), 4, "{o:?}");
    assert_eq!(l.last().copied(), Some("0::/"), "{o:?}");
}
