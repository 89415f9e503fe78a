//! The flags of `run`/`create`: an unknown one before the image is a usage error (125) with
//! docker's message, one after it is the command's; `--read-only` with `--tmpfs`, and
//! `--pids-limit` in inspect and in the container's pids cgroup.

use super::*;

/// The first line of stderr: the 20.10 CLI and muelle word their usage hint differently.
fn first_line(o: &std::process::Output) -> String {
    text(&o.stderr)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn unknown_flags(d: &Daemon) {
    for args in [
        &["run", "--rm", NONET, "--bogus", "busybox", "true"][..],
        &["run", "--rm", NONET, "--bogus=3", "busybox", "true"],
        &["run", "--rm", NONET, "-Z", "busybox", "true"],
        &["create", NONET, "--bogus", "busybox", "true"],
    ] {
        let (m, k) = both(d, args);
        assert_eq!(
            (m.status.code(), k.status.code()),
            (Some(125), Some(125)),
            "{args:?}"
        );
        assert_eq!(first_line(&m), first_line(&k), "{args:?}");
        assert!(first_line(&m).starts_with("unknown "), "{args:?}");
    }
    let (m, k) = both_ok(
        d,
        &["run", "--rm", NONET, "busybox", "echo", "--bogus", "-Z"],
    );
    assert_eq!(m, "--bogus -Z\n");
    assert_eq!(m, k);
}

pub(crate) fn read_only_with_tmpfs(d: &Daemon) {
    let args = [
        "run",
        "--rm",
        NONET,
        "--read-only",
        "--tmpfs",
        "/scratch:rw,size=1m",
        "busybox",
        "sh",
        "-c",
        "touch /scratch/x && echo tmpfs-ok; touch /x",
    ];
    let (m, k) = both(d, &args);
    assert_eq!(text(&m.stdout), "tmpfs-ok\n", "{}", text(&m.stderr));
    assert_eq!(text(&m.stdout), text(&k.stdout));
    assert_eq!(m.status.code(), Some(1));
    assert_eq!(m.status.code(), k.status.code());
    assert!(
        text(&m.stderr).contains("Read-only file system"),
        "{}",
        text(&m.stderr)
    );
}

pub(crate) fn pids_limit_needs_cgroupv1(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("pids");
    ok(
        muelle(
            d,
            &[
                "create",
                NONET,
                "--name",
                &n,
                "--pids-limit",
                "20",
                "busybox",
                "true",
            ],
        ),
        "create --pids-limit",
    );
    let (m, k) = both_ok(d, &["inspect", "--format", "{{.HostConfig.PidsLimit}}", &n]);
    assert_eq!(m, "20\n");
    assert_eq!(m, k);

    let (m, k) = both_ok(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--pids-limit",
            "20",
            "busybox",
            "cat",
            "/sys/fs/cgroup/pids/pids.max",
        ],
    );
    assert_eq!(m, "20\n");
    assert_eq!(m, k);
}

/// The resource and security flags reach the container: the same values through both CLIs.
pub(crate) fn resource_flags_needs_cgroupv1(d: &Daemon) {
    let (m, k) = both_ok(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--ulimit",
            "nofile=100:200",
            "-c",
            "512",
            "-m",
            "64m",
            "--memory-swap",
            "-1",
            "--memory-reservation",
            "32m",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--cpuset-cpus",
            "0",
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; \
             cd /sys/fs/cgroup; cat cpu/cpu.shares cpu/cpu.cfs_quota_us cpuset/cpuset.cpus \
             memory/memory.soft_limit_in_bytes",
        ],
    );
    assert_eq!(m, "100\n200\nNoNewPrivs:\t1\n512\n50000\n0\n33554432\n");
    assert_eq!(m, k);
}
