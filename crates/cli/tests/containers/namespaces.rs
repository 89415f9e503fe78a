//! The namespace and identity flags of `run`/`create` (`--pid`, `--ipc`, `--uts`,
//! `--userns`, `--shm-size`, `--sysctl`, `--oom-score-adj`, `--domainname`, `--group-add`):
//! the same container and the same inspect fields through muelle as through docker, and the
//! same refusals.

use super::*;

/// The message of a refusal without the CLI's name and docker 20.10's trailing hint.
fn message(o: &std::process::Output) -> String {
    let err = text(&o.stderr);
    let line = err.lines().next().unwrap_or_default();
    let line = line
        .strip_prefix("muelle: ")
        .or_else(|| line.strip_prefix("docker: "))
        .unwrap_or(line);
    line.trim_end_matches('.')
        .replace("is not whitelisted", "is not allowed")
}

pub(crate) fn namespace_flags(d: &Daemon) {
    for (args, script) in [
        (&["--pid", "host"][..], "cat /proc/1/comm"),
        (
            &["--ipc", "none"],
            "grep -c ' /dev/shm ' /proc/mounts; true",
        ),
        (&["--shm-size", "1m"], "df -k /dev/shm | tail -1"),
        (&["--uts", "host"], "hostname"),
        (
            &[
                "--sysctl",
                "kernel.shmmax=4096",
                "--sysctl",
                "net.ipv4.tcp_syncookies=0",
            ],
            "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_syncookies",
        ),
        (&["--oom-score-adj", "500"], "cat /proc/self/oom_score_adj"),
        (
            &["--domainname", "example.com"],
            "cat /proc/sys/kernel/domainname",
        ),
        (&["--group-add", "42", "--group-add", "tty"], "id -G"),
        (&["--userns", "host"], "cat /proc/self/uid_map"),
    ] {
        let mut a = vec!["run", "--rm", NONET];
        a.extend(args);
        a.extend(["busybox", "sh", "-c", script]);
        let (m, k) = both_ok(d, &a);
        assert_eq!(m, k, "{args:?}");
    }
    let mut names = Names::new(d);
    let fields = "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}|{{.HostConfig.UTSMode}}|\
        {{.HostConfig.UsernsMode}}|{{.HostConfig.ShmSize}}|{{.HostConfig.OomScoreAdj}}|\
        {{json .HostConfig.Sysctls}}|{{json .HostConfig.GroupAdd}}|{{.Config.Domainname}}";
    let flags = [
        "--pid",
        "host",
        "--ipc",
        "shareable",
        "--uts",
        "host",
        "--shm-size",
        "3m",
        "--oom-score-adj",
        "7",
        "--sysctl",
        "kernel.sem=250 32000 32 128",
        "--group-add",
        "5",
        "--domainname",
        "d.example",
    ];
    let mut shown = Vec::new();
    for cli in [
        muelle as fn(&Daemon, &[&str]) -> std::process::Output,
        docker,
    ] {
        let n = names.make("ns");
        let mut a = vec!["create", NONET, "--name", &n];
        a.extend(flags);
        a.push("busybox");
        ok(cli(d, &a), "create");
        shown.push(ok(cli(d, &["inspect", "-f", fields, &n]), "inspect"));
    }
    assert_eq!(shown[0], shown[1]);
    assert!(
        shown[0].starts_with("host|shareable|host||3145728|7|"),
        "{}",
        shown[0]
    );
    for args in [
        &["--pid", "bogus"][..],
        &["--uts", "bogus"],
        &["--userns", "bogus"],
        &["--sysctl", "kernel.foo=1"],
        &["--ipc", "bogus"],
        &["--uts", "host", "--hostname", "x"],
        &["--pid", "container:muelletest-nosuch"],
    ] {
        let mut a = vec!["run", "--rm", NONET];
        a.extend(args);
        a.extend(["busybox", "true"]);
        let (m, k) = both(d, &a);
        assert_eq!(
            (m.status.code(), k.status.code()),
            (Some(125), Some(125)),
            "{args:?}"
        );
        assert_eq!(message(&m), message(&k), "{args:?}");
    }
}
