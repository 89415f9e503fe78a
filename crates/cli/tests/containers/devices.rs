//! The device and remaining resource flags of `run`/`create` through `muelle` beside the
//! docker CLI against the same daemon: `--device` (read-only device: the write open is
//! refused), `--device-cgroup-rule`, blkio throttles and the weight warning,
//! `--oom-kill-disable`, `--memory-swappiness`, `--kernel-memory`, `--cgroup-parent`
//! nothing, and the bad or Windows-only flags refused alike.

use super::*;

/// Opens `$1` for reading and for writing and says which worked.
const OPENS: &str = "o() { if (: < \"$1\") 2>/dev/null; then echo r-ok; else echo r-denied; fi; \
    if (: >> \"$1\") 2>/dev/null; then echo w-ok; else echo w-denied; fi; }";

/// stderr without the usage hint the two CLIs word differently, and without muelle's
/// `muelle: ` / docker's `docker: ` prefix.
fn said(o: &std::process::Output) -> String {
    text(&o.stderr)
        .lines()
        .filter(|l| {
            !l.trim().is_empty()
                && !l.starts_with("Run '")
                && !l.starts_with("See '")
                && !l.starts_with("Usage:")
                && !l.starts_with("time=")
        })
        .map(|l| {
            let l = l
                .strip_prefix("muelle: ")
                .or_else(|| l.strip_prefix("docker: "))
                .unwrap_or(l);
            l.strip_suffix('.').unwrap_or(l).to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The block device the root file system is on (`/dev/vda`), and its numbers.
fn root_device() -> (String, String) {
    use std::os::unix::fs::MetadataExt;
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

pub(crate) fn device_and_resource_flags_needs_cgroupv1(d: &Daemon) {
    let (dev, numbers) = root_device();
    let rbps = format!("{dev}:1mb");
    assert!(Path::new("/dev/loop7").exists(), "/dev/loop7 is needed");
    let script = format!("{OPENS}; stat -c '%t:%T' /dev/l; o /dev/l");
    for (flags, want) in [
        (
            &["--device", "/dev/loop7:/dev/l:r"][..],
            "7:7\nr-ok\nw-denied\n",
        ),
        (&["--device", "/dev/loop7:/dev/l"][..], "7:7\nr-ok\nw-ok\n"),
    ] {
        let mut a = vec!["run", "--rm", NONET];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["busybox", "sh", "-c", &script]);
        let (m, k) = both_ok(d, &a);
        assert_eq!(m, want, "{flags:?}");
        assert_eq!(m, k, "{flags:?}");
    }
    let rule = format!("{OPENS}; mknod /tmp/l b 7 7 && o /tmp/l");
    let (m, k) = both_ok(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--device-cgroup-rule",
            "b 7:7 r",
            "busybox",
            "sh",
            "-c",
            &rule,
        ],
    );
    assert_eq!(m, "r-ok\nw-denied\n");
    assert_eq!(m, k);

    let cat = "cat /sys/fs/cgroup/memory/memory.oom_control | head -1; \
        cat /sys/fs/cgroup/memory/memory.swappiness /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device";
    let (m, k) = both(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "-m",
            "64m",
            "--oom-kill-disable",
            "--memory-swappiness",
            "30",
            "--device-read-bps",
            &rbps,
            "--blkio-weight",
            "500",
            "--kernel-memory",
            "64m",
            "busybox",
            "sh",
            "-c",
            cat,
        ],
    );
    assert_eq!(
        text(&m.stdout),
        format!("oom_kill_disable 1\n30\n{numbers} 1048576\n"),
        "{}",
        text(&m.stderr)
    );
    assert_eq!(text(&m.stdout), text(&k.stdout));
    // The daemon's warnings (weight discarded on this kernel, kernel memory deprecated),
    // printed alike.
    assert_eq!(said(&m), said(&k));
    assert!(
        said(&m).contains("Specifying a kernel memory limit is deprecated"),
        "{}",
        said(&m)
    );

    let mut names = Names::new(d);
    let n = names.make("dev");
    ok(
        muelle(
            d,
            &[
                "create",
                NONET,
                "--name",
                &n,
                "--device",
                "/dev/loop7:/dev/l:r",
                "--cgroup-parent",
                "/muelle-cli-test",
                "--cpu-rt-period",
                "100000",
                "--isolation",
                "default",
                "busybox",
                "true",
            ],
        ),
        "create",
    );
    let f = "{{range .HostConfig.Devices}}{{.PathOnHost}}:{{.PathInContainer}}:{{.CgroupPermissions}}{{end}} {{.HostConfig.CgroupParent}} {{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.Isolation}}";
    let (m, k) = both_ok(d, &["inspect", "-f", f, &n]);
    assert_eq!(m, k);
    assert_eq!(m, "/dev/loop7:/dev/l:r /muelle-cli-test 100000 default\n");

    for (flags, code) in [
        (&["--device-cgroup-rule", "bogus"][..], 125),
        (&["--device", "/dev/loop7:/dev/l:rwx"][..], 125),
        (&["--device-read-bps", "vda:1"][..], 125),
        (&["--memory-swappiness", "101"][..], 125),
        (&["--gpus", "all"][..], 125),
        (&["--isolation", "hyperv"][..], 125),
        (&["--cpu-count", "2"][..], 1),
        (&["--io-maxiops", "10"][..], 1),
    ] {
        let mut a = vec!["run", "--rm", NONET];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["busybox", "true"]);
        let (m, k) = both(d, &a);
        assert_eq!(
            (m.status.code(), k.status.code()),
            (Some(code), Some(code)),
            "{flags:?}: {} | {}",
            said(&m),
            said(&k)
        );
        assert_eq!(said(&m), said(&k), "{flags:?}");
    }
}
