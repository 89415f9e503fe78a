//! Rows for resource limits, each read back from the container's own cgroup files (cgroup
//! v1, as this host mounts them inside the container), and the flags dockerd discards or
//! the docker CLI refuses on Linux.

use crate::Dockerd::*;
use crate::Verdict::*;
use crate::{Row, R};

/// `cat` of the container's own cgroup file under /sys/fs/cgroup.
fn cg(r: &R, opts: &[&str], file: &str, want: &str) -> Result<(), String> {
    r.expect(
        opts,
        &["cat", &format!("/sys/fs/cgroup/{file}")],
        &format!("{want}\n"),
    )
}

/// The block device under the root filesystem, as `/dev/NAME` and `MAJOR:MINOR`.
fn root_disk() -> (String, String) {
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram") {
            continue;
        }
        let dev = std::fs::read_to_string(e.path().join("dev")).unwrap_or_default();
        if !dev.trim().is_empty() && std::path::Path::new(&format!("/dev/{name}")).exists() {
            return (format!("/dev/{name}"), dev.trim().to_string());
        }
    }
    panic!("no block device in /sys/block");
}

/// A throttle flag: its `DEVICE:RATE` in the container's blkio file.
fn throttle(r: &R, flag: &str, rate: &str, file: &str, want: &str) -> Result<(), String> {
    let (dev, majmin) = root_disk();
    cg(
        r,
        &[flag, &format!("{dev}:{rate}")],
        &format!("blkio/{file}"),
        &format!("{majmin} {want}"),
    )
}

const WINDOWS_ONLY: &str = "is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux";

pub const ROWS: &[Row] = &[
    Row {
        flag: "--memory",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            cg(r, &["-m", "64m"], "memory/memory.limit_in_bytes", "67108864")?;
            r.refused(&["-m", "1k"], "Minimum memory limit allowed is 6MB")
        },
    },
    Row {
        flag: "--memory-swap",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["-m", "64m", "--memory-swap", "128m"], "memory/memory.memsw.limit_in_bytes", "134217728"),
    },
    Row {
        flag: "--memory-reservation",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--memory-reservation", "32m"], "memory/memory.soft_limit_in_bytes", "33554432"),
    },
    Row {
        flag: "--memory-swappiness",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--memory-swappiness", "10"], "memory/memory.swappiness", "10"),
    },
    Row {
        flag: "--kernel-memory",
        verdict: Dropped("Specifying a kernel memory limit is deprecated"),
        dockerd: Same,
        check: |r| {
            // API 1.42 dropped the field: the docker CLI 28 talking to a daemon of a newer API
            // (muelled's) sends it, the daemon ignores it, and no one warns.
            if r.cli == crate::Cli::Docker28 && r.d.name == "muelled" {
                return r.expect(&["--kernel-memory", "64m"], &["echo", "ran"], "ran\n");
            }
            r.dropped(&["--kernel-memory", "64m"], "Specifying a kernel memory limit is deprecated")
        },
    },
    Row {
        flag: "--oom-kill-disable",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["-m", "64m", "--oom-kill-disable"],
                &["head", "-1", "/sys/fs/cgroup/memory/memory.oom_control"],
                "oom_kill_disable 1\n",
            )?;
            r.dropped(&["--oom-kill-disable"], "OOM killer is disabled for the container, but no memory limit is set")
        },
    },
    Row {
        flag: "--oom-score-adj",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--oom-score-adj", "500"], &["cat", "/proc/self/oom_score_adj"], "500\n"),
    },
    Row {
        flag: "--cpus",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpus", "0.5"], "cpu/cpu.cfs_quota_us", "50000"),
    },
    Row {
        flag: "--cpu-shares",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["-c", "512"], "cpu/cpu.shares", "512"),
    },
    Row {
        flag: "--cpu-period",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpu-period", "50000"], "cpu/cpu.cfs_period_us", "50000"),
    },
    Row {
        flag: "--cpu-quota",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpu-quota", "25000"], "cpu/cpu.cfs_quota_us", "25000"),
    },
    Row {
        flag: "--cpu-rt-period",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpu-rt-period", "900000"], "cpu/cpu.rt_period_us", "900000"),
    },
    Row {
        // The daemon's own cgroup has no real-time budget to hand out (dockerd's
        // --cpu-rt-runtime is not set): the kernel refuses the write, as under dockerd.
        flag: "--cpu-rt-runtime",
        verdict: Refused("the kernel refuses the write to cpu.rt_runtime_us (invalid argument)"),
        dockerd: Same,
        check: |r| r.refused(&["--cpu-rt-runtime", "1000"], "cpu.rt_runtime_us"),
    },
    Row {
        flag: "--cpuset-cpus",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpuset-cpus", "0"], "cpuset/cpuset.cpus", "0"),
    },
    Row {
        flag: "--cpuset-mems",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--cpuset-mems", "0"], "cpuset/cpuset.mems", "0"),
    },
    Row {
        flag: "--cpu-count",
        verdict: Refused(WINDOWS_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--cpu-count", "2"], WINDOWS_ONLY),
    },
    Row {
        flag: "--cpu-percent",
        verdict: Refused(WINDOWS_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--cpu-percent", "50"], WINDOWS_ONLY),
    },
    Row {
        flag: "--io-maxbandwidth",
        verdict: Refused(WINDOWS_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--io-maxbandwidth", "1m"], WINDOWS_ONLY),
    },
    Row {
        flag: "--io-maxiops",
        verdict: Refused(WINDOWS_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--io-maxiops", "100"], WINDOWS_ONLY),
    },
    Row {
        flag: "--pids-limit",
        verdict: Works,
        dockerd: Same,
        check: |r| cg(r, &["--pids-limit", "50"], "pids/pids.max", "50"),
    },
    Row {
        flag: "--blkio-weight",
        verdict: Dropped("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."),
        dockerd: Same,
        check: |r| r.dropped(&["--blkio-weight", "300"], "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."),
    },
    Row {
        flag: "--blkio-weight-device",
        verdict: Dropped("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded."),
        dockerd: Same,
        check: |r| {
            let (dev, _) = root_disk();
            r.dropped(
                &["--blkio-weight-device", &format!("{dev}:300")],
                "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.",
            )
        },
    },
    Row {
        flag: "--device-read-bps",
        verdict: Works,
        dockerd: Same,
        check: |r| throttle(r, "--device-read-bps", "1mb", "blkio.throttle.read_bps_device", "1048576"),
    },
    Row {
        flag: "--device-write-bps",
        verdict: Works,
        dockerd: Same,
        check: |r| throttle(r, "--device-write-bps", "2mb", "blkio.throttle.write_bps_device", "2097152"),
    },
    Row {
        flag: "--device-read-iops",
        verdict: Works,
        dockerd: Same,
        check: |r| throttle(r, "--device-read-iops", "100", "blkio.throttle.read_iops_device", "100"),
    },
    Row {
        flag: "--device-write-iops",
        verdict: Works,
        dockerd: Same,
        check: |r| throttle(r, "--device-write-iops", "200", "blkio.throttle.write_iops_device", "200"),
    },
    Row {
        flag: "--ulimit",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--ulimit", "nofile=512:512"], &["sh", "-c", "ulimit -n"], "512\n"),
    },
    Row {
        flag: "--shm-size",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--shm-size", "16m"],
                &["sh", "-c", "df -k /dev/shm | tail -1 | awk '{print $2}'"],
                "16384\n",
            )
        },
    },
    Row {
        flag: "--cgroup-parent",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("cgp");
            let out = r.out(
                &["--cgroup-parent", "/muelle-flagtable", "--cgroupns", "host", "--name", &n],
                &["grep", ":memory:", "/proc/self/cgroup"],
            )?;
            if !out.contains(":memory:/muelle-flagtable/") {
                return Err(format!("memory cgroup {out:?} not under /muelle-flagtable"));
            }
            Ok(())
        },
    },
    Row {
        flag: "--cgroupns",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let out = r.out(&["--cgroupns", "private"], &["grep", ":memory:", "/proc/self/cgroup"])?;
            if !out.ends_with(":memory:/\n") {
                return Err(format!("in a private cgroup namespace: {out:?}"));
            }
            Ok(())
        },
    },
];
