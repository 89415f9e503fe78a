//! Rows for the container's processes and identity: namespaces shared with the host or
//! another container, host and domain names, restart, stop, health checks, runtime and
//! isolation.

use crate::Dockerd::*;
use crate::Verdict::*;
use crate::{same, Row, R};

/// A running peer container to share namespaces with.
fn peer(r: &R) -> Result<String, String> {
    let n = r.name("peer");
    r.out(&["-d", "--name", &n], &["sleep", "60"])?;
    Ok(n)
}

fn host_ns(kind: &str) -> String {
    format!(
        "{}\n",
        std::fs::read_link(format!("/proc/self/ns/{kind}"))
            .unwrap()
            .display()
    )
}

fn ns_of(r: &R, name: &str, kind: &str) -> Result<String, String> {
    let pid = r.ok(&["inspect", "-f", "{{.State.Pid}}", name])?;
    Ok(format!(
        "{}\n",
        std::fs::read_link(format!("/proc/{}/ns/{kind}", pid.trim()))
            .map_err(|e| e.to_string())?
            .display()
    ))
}

/// The check of a `--health-*` flag that only configures: its value in inspect.
fn health_field(r: &R, opts: &[&str], field: &str, want: &str) -> Result<(), String> {
    let n = r.name("hc");
    let mut all = vec!["--health-cmd", "true"];
    all.extend_from_slice(opts);
    r.create(&n, &all)?;
    r.inspect(&n, &format!("{{{{.Config.Healthcheck.{field}}}}}"), want)
}

pub const ROWS: &[Row] = &[
    Row {
        flag: "--pid",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let p = peer(r)?;
            r.expect(
                &["--pid", &format!("container:{p}")],
                &["cat", "/proc/1/comm"],
                "sleep\n",
            )?;
            let host = r.out(&["--pid", "host"], &["cat", "/proc/1/comm"])?;
            let init = std::fs::read_to_string("/proc/1/comm").unwrap();
            same(&host, &init, "--pid host: pid 1")
        },
    },
    Row {
        flag: "--ipc",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--ipc", "host"],
                &["readlink", "/proc/self/ns/ipc"],
                &host_ns("ipc"),
            )?;
            let p = r.name("ipcpeer");
            r.out(
                &["-d", "--ipc", "shareable", "--name", &p],
                &["sleep", "60"],
            )?;
            let theirs = ns_of(r, &p, "ipc")?;
            r.expect(
                &["--ipc", &format!("container:{p}")],
                &["readlink", "/proc/self/ns/ipc"],
                &theirs,
            )
        },
    },
    Row {
        flag: "--uts",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let host = rustix::system::uname();
            let want = format!("{}\n", host.nodename().to_string_lossy());
            r.expect(&["--uts", "host"], &["hostname"], &want)
        },
    },
    Row {
        flag: "--hostname",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["-h", "box"], &["hostname"], "box\n"),
    },
    Row {
        flag: "--domainname",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--domainname", "example.org"],
                &["cat", "/proc/sys/kernel/domainname"],
                "example.org\n",
            )
        },
    },
    Row {
        flag: "--restart",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("restart");
            r.out(
                &["-d", "--restart", "on-failure:1", "--name", &n],
                &["sh", "-c", "exit 3"],
            )?;
            r.eventually("restarted once, then left exited", || {
                r.inspect(
                    &n,
                    "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
                    "1 exited 3",
                )
            })
        },
    },
    Row {
        flag: "--stop-signal",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("stopsig");
            r.out(
                &["-d", "--stop-signal", "USR1", "--name", &n],
                &[
                    "sh",
                    "-c",
                    "trap 'exit 42' USR1; while :; do sleep 0.1; done",
                ],
            )?;
            r.ok(&["stop", &n])?;
            r.inspect(&n, "{{.Config.StopSignal}} {{.State.ExitCode}}", "USR1 42")
        },
    },
    Row {
        flag: "--stop-timeout",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("stopto");
            r.create(&n, &["--stop-timeout", "7"])?;
            r.inspect(&n, "{{.Config.StopTimeout}}", "7")
        },
    },
    Row {
        flag: "--health-cmd",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("health");
            r.out(
                &[
                    "-d",
                    "--name",
                    &n,
                    "--health-cmd",
                    "test -e /tmp/up",
                    "--health-interval",
                    "1s",
                ],
                &["sh", "-c", "touch /tmp/up; sleep 60"],
            )?;
            r.eventually("healthy", || {
                r.inspect(&n, "{{.State.Health.Status}}", "healthy")
            })
        },
    },
    Row {
        flag: "--health-interval",
        verdict: Works,
        dockerd: Same,
        check: |r| health_field(r, &["--health-interval", "2s"], "Interval", "2s"),
    },
    Row {
        flag: "--health-retries",
        verdict: Works,
        dockerd: Same,
        check: |r| health_field(r, &["--health-retries", "5"], "Retries", "5"),
    },
    Row {
        flag: "--health-start-period",
        verdict: Works,
        dockerd: Same,
        check: |r| health_field(r, &["--health-start-period", "3s"], "StartPeriod", "3s"),
    },
    Row {
        flag: "--health-start-interval",
        verdict: Works,
        dockerd: Differs("API 1.44: dockerd 20.10 speaks 1.41 and the docker CLI refuses the flag"),
        check: |r| health_field(r, &["--health-start-interval", "1s"], "StartInterval", "1s"),
    },
    Row {
        flag: "--health-timeout",
        verdict: Works,
        dockerd: Same,
        check: |r| health_field(r, &["--health-timeout", "4s"], "Timeout", "4s"),
    },
    Row {
        flag: "--no-healthcheck",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("nohc");
            r.create(&n, &["--no-healthcheck"])?;
            r.inspect(&n, "{{json .Config.Healthcheck}}", "{\"Test\":[\"NONE\"]}")
        },
    },
    Row {
        flag: "--runtime",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(&["--runtime", "runc"], &["echo", "ok"], "ok\n")?;
            r.refused(
                &["--runtime", "ft-nosuch"],
                "Unknown runtime specified ft-nosuch",
            )
        },
    },
    Row {
        flag: "--isolation",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(&["--isolation", "default"], &["echo", "ok"], "ok\n")?;
            r.refused(
                &["--isolation", "hyperv"],
                "Invalid isolation: \"hyperv\" - linux only supports 'default'",
            )
        },
    },
];
