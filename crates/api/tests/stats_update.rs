//! `docker stats` and `docker update` against muelled, from the stock docker CLI and the raw
//! API: the limits reach the container's cgroup (and survive a restart), a lowered pids
//! limit stops a fork, CPU time grows under a busy loop; the JSON shapes (keys and types)
//! and the error answers are compared with the shared dockerd (unix:///run/docker.sock).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use muelle_test_support::proc::{unique, wait_for};
use serde_json::Value;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD_SOCK: &str = "/run/docker.sock";

struct Env {
    d: Daemon,
    theirs: Vec<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for n in &self.theirs {
            let _ = dockerd(&["rm", "-f", n]);
        }
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env() -> Env {
    Env {
        d: daemon_with_busybox(),
        theirs: Vec::new(),
    }
}

fn dockerd(args: &[&str]) -> Output {
    Command::new(DOCKER)
        .args(["-H", &format!("unix://{DOCKERD_SOCK}")])
        .args(args)
        .output()
        .expect("run docker")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn name(what: &str) -> String {
    format!("mst-{what}-{}", unique())
}

fn limit_in_cgroup(d: &Daemon, n: &str) -> u64 {
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", n]);
    let dir = cgroup_dir(pid.trim(), "memory");
    std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn stats(d: &Daemon, n: &str, query: &str) -> Value {
    let r = d.http("GET", &format!("/containers/{n}/stats?{query}"), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn update_memory_reaches_the_cgroup_and_survives_restart_needs_docker_cgroupv1() {
    let e = env();
    let d = &e.d;
    let n = name("mem");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    let before = stats(d, &n, "stream=false&one-shot=true");
    assert!(before["memory_stats"]["limit"].as_u64().unwrap() > 64 << 20);

    let out = d.docker_ok(&["update", "--memory", "64m", "--memory-swap", "128m", &n]);
    assert_eq!(out.trim(), n);
    assert_eq!(limit_in_cgroup(d, &n), 64 << 20);
    let after = stats(d, &n, "stream=false&one-shot=true");
    assert_eq!(after["memory_stats"]["limit"], 64 << 20);
    let table = d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", &n]);
    assert!(table.trim().ends_with("/ 64MiB"), "{table}");
    let hc = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
        &n,
    ]);
    assert_eq!(hc.trim(), format!("{} {}", 64 << 20, 128 << 20));

    d.docker_ok(&["restart", "-t", "0", &n]);
    assert_eq!(
        limit_in_cgroup(d, &n),
        64 << 20,
        "the limit after a restart"
    );

    // Docker's refusals, nothing changed by them.
    let o = d.docker(&["update", "--memory", "1k", &n]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("Minimum memory limit allowed is 6MB"),
        "{}",
        text(&o)
    );
    let o = d.docker(&["update", "--memory", "512m", &n]);
    assert!(
        text(&o).contains("update the memoryswap at the same time"),
        "{}",
        text(&o)
    );
    assert_eq!(limit_in_cgroup(d, &n), 64 << 20);

    // A stopped container answers zeroed stats, and takes an update at its next start.
    d.docker_ok(&["stop", "-t", "0", &n]);
    let z = stats(d, &n, "stream=false");
    assert_eq!(z["read"], "0001-01-01T00:00:00Z");
    assert_eq!(z["memory_stats"], serde_json::json!({}));
    assert_eq!(z["name"], format!("/{n}"));
    d.docker_ok(&["update", "--memory", "32m", &n]);
    d.docker_ok(&["start", &n]);
    assert_eq!(limit_in_cgroup(d, &n), 32 << 20);
}

#[test]
fn pids_limit_update_stops_a_fork_needs_docker() {
    let e = env();
    let d = &e.d;
    let n = name("pids");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    let forks = "for i in 1 2 3 4 5 6; do sleep 2 & done; wait; echo forked";
    let o = d.docker(&["exec", &n, "sh", "-c", forks]);
    assert!(text(&o).contains("forked"), "{}", text(&o));

    d.docker_ok(&["update", "--pids-limit", "3", &n]);
    let s = stats(d, &n, "stream=false&one-shot=true");
    assert_eq!(s["pids_stats"]["limit"], 3);
    let o = d.docker(&["exec", &n, "sh", "-c", forks]);
    assert!(text(&o).contains("can't fork"), "{}", text(&o));

    d.docker_ok(&["update", "--pids-limit", "-1", &n]);
    let o = d.docker(&["exec", &n, "sh", "-c", forks]);
    assert!(text(&o).contains("forked"), "{}", text(&o));
}

#[test]
fn cpu_usage_grows_under_a_busy_loop_needs_docker() {
    let e = env();
    let d = &e.d;
    let n = name("cpu");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let total = |v: &Value| v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap();
    let first = total(&stats(d, &n, "stream=false&one-shot=true"));
    wait_for("CPU time to grow", Duration::from_secs(30), || {
        total(&stats(d, &n, "stream=false&one-shot=true")) > first
    });
    // stream=false carries the previous sample, so the docker CLI shows a share of the CPU.
    let s = stats(d, &n, "stream=false");
    assert!(
        total(&s)
            > s["precpu_stats"]["cpu_usage"]["total_usage"]
                .as_u64()
                .unwrap()
    );
    assert!(s["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
    assert!(s["cpu_stats"]["online_cpus"].as_u64().unwrap() > 0);
    let cpu = d.docker_ok(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", &n]);
    assert_ne!(cpu.trim(), "0.00%");
    assert!(cpu.trim().ends_with('%'), "{cpu}");

    // The streamed form: the docker CLI redraws a table per sample until stopped.
    let mut child = d
        .docker_command()
        .args(["stats", "--format", "{{.Name}} {{.PIDs}}", &n])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0;
    while seen < 2 {
        let l = lines.next().expect("a stats line").unwrap();
        if l.contains(&format!("{n} 1")) {
            seen += 1;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Every key of `v` with the JSON type of its value, recursively (map keys of
/// `memory_stats.stats` included: dockerd's selection of memory.stat counters).
fn shape(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    out.insert(format!("{at}: {kind}"));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                shape(x, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(a) => match a.first() {
            Some(x) => shape(x, &format!("{at}[]"), out),
            None => {
                out.insert(format!("{at}: empty"));
            }
        },
        _ => {}
    }
}

fn shape_of(v: &Value) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    shape(v, "", &mut s);
    s
}

/// The two shapes compared where both sides have something to show: an array
/// one side left empty says nothing about its elements (blkio entries appear
/// only once the container has read from a disk, which depends on whether the
/// image's files were still in the page cache).
fn same_shape(ours: &Value, theirs: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let (o, t) = (shape_of(ours), shape_of(theirs));
    let empty: Vec<String> = o
        .iter()
        .chain(&t)
        .filter_map(|p| p.strip_suffix(": empty").map(|at| format!("{at}[]")))
        .collect();
    let keep = |s: BTreeSet<String>| -> BTreeSet<String> {
        s.into_iter()
            .filter(|p| !p.ends_with(": empty") && !empty.iter().any(|e| p.starts_with(e.as_str())))
            .collect()
    };
    (keep(o), keep(t))
}

fn theirs_http(method: &str, path: &str, body: &[u8]) -> support::Response {
    support::http(
        Path::new(DOCKERD_SOCK),
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
}

#[test]
fn stats_and_update_answer_as_dockerd_needs_dockerd() {
    let mut e = env();
    let n = name("shape");
    let o = dockerd(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);
    assert!(o.status.success(), "dockerd run: {}", text(&o));
    e.theirs.push(n.clone());
    let d = &e.d;
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "busybox",
        "sleep",
        "300",
    ]);

    for q in ["stream=false", "stream=false&one-shot=true"] {
        let path = format!("/containers/{n}/stats?{q}");
        let ours = d.http("GET", &path, b"");
        let theirs = theirs_http("GET", &path, b"");
        assert_eq!((ours.status, theirs.status), (200, 200));
        let (o, t) = (ours.json(), theirs.json());
        let (so, st) = same_shape(&o, &t);
        assert_eq!(so, st, "{q}:\nours {o}\ntheirs {t}");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&o), keys(&t), "key order");
    }

    // The docker CLI's rows: the same fields, the same header.
    let fmt = ["stats", "--no-stream", "--format", "{{json .}}", n.as_str()];
    let ours: Value = serde_json::from_str(d.docker_ok(&fmt).trim()).unwrap();
    let o = dockerd(&fmt);
    assert!(o.status.success(), "{}", text(&o));
    let theirs: Value = serde_json::from_slice(&o.stdout).unwrap();
    let (so, st) = same_shape(&ours, &theirs);
    assert_eq!(so, st);
    assert_eq!(ours["Name"], theirs["Name"]);
    assert_eq!(ours["PIDs"], "1");
    // The columns, not their widths: the CLI pads each to its widest cell, and BLOCK I/O
    // depends on what each container happened to read through the page cache.
    let head = |s: &str| {
        s.lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let table = d.docker_ok(&["stats", "--no-stream", &n]);
    let o = dockerd(&["stats", "--no-stream", &n]);
    assert_eq!(head(&table), head(&String::from_utf8_lossy(&o.stdout)));

    // Update answers and refusals.
    let cases: &[(&str, &str)] = &[
        (r#"{"Memory":67108864,"MemorySwap":134217728}"#, ""),
        (r#"{"Memory":1024}"#, ""),
        (r#"{"Memory":536870912}"#, "Cannot update container "),
        (r#"{"BlkioWeight":5}"#, ""),
        (r#"{"CpuPeriod":10}"#, ""),
        (r#"{"RestartPolicy":{"Name":"sometimes"}}"#, ""),
        (r#"{"NanoCpus":500000000,"CpuQuota":20000}"#, ""),
        (
            r#"{"PidsLimit":20,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}}"#,
            "",
        ),
    ];
    let id_free = |msg: String, prefix: &str| -> String {
        // The container ID differs; the words after it must not.
        match msg.strip_prefix(prefix) {
            Some(rest) if !prefix.is_empty() => rest
                .split_once(": ")
                .map(|(_, m)| m.to_string())
                .unwrap_or_default(),
            _ => msg,
        }
    };
    for (body, prefix) in cases {
        let path = format!("/containers/{n}/update");
        let ours = d.http_with(
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let theirs = theirs_http("POST", &path, body.as_bytes());
        assert_eq!(
            ours.status,
            theirs.status,
            "{body}: ours {} theirs {}",
            ours.text(),
            theirs.text()
        );
        if theirs.status == 200 {
            assert_eq!(ours.json(), theirs.json(), "{body}");
        } else {
            assert_eq!(
                id_free(ours.message(), prefix),
                id_free(theirs.message(), prefix),
                "{body}"
            );
        }
    }
    let f = "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}";
    let ours = d.docker_ok(&["inspect", "-f", f, &n]);
    let o = dockerd(&["inspect", "-f", f, &n]);
    assert_eq!(ours, String::from_utf8_lossy(&o.stdout));

    // A stopped container: the same zeroed sample.
    d.docker_ok(&["stop", "-t", "0", &n]);
    assert!(dockerd(&["stop", "-t", "0", &n]).status.success());
    let path = format!("/containers/{n}/stats?stream=false");
    let mut ours = d.http("GET", &path, b"").json();
    let mut theirs = theirs_http("GET", &path, b"").json();
    ours["id"] = Value::Null;
    theirs["id"] = Value::Null;
    assert_eq!(ours, theirs);
}

/// The cgroup v1 directory of `controller` for a running container's init.
fn cgroup_dir(pid: &str, controller: &str) -> std::path::PathBuf {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cg
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            ctrl.split(',')
                .any(|c| c == controller)
                .then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("a {controller} cgroup (v1)"));
    let mount = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.split(',').any(|c| c == controller))
        })
        .unwrap();
    mount.join(rel.trim_start_matches('/'))
}

#[test]
fn create_time_limits_reach_the_cgroup_needs_docker_cgroupv1() {
    let e = env();
    let d = &e.d;
    let n = name("create");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "20",
        "busybox",
        "sleep",
        "300",
    ]);
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", &n]);
    let read = |ctrl: &str, file: &str| {
        std::fs::read_to_string(cgroup_dir(pid.trim(), ctrl).join(file))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(
        read("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    // dockerd's default swap: as much again as the memory limit.
    assert_eq!(
        read("memory", "memory.memsw.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(read("cpu", "cpu.shares"), "512");
    assert_eq!(read("pids", "pids.max"), "20");
    let hc = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}}",
        &n,
    ]);
    assert_eq!(hc.trim(), format!("{} 500000000", 128u64 << 20));
    let s = stats(d, &n, "stream=false&one-shot=true");
    assert_eq!(s["pids_stats"]["limit"], 20);
    assert_eq!(s["memory_stats"]["limit"], 64u64 << 20);
}
