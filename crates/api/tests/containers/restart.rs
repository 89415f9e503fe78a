//! Containers across restarts: restart policies (with log rotation and the events they
//! make) and the daemon's crash recovery after kill -9, while containers run and while a
//! start is half done.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::support::shims_under;
use crate::{assert_no_leaks, env, inspect, poll, run_d, show, state, stderr, stdout};

#[test]
fn cli_restart_policy_log_rotation_and_events_needs_docker() {
    let d = env();
    let since = now_nanos();

    // on-failure:2 restarts twice, then stays exited.
    let flaky = d
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "flaky",
            "--restart",
            "on-failure:2",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "echo run; exit 1",
        ])
        .trim()
        .to_string();
    let s = poll(&d, "two restarts, then exited", 30, || {
        let s = state(&d, "flaky");
        (s["Status"] == "exited" && inspect(&d, "flaky")["RestartCount"] == 2).then_some(s)
    });
    assert_eq!(s["ExitCode"], 1);
    assert_eq!(d.docker_ok(&["logs", "flaky"]), "run\nrun\nrun\n");
    assert_eq!(
        inspect(&d, "flaky")["HostConfig"]["RestartPolicy"],
        serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2})
    );

    // json-file rotation: two files kept, logs reads across them.
    let rot = d
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "rot",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done",
        ])
        .trim()
        .to_string();
    assert_eq!(d.docker_ok(&["wait", "rot"]), "0\n");
    let c = inspect(&d, "rot");
    assert_eq!(c["HostConfig"]["LogConfig"]["Type"], "json-file");
    assert_eq!(c["HostConfig"]["LogConfig"]["Config"]["max-size"], "1k");
    let log_path = c["LogPath"].as_str().unwrap().to_string();
    let dir = Path::new(&log_path).parent().unwrap();
    let name = Path::new(&log_path).file_name().unwrap().to_str().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(name))
        .collect();
    files.sort();
    assert_eq!(files, vec![name.to_string(), format!("{name}.1")]);
    for f in &files {
        let len = std::fs::metadata(dir.join(f)).unwrap().len();
        assert!(len <= 1024, "{f}: {len} bytes");
    }
    let logs = d.docker_ok(&["logs", "rot"]);
    let nums: Vec<u32> = logs
        .lines()
        .map(|l| l.strip_prefix("line-").unwrap().parse().unwrap())
        .collect();
    let first_file_lines = std::fs::read_to_string(&log_path).unwrap().lines().count();
    assert!(nums.len() > first_file_lines, "{logs}");
    assert_eq!(*nums.last().unwrap(), 99, "{logs}");
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{logs}");
    let o = d.docker(&["logs", "--tail", "3", "rot"]);
    assert_eq!(stdout(&o), "line-97\nline-98\nline-99\n");

    // events: create, start, die, destroy of one container, between two times.
    let ev = d
        .docker_ok(&[
            "run",
            "--name",
            "evented",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "true",
        ])
        .to_string();
    assert_eq!(ev, "");
    d.docker_ok(&["rm", "evented"]);
    let until = now_nanos();
    let out = d.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "container=evented",
        "--format",
        "{{json .}}",
    ]);
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["Action"].as_str().unwrap())
        .filter(|a| ["create", "start", "die", "destroy"].contains(a))
        .collect();
    assert_eq!(actions, ["create", "start", "die", "destroy"], "{out}");
    for e in &events {
        assert_eq!(e["Type"], "container");
        assert_eq!(e["Actor"]["Attributes"]["name"], "evented");
        assert_eq!(e["Actor"]["Attributes"]["image"], "busybox");
    }
    let die = events.iter().find(|e| e["Action"] == "die").unwrap();
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "0");

    d.docker_ok(&["rm", "flaky", "rot"]);
    assert_no_leaks(&d, &[flaky, rot]);
}

/// Now, as `docker events --since/--until` take it (seconds.nanoseconds).
fn now_nanos() -> String {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

// Crash recovery: the daemon killed with -9 and started again.

#[test]
fn kill9_daemon_while_containers_run_needs_docker() {
    let mut d = env();
    let long = run_d(
        &d,
        &[
            "--name",
            "long",
            "busybox",
            "sh",
            "-c",
            "echo long-up; exec sleep 600",
        ],
    );
    let short = run_d(
        &d,
        &[
            "--name",
            "short",
            "busybox",
            "sh",
            "-c",
            "echo before; sleep 2; echo after; echo err-after >&2; exit 7",
        ],
    );
    let done = run_d(&d, &["--name", "done", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(d.docker_ok(&["wait", "done"]), "3\n");
    poll(&d, "short's first line", 10, || {
        d.docker_ok(&["logs", "short"])
            .contains("before")
            .then_some(())
    });

    d.kill9();
    // The supervisors outlive the daemon; the short container ends while it is away.
    assert!(!shims_under(&long).is_empty(), "no supervisor for long");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !shims_under(&short).is_empty() {
        assert!(Instant::now() < deadline, "short's supervisor did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    d.respawn();

    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    let status = |name: &str| {
        ps.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed: {ps}"))
            .to_string()
    };
    assert!(status("long").starts_with("Up "), "{ps}");
    assert!(status("short").starts_with("Exited (7) "), "{ps}");
    assert!(status("done").starts_with("Exited (3) "), "{ps}");
    let s = state(&d, "short");
    assert_eq!(s["ExitCode"], 7);
    assert_eq!(s["Running"], false);
    assert_ne!(s["FinishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(d.docker_ok(&["wait", "short"]), "7\n");

    // Nothing lost from the logs, written while the daemon was away.
    let o = d.docker(&["logs", "short"]);
    assert_eq!(stdout(&o), "before\nafter\n", "{}", show(&o));
    assert_eq!(stderr(&o), "err-after\n");
    assert_eq!(d.docker_ok(&["logs", "long"]), "long-up\n");

    // The running one is still controllable.
    let o = d.docker(&["exec", "long", "sh", "-c", "echo exec-ok; exit 2"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert_eq!(stdout(&o), "exec-ok\n");
    let top = d.docker_ok(&["top", "long"]);
    assert!(top.contains("sleep 600"), "{top}");
    d.docker_ok(&["stop", "-t", "1", "long"]);
    let s = state(&d, "long");
    assert_eq!(s["Status"], "exited");
    assert_eq!(s["ExitCode"], 137);

    // A second crash with nothing running changes nothing; start works after it.
    d.kill9();
    d.respawn();
    assert_eq!(state(&d, "short")["ExitCode"], 7);
    d.docker_ok(&["start", "long"]);
    assert_eq!(state(&d, "long")["Running"], true);

    d.docker_ok(&["rm", "-f", "long", "short", "done"]);
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert_no_leaks(&d, &[long, short, done]);
}

#[test]
fn kill9_daemon_during_start_needs_docker() {
    let mut d = env();
    let mut ids = Vec::new();
    // Kill at several points of a start: before it reaches the daemon, while the supervisor
    // is being made, after it answered.
    for (i, delay_ms) in [0u64, 5, 10, 20, 40, 80].into_iter().enumerate() {
        let name = format!("half{i}");
        let id = d
            .docker_ok(&[
                "create",
                "--network",
                "none",
                "--pull",
                "never",
                "--name",
                &name,
                "busybox",
                "sh",
                "-c",
                "echo up; exec sleep 600",
            ])
            .trim()
            .to_string();
        ids.push(id.clone());
        let mut start = d
            .docker_command()
            .args(["start", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.kill9();
        let _ = start.wait();
        d.respawn();

        // Consistent: running and controllable, or not running and startable.
        let s = state(&d, &name);
        match s["Status"].as_str().unwrap() {
            "running" => {
                assert_eq!(s["Running"], true);
                let o = d.docker(&["exec", &name, "echo", "alive"]);
                assert_eq!(stdout(&o), "alive\n", "{}\n{}", show(&o), d.log());
            }
            "created" | "exited" => {
                assert_eq!(s["Running"], false, "{s}");
                assert!(
                    shims_under(&id).is_empty(),
                    "a supervisor for a stopped container"
                );
                d.docker_ok(&["start", &name]);
                assert_eq!(state(&d, &name)["Running"], true);
            }
            other => panic!("{name} is {other} after a crash mid-start: {s}"),
        }
        let o = d.docker(&["exec", &name, "true"]);
        assert!(o.status.success(), "{}", show(&o));
        d.docker_ok(&["rm", "-f", &name]);
        assert_no_leaks(&d, std::slice::from_ref(&id));
    }
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert_no_leaks(&d, &ids);
}

/// A removal the daemon's end cut short: `--rm` deletes the record first (the container is
/// gone for clients from then on) and the rootfs, snapshot and directories after. A daemon
/// killed in between — made here by killing the supervisor and the container, so the rootfs
/// stays mounted, and deleting the record — removes the remains at its next start.
#[test]
fn remains_of_an_unfinished_removal_go_at_daemon_start_needs_docker() {
    let mut d = env();
    let id = run_d(&d, &["--name", "rem", "busybox", "sleep", "600"]);
    let pid = state(&d, "rem")["Pid"].as_i64().expect("pid");
    d.kill9();
    for shim in shims_under(&id) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &shim.to_string()])
            .status();
    }
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    let bundle = d.exec_root.join("containers").join(&id);
    let data = d.data_root.join("containers").join(&id);
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&id))
    };
    assert!(
        mounted(),
        "the rootfs should still be mounted before the restart"
    );
    std::fs::remove_file(data.join("config.v2.json")).expect("remove the record");
    d.respawn();

    assert!(
        !mounted(),
        "the rootfs is still mounted after the daemon's start"
    );
    assert!(!bundle.exists(), "the bundle is left: {}", bundle.display());
    assert!(
        !data.exists(),
        "the data directory is left: {}",
        data.display()
    );
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!ps.lines().any(|l| l == "rem"), "{ps}");
    // Its name is free again.
    d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "rem",
        "busybox",
        "true",
    ]);
    assert_no_leaks(&d, std::slice::from_ref(&id));
}
