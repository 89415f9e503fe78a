//! `run --cgroupns` and the cgroup filesystem a container sees: the same through both CLIs.

use super::*;

pub(crate) fn cgroupfs_needs_cgroupv1(d: &Daemon) {
    let (m, k) = both_ok(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "-m",
            "64m",
            "--cgroupns",
            "private",
            "busybox",
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep :memory: /proc/self/cgroup",
        ],
    );
    assert_eq!(m, "67108864\n4:memory:/\n");
    assert_eq!(m, k);

    let (m, k) = both(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--cgroupns",
            "bogus",
            "busybox",
            "true",
        ],
    );
    assert_eq!((m.status.code(), k.status.code()), (Some(125), Some(125)));
    assert!(
        text(&m.stderr).contains("--cgroupns: invalid CGROUP mode"),
        "{}",
        text(&m.stderr)
    );
}
