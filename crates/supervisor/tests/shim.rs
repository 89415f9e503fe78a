//! End to end: the shim binary started as muelled starts it, driven over shim.sock, with real
//! namespaces and cgroups (run as root).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::Shutdown;

use common::*;
use serde_json::{json, Value};

fn exit_file(c: &Ctr) -> Value {
    wait_for("exit file", TIMEOUT, || c.exit_file().exists());
    serde_json::from_slice(&std::fs::read(c.exit_file()).unwrap()).unwrap()
}

fn log_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// `{"log":...,"stream":...,"time":"<RFC3339 with 9 digits>Z"}` exactly.
fn check_log_line(line: &str, log: &str, stream: &str) {
    let v: Value = serde_json::from_str(line).unwrap();
    let time = v["time"].as_str().unwrap();
    assert_eq!(time.len(), 30, "{time}");
    assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.');
    let want = format!(
        "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"{time}\"}}",
        serde_json::to_string(log).unwrap()
    );
    assert_eq!(line, want);
}

#[test]
fn attach_before_start_gets_everything_then_exit() {
    let mut c = Ctr::new("attach", "echo hello; echo err >&2");
    let ready = c.spawn();
    let pid = ready["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("{ready} {}", c.shim_log()));
    assert!(pid > 0);
    assert!(c.sock().exists());
    assert_eq!(
        c.call(json!({"op": "status"})),
        json!({"pid": pid, "running": false})
    );
    let (ok, mut attach) = c.request(json!({"op": "attach", "stdout": true, "stderr": true}));
    assert_eq!(ok, json!({"ok": true}));
    let mut waiter = c.send(json!({"op": "wait"}));
    c.start();
    let (out, err, frames, code) = read_stream(&mut attach);
    assert_eq!((out.as_str(), err.as_str(), code), ("hello\n", "err\n", 0));
    assert!(frames.iter().any(|(s, p)| *s == 1 && p == b"hello\n"));
    assert!(frames.iter().any(|(s, p)| *s == 2 && p == b"err\n"));

    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&mut waiter), &mut line).unwrap();
    let w: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(w["exit_code"], 0);
    assert_eq!(w["oom_killed"], false);
    assert!(w["finished_at"].as_str().unwrap().ends_with('Z'));

    let ex = exit_file(&c);
    assert_eq!(ex["exit_code"], 0);
    assert_eq!(ex["pid"], pid);
    assert_eq!(ex["finished_at"], w["finished_at"]);
    assert_eq!(ex["oom_killed"], false);

    let lines = log_lines(&c.log_path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (o, e) = if lines[0].contains("stdout") {
        (0, 1)
    } else {
        (1, 0)
    };
    check_log_line(&lines[o], "hello\n", "stdout");
    check_log_line(&lines[e], "err\n", "stderr");

    c.wait_gone();
    assert!(!c.sock().exists());
    assert!(!c.state_dir().join("shim.pid").exists());
    assert!(!c.rt_root().join(&c.id).exists(), "runtime state left");
    assert!(cgroup_dirs(&c.id).is_empty(), "cgroup left");
}

#[test]
fn exit_codes_and_signals() {
    // The init of a pid namespace cannot be sent SIGKILL from inside: the test kills it
    // through the runtime library, as the daemon does.
    for (script, want) in [("exit 3", 3), ("sleep 30", 137)] {
        let mut c = Ctr::new("code", script);
        c.spawn();
        let (_, mut attach) = c.request(json!({"op": "attach", "stdout": true}));
        c.start();
        if want == 137 {
            let rt = muelle_runtime::Container::load(&c.rt_root(), &c.id).unwrap();
            rt.kill(libc::SIGKILL, false).unwrap();
        }
        let (_, _, _, code) = read_stream(&mut attach);
        assert_eq!(code, want, "{script}");
        assert_eq!(exit_file(&c)["exit_code"], want);
        c.wait_gone();
        // After the end, a wait is answered from the record it keeps until it exits, and
        // the exit file stays.
        assert_eq!(exit_file(&c)["exit_code"], want);
    }
}

#[test]
fn wait_while_running() {
    let mut c = Ctr::new("late", "sleep 0.3; exit 4");
    c.spawn();
    c.start();
    let w = c.call(json!({"op": "wait"}));
    assert_eq!(w["exit_code"], 4);
    assert_eq!(exit_file(&c)["exit_code"], 4);
}

#[test]
fn stdin_once_closes_stdin() {
    let mut c = Ctr::new("stdin", "cat; echo done");
    c.arg("--stdin").arg("--stdin-once");
    c.spawn();
    let (ok, mut s) =
        c.request(json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true}));
    assert_eq!(ok, json!({"ok": true}));
    c.start();
    s.write_all(b"ping\n").unwrap();
    s.write_all(b"pong\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, err, _, code) = read_stream(&mut s);
    assert_eq!(out, "ping\npong\ndone\n", "stderr {err:?} {}", c.shim_log());
    assert_eq!(code, 0);
}

#[test]
fn tty_output_and_resize() {
    let mut c = Ctr::new("tty", "sleep 0.2; stty size; echo hi >&2");
    c.tty();
    c.spawn();
    let (_, mut s) = c.request(json!({"op": "attach", "stdout": true, "stderr": true}));
    assert_eq!(
        c.call(json!({"op": "resize", "height": 33, "width": 77})),
        json!({"ok": true})
    );
    c.start();
    let (out, err, frames, code) = read_stream(&mut s);
    assert_eq!(code, 0);
    assert!(err.is_empty());
    assert!(frames.iter().all(|(st, _)| *st == 1 || *st == 255));
    assert_eq!(out, "33 77\r\nhi\r\n", "{}", c.shim_log());
    let lines = log_lines(&c.log_path());
    let logged: String = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["log"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(logged, "33 77\r\nhi\r\n");
    for l in &lines {
        assert!(l.contains("\"stream\":\"stdout\""));
    }
}

#[test]
fn log_rotation_keeps_max_files() {
    let mut c = Ctr::new(
        "rot",
        "i=0; while [ $i -lt 60 ]; do echo line-$i; i=$((i+1)); done",
    );
    c.arg("--log-max-size")
        .arg("300")
        .arg("--log-max-file")
        .arg("3");
    c.spawn();
    assert_eq!(c.start_and_wait()["exit_code"], 0);
    let log = c.log_path();
    let names: Vec<String> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ctr.log"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["ctr.log", "ctr.log.1", "ctr.log.2"], "{names:?}");
    for n in &names {
        let p = log.with_file_name(n);
        assert!(std::fs::metadata(&p).unwrap().len() <= 300, "{n} too big");
    }
    // The newest lines are in ctr.log, the last one is line-59.
    let last = log_lines(&log).pop().unwrap();
    check_log_line(&last, "line-59\n", "stdout");
    let older = log_lines(&log.with_file_name("ctr.log.1")).pop().unwrap();
    let first_new = log_lines(&log).remove(0);
    let num = |l: &str| -> i32 {
        let v: Value = serde_json::from_str(l).unwrap();
        v["log"]
            .as_str()
            .unwrap()
            .trim()
            .trim_start_matches("line-")
            .parse()
            .unwrap()
    };
    assert_eq!(num(&older) + 1, num(&first_new));
}

#[test]
fn max_file_one_truncates() {
    let mut c = Ctr::new(
        "trunc",
        "i=0; while [ $i -lt 30 ]; do echo line-$i; i=$((i+1)); done",
    );
    c.arg("--log-max-size").arg("200");
    c.spawn();
    assert_eq!(c.start_and_wait()["exit_code"], 0);
    assert!(!c.p("data/ctr.log.1").exists());
    let lines = log_lines(&c.log_path());
    assert!(!lines.is_empty() && lines.len() < 30);
    check_log_line(lines.last().unwrap(), "line-29\n", "stdout");
}

#[test]
fn exec_streams_and_exit_codes() {
    let mut c = Ctr::new("exec", "sleep 30");
    c.spawn();
    c.start();
    let process = json!({
        "args": ["sh", "-c", "echo out; echo err >&2; exit 5"],
        "cwd": "/",
        "env": ["PATH=/bin:/usr/bin"],
        "user": {"uid": 0, "gid": 0}
    });
    let (ok, mut s) =
        c.request(json!({"op": "exec", "process": process, "tty": false, "stdin": false}));
    assert_eq!(ok["ok"], true, "{ok} {}", c.shim_log());
    assert!(ok["pid"].as_i64().unwrap() > 0);
    let (out, err, _, code) = read_stream(&mut s);
    assert_eq!((out.as_str(), err.as_str(), code), ("out\n", "err\n", 5));

    // With stdin: closing the client's write side closes the process's stdin.
    let process = json!({"args": ["cat"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
    let (ok, mut s) =
        c.request(json!({"op": "exec", "process": process, "tty": false, "stdin": true}));
    assert_eq!(ok["ok"], true);
    s.write_all(b"abc\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, _, _, code) = read_stream(&mut s);
    assert_eq!((out.as_str(), code), ("abc\n", 0));

    // With a tty: everything is stream 1, and exec-resize reaches its pty.
    let process = json!({"args": ["sh", "-c", "sleep 0.3; tty; stty size; echo e >&2"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
    let (ok, mut s) =
        c.request(json!({"op": "exec", "process": process, "tty": true, "stdin": false}));
    assert_eq!(ok["ok"], true, "{ok}");
    let pid = ok["pid"].as_i64().unwrap();
    assert_eq!(
        c.call(json!({"op": "exec-resize", "pid": pid, "height": 12, "width": 34})),
        json!({"ok": true})
    );
    let (out, err, frames, code) = read_stream(&mut s);
    assert_eq!(code, 0);
    assert!(err.is_empty() && frames.iter().all(|(st, _)| *st == 1 || *st == 255));
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.ends_with("12 34\r\ne\r\n"), "{out:?}");

    // A missing binary: an error line in the runtime's words.
    let process = json!({"args": ["no-such-binary"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
    let e = c.call(json!({"op": "exec", "process": process}));
    assert!(
        e["error"]
            .as_str()
            .unwrap_or("")
            .contains("executable file not found"),
        "{e}"
    );
    assert!(c.call(json!({"op": "bogus"}))["error"]
        .as_str()
        .unwrap()
        .starts_with("unknown op"));

    // Stop the container through the runtime library, as the daemon does.
    let mut w = c.send(json!({"op": "wait"}));
    let rt = muelle_runtime::Container::load(&c.rt_root(), &c.id).unwrap();
    rt.kill(libc::SIGKILL, false).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&mut w), &mut line).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&line).unwrap()["exit_code"],
        137
    );
    c.wait_gone();
}

#[test]
fn create_error_leaves_nothing() {
    let mut c = Ctr::new("noexec", "true");
    c.config["process"]["args"] = json!(["no-such-binary"]);
    let ready = c.spawn();
    let msg = ready["error"].as_str().unwrap_or_else(|| panic!("{ready}"));
    assert!(
        msg.contains("exec: \"no-such-binary\": executable file not found in $PATH"),
        "{msg}"
    );
    c.wait_gone();
    assert!(!c.rt_root().join(&c.id).exists());
    assert!(cgroup_dirs(&c.id).is_empty());
    assert!(!c.sock().exists());
    assert!(!c.state_dir().join("shim.pid").exists());
}

#[test]
fn cleanup_without_clients_unmounts() {
    let mut c = Ctr::new("orphan", "sleep 0.3; exit 7");
    let mnt = c.p("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success());
    c.mounts.push(mnt.clone());
    assert!(is_mounted(&mnt));
    c.arg("--unmount").arg(mnt.to_str().unwrap());
    c.spawn();
    // The process that started it is gone (reaped by spawn()); the shim lives on.
    let shim = c.shim_pid.expect("shim.pid");
    assert!(alive(shim));
    drop(c.request(json!({"op": "start"})));
    assert_eq!(exit_file(&c)["exit_code"], 7);
    c.wait_gone();
    assert!(!is_mounted(&mnt), "mount left");
    assert!(!c.rt_root().join(&c.id).exists());
    assert!(cgroup_dirs(&c.id).is_empty());
}

#[test]
fn long_lines_split_at_16k() {
    let mut c = Ctr::new(
        "long",
        "head -c 20000 /dev/zero | tr '\\0' a; echo; printf tail",
    );
    c.spawn();
    assert_eq!(c.start_and_wait()["exit_code"], 0);
    let lines = log_lines(&c.log_path());
    let logs: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["log"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        logs.len(),
        3,
        "{:?}",
        logs.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert_eq!(logs[0].len(), 16384);
    assert!(!logs[0].ends_with('\n'));
    assert_eq!(logs[1].len(), 20001 - 16384);
    assert!(logs[1].ends_with('\n'));
    assert_eq!(logs[2], "tail");
}
