//! The remaining resource flags through muelled with the stock docker CLI, each beside the
//! same command on the shared dockerd: block-I/O weights and throttles (in the container's
//! blkio cgroup files, or dropped with dockerd's warning where this kernel lacks the weight
//! files), `--oom-kill-disable`, `--memory-swappiness`, `--kernel-memory` (deprecated:
//! warned, never applied), `--cpu-rt-*`, `--cgroup-parent`, and what dockerd on Linux refuses
//! (`--isolation`, `--storage-opt` off xfs, `--runtime` names it does not know, the
//! Windows-only flags); `docker update` with the flags it has of these.
//!
//! Needs the cgroup v1 hierarchies (this host's kind) and dockerd with busybox; a missing
//! one fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::both::{unique, Both};

fn env() -> Both {
    assert!(
        Path::new("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device").exists(),
        "these tests read cgroup v1 files: the host has no v1 blkio hierarchy"
    );
    Both::start()
}

/// The block device the root file system is on (`/dev/vda`), and its numbers.
fn root_device() -> (String, String) {
    let dev = std::fs::metadata("/").unwrap().dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).unwrap();
    let name = uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .expect("DEVNAME of the root device");
    (format!("/dev/{name}"), format!("{major}:{minor}"))
}

const NO_WEIGHT: &str =
    "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

#[test]
fn block_io_throttles_are_in_the_cgroup_and_weights_as_the_kernel_allows_needs_dockerd() {
    let e = env();
    let (dev, numbers) = root_device();
    let rbps = format!("{dev}:1mb");
    let wiops = format!("{dev}:100");
    let wbps = format!("{dev}:2mb");
    let riops = format!("{dev}:50");
    let r = e.same(
        &[
            "--device-read-bps", &rbps, "--device-write-bps", &wbps,
            "--device-read-iops", &riops, "--device-write-iops", &wiops,
        ],
        "cd /sys/fs/cgroup/blkio; cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device \
         blkio.throttle.read_iops_device blkio.throttle.write_iops_device",
    );
    assert_eq!(
        r.out,
        format!("{numbers} 1048576\n{numbers} 2097152\n{numbers} 50\n{numbers} 100\n")
    );
    // Reads go through the throttled group: a direct read of the container's own files
    // (overlay over the root device) is counted in the group's throttle counters.
    let r = e.same(
        &["--device-read-bps", &rbps],
        &format!(
            "dd if=/bin/busybox of=/dev/null bs=64k count=4 iflag=direct 2>/dev/null; \
             grep -c '^{numbers} Read [1-9]' /sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes"
        ),
    );
    assert_eq!(r.out, "1\n");
    let weight_file = Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists();
    let (ours, theirs) = e.run(&["--blkio-weight", "500"], "true");
    assert_eq!((ours.code, ours.message()), (theirs.code, theirs.message()));
    if !weight_file {
        // dockerd drops the weight, even one out of range, before checking its range.
        assert_eq!(ours.message(), NO_WEIGHT);
        let (ours, theirs) = e.run(&["--blkio-weight", "5"], "true");
        assert_eq!((ours.code, ours.message()), (0, NO_WEIGHT.to_string()));
        assert_eq!((theirs.code, theirs.message()), (0, NO_WEIGHT.to_string()));
        let wd = format!("{dev}:300");
        let (ours, theirs) = e.run(&["--blkio-weight-device", &wd], "true");
        assert_eq!(ours.message(), theirs.message());
        assert!(
            ours.message().contains("Weight-device discarded"),
            "{ours:?}"
        );
    }
    // A throttle on a path that is no device: refused at create (dockerd: at start), with
    // dockerd's message, nothing made.
    let name = unique("mdev");
    let o = e.ours(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--device-read-bps",
        "/dev/nonexistent:1mb",
        "busybox",
        "true",
    ]);
    assert_ne!(o.code, 0);
    assert!(
        o.err
            .contains("stat /dev/nonexistent: no such file or directory"),
        "{o:?}"
    );
    assert!(e.our_names().is_empty());
}

#[test]
fn oom_swappiness_and_kernel_memory_needs_dockerd() {
    let e = env();
    let cat = "cat /sys/fs/cgroup/memory/memory.oom_control | head -1";
    let (ours, theirs) = e.run(&["--oom-kill-disable"], cat);
    assert_eq!(
        (ours.code, &ours.out, ours.message()),
        (theirs.code, &theirs.out, theirs.message())
    );
    assert_eq!(ours.out, "oom_kill_disable 1\n");
    // The docker CLI's own warning, then the daemon's.
    assert_eq!(
        ours.message(),
        "WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous.\n\
         WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."
    );
    let r = e.same(&["--oom-kill-disable", "-m", "64m"], cat);
    assert_eq!(r.out, "oom_kill_disable 1\n");
    assert!(r.err.is_empty(), "{r:?}");
    let r = e.same(&[], cat);
    assert_eq!(r.out, "oom_kill_disable 0\n");

    let r = e.same(
        &["--memory-swappiness", "30"],
        "cat /sys/fs/cgroup/memory/memory.swappiness",
    );
    assert_eq!(r.out, "30\n");
    let (ours, theirs) = e.run(&["--memory-swappiness", "101"], "true");
    assert_eq!((ours.code, ours.message()), (theirs.code, theirs.message()));
    assert_eq!(
        ours.message(),
        "docker: invalid value: 101. Valid memory swappiness range is 0-100"
    );

    // Kernel memory: a deprecation warning, the value kept for inspect, nothing written.
    let (ours, theirs) = e.run(
        &["--kernel-memory", "64m"],
        "cat /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes",
    );
    assert_eq!(
        (ours.code, &ours.out, ours.message()),
        (theirs.code, &theirs.out, theirs.message())
    );
    assert_eq!(ours.message(), "WARNING: Specifying a kernel memory limit is deprecated and will be removed in a future release.");
    let f = "{{.HostConfig.KernelMemory}} {{.HostConfig.OomKillDisable}} {{.HostConfig.MemorySwappiness}}";
    let ((o, on), (t, tn)) = e.create(
        &["--kernel-memory", "64m", "--memory-swappiness", "10"],
        &["true"],
    );
    assert_eq!((o.code, t.code), (0, 0));
    let ours = e.ours(&["inspect", "-f", f, &on]).out;
    assert_eq!(ours, e.theirs(&["inspect", "-f", f, &tn]).out);
    assert_eq!(ours, "67108864 false 10\n");
    let (ours, theirs) = e.run(&["--kernel-memory", "1k"], "true");
    assert_eq!(ours.message(), theirs.message());
    assert_eq!(
        ours.message(),
        "docker: Error response from daemon: Minimum kernel memory limit allowed is 6MB"
    );
}

#[test]
fn realtime_period_is_set_and_runtime_needs_a_parent_budget_needs_dockerd() {
    let e = env();
    let r = e.same(
        &["--cpu-rt-period", "100000"],
        "cat /sys/fs/cgroup/cpu/cpu.rt_period_us",
    );
    assert_eq!(r.out, "100000\n");
    // runtime above period: refused by both at create.
    let (ours, theirs) = e.run(
        &["--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000"],
        "true",
    );
    assert_eq!(ours.message(), theirs.message());
    assert_eq!(ours.message(), "docker: Error response from daemon: cpu real-time runtime cannot be higher than cpu real-time period");
    // A runtime while the daemon's parent cgroup has no real-time budget: the kernel
    // refuses the write at start on both (dockerd words it through runc).
    let (ours, theirs) = e.run(&["--cpu-rt-runtime", "1000"], "true");
    assert_eq!((ours.code, theirs.code), (125, 125), "{ours:?} {theirs:?}");
    assert!(
        ours.err.contains("cpu.rt_runtime_us") && ours.err.contains("Invalid argument"),
        "{ours:?}"
    );
    assert!(
        theirs.err.contains("cpu.rt_runtime_us") && theirs.err.contains("invalid argument"),
        "{theirs:?}"
    );
}

#[test]
fn cgroup_parent_places_the_container_needs_dockerd() {
    let e = env();
    let pid = std::process::id();
    let script = "grep ':memory:' /proc/self/cgroup; hostname";
    let placed = |r: &support::both::Res, under: &str| {
        assert_eq!(r.code, 0, "{r:?}");
        let mut lines = r.out.lines();
        let (cg, short) = (lines.next().unwrap(), lines.next().unwrap());
        assert!(
            cg.starts_with(&format!("4:memory:{under}/")) && cg.contains(short),
            "{cg} under {under}"
        );
    };
    let mut made = Vec::new();
    // Absolute parents, a plain directory and a systemd-like name (a directory too with the
    // cgroupfs driver), on both.
    for parent in [format!("/muelle-test-{pid}"), format!("/mtest-{pid}.slice")] {
        let (ours, theirs) = e.run(&["--cgroup-parent", &parent], script);
        placed(&ours, &parent);
        placed(&theirs, &parent);
        made.push(parent);
    }
    // A relative parent is taken from the cgroup root by muelled (dockerd leaves it to
    // runc, relative to its shim's cgroup, wherever dockerd was started).
    let rel = format!("mrel-{pid}");
    let ours = e.ours(&[
        "run",
        "--rm",
        "--cgroup-parent",
        &rel,
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    placed(&ours, &format!("/{rel}"));
    made.push(rel);
    for parent in made {
        for h in [
            "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "pids",
            "systemd",
        ] {
            let _ = std::fs::remove_dir(
                Path::new("/sys/fs/cgroup")
                    .join(h)
                    .join(parent.trim_start_matches('/')),
            );
        }
    }
}

#[test]
fn what_linux_does_not_offer_is_refused_as_dockerd_refuses_it_needs_dockerd() {
    let e = env();
    for flags in [
        &["--isolation", "hyperv"][..],
        &["--storage-opt", "size=1G"][..],
        &["--runtime", "bogus"][..],
        &["--cpu-count", "2"][..],
        &["--cpu-percent", "50"][..],
        &["--io-maxbandwidth", "1m"][..],
        &["--io-maxiops", "100"][..],
        &["--storage-opt", "size"][..],
    ] {
        let (ours, theirs) = e.run(flags, "true");
        assert_eq!(
            (ours.code, ours.message()),
            (theirs.code, theirs.message()),
            "{flags:?}"
        );
        assert_ne!(ours.code, 0, "{flags:?}");
    }
    assert!(e.our_names().is_empty(), "{:?}", e.our_names());
    for flags in [&["--isolation", "default"][..], &["--runtime", "runc"][..]] {
        e.same(flags, "true");
    }
    // Through the API: dockerd's answers to the Windows-only fields.
    let r = e.d.http(
        "POST",
        "/containers/create",
        br#"{"Image":"busybox","HostConfig":{"IOMaximumIOps":5}}"#,
    );
    assert_eq!(
        (r.status, r.message()),
        (
            400,
            "Invalid QoS settings: linux does not support configuration of maximum IOPs"
                .to_string()
        )
    );
    let r = e.d.http(
        "POST",
        "/containers/create",
        br#"{"Image":"busybox","HostConfig":{"CpuPercent":50,"CpuCount":2}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["Warnings"],
        serde_json::json!(["linux does not support CPU percent. Percent discarded."])
    );
}

#[test]
fn update_takes_realtime_kernel_memory_and_weight_as_dockerd_needs_dockerd() {
    let e = env();
    let ((o, on), (t, tn)) = e.create(&[], &["sleep", "60"]);
    assert_eq!((o.code, t.code), (0, 0));
    assert_eq!(e.ours(&["start", &on]).code, 0);
    assert_eq!(e.theirs(&["start", &tn]).code, 0);
    for flags in [
        &["--cpu-rt-period", "200000"][..],
        &["--kernel-memory", "64m"][..],
        &["--blkio-weight", "300"][..],
    ] {
        let mut a = vec!["update"];
        a.extend_from_slice(flags);
        let ours = e.ours(&[a.as_slice(), &[on.as_str()]].concat());
        let theirs = e.theirs(&[a.as_slice(), &[tn.as_str()]].concat());
        assert_eq!(
            (ours.code, ours.message()),
            (theirs.code, theirs.message()),
            "{flags:?}"
        );
    }
    // The real-time period is recorded, not written to the running cgroup (as dockerd).
    let cat = ["exec", "", "cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us"];
    let mut c = cat;
    c[1] = &on;
    let ours = e.ours(&c).out;
    c[1] = &tn;
    assert_eq!(ours, e.theirs(&c).out);
    assert_eq!(ours, "1000000\n");
    let f = "{{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.KernelMemory}}";
    let ours = e.ours(&["inspect", "-f", f, &on]).out;
    assert_eq!(ours, e.theirs(&["inspect", "-f", f, &tn]).out);
    assert_eq!(ours, "200000 67108864\n");
}
