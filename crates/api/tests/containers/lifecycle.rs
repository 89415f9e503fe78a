//! A running container's life through the docker CLI and the API: exec, top, pause, rename,
//! restart, stop (signals, timeouts, trapping shells), wait and rm.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;
use crate::{assert_no_leaks, env, inspect, poll, run_d, show, state, stderr, stdout};

#[test]
fn cli_exec_top_pause_rename_restart_stop_wait_rm_needs_docker() {
    let d = env();
    // `sleep` as PID 1 has no TERM handler: the kernel drops the signal, stop must kill.
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "sleeper",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    assert_eq!(state(&d, "sleeper")["Status"], "running");

    let o = d.docker(&[
        "exec",
        "sleeper",
        "sh",
        "-c",
        "echo in; echo er >&2; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", show(&o));
    assert_eq!(stdout(&o), "in\n");
    assert_eq!(stderr(&o), "er\n");
    let o = d.docker(&[
        "exec",
        "-e",
        "A=1",
        "-e",
        "B=two",
        "sleeper",
        "sh",
        "-c",
        "echo $A-$B",
    ]);
    assert_eq!(stdout(&o), "1-two\n", "{}", show(&o));
    let o = d.docker(&["exec", "-u", "nobody", "sleeper", "id", "-u"]);
    assert_eq!(stdout(&o), "65534\n", "{}", show(&o));
    let o = d.docker(&["exec", "-w", "/etc", "sleeper", "pwd"]);
    assert_eq!(stdout(&o), "/etc\n", "{}", show(&o));
    let o = d.docker_stdin(
        &["exec", "-i", "sleeper", "sh", "-c", "cat; echo done"],
        b"from stdin\n",
    );
    assert_eq!(stdout(&o), "from stdin\ndone\n", "{}", show(&o));
    assert_eq!(o.status.code(), Some(0));
    // As dockerd: the connection is upgraded, the error is the output, the exit code 126.
    let o = d.docker(&["exec", "sleeper", "nope-not-here"]);
    assert_eq!(o.status.code(), Some(126), "{}", show(&o));
    assert!(
        stdout(&o).contains(r#"exec: "nope-not-here": executable file not found in $PATH"#),
        "{}",
        show(&o)
    );

    let top = d.docker_ok(&["top", "sleeper"]);
    let mut lines = top.lines();
    assert!(lines.next().unwrap().contains("PID"), "{top}");
    assert!(lines.any(|l| l.contains("sleep 600")), "{top}");

    d.docker_ok(&["pause", "sleeper"]);
    let s = state(&d, "sleeper");
    assert_eq!(s["Status"], "paused");
    assert_eq!(s["Paused"], true);
    assert_eq!(s["Running"], true);
    let o = d.docker(&["exec", "sleeper", "true"]);
    assert!(
        !o.status.success(),
        "exec in a paused container: {}",
        show(&o)
    );
    assert!(stderr(&o).contains("is paused"), "{}", show(&o));
    d.docker_ok(&["unpause", "sleeper"]);
    let s = state(&d, "sleeper");
    assert_eq!(s["Status"], "running");
    assert_eq!(s["Paused"], false);

    d.docker_ok(&["rename", "sleeper", "dozer"]);
    assert_eq!(inspect(&d, "dozer")["Name"], "/dozer");
    assert!(!d
        .docker(&["inspect", "--type", "container", "sleeper"])
        .status
        .success());

    let before = state(&d, "dozer");
    d.docker_ok(&["restart", "-t", "1", "dozer"]);
    let after = state(&d, "dozer");
    assert_eq!(after["Status"], "running");
    assert_ne!(after["Pid"], before["Pid"]);
    assert_ne!(after["StartedAt"], before["StartedAt"]);

    // ps -a --format '{{json .}}'.
    let ps = d.docker_ok(&["ps", "-a", "--no-trunc", "--format", "{{json .}}"]);
    let rows: Vec<Value> = ps
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{ps}");
    assert_eq!(rows[0]["ID"], id);
    assert_eq!(rows[0]["Names"], "dozer");
    assert_eq!(rows[0]["Image"], "busybox");
    assert_eq!(rows[0]["Command"], "\"sleep 600\"");
    assert_eq!(rows[0]["State"], "running");
    assert!(
        rows[0]["Status"].as_str().unwrap().starts_with("Up "),
        "{ps}"
    );

    // stop -t 1: TERM ignored, killed after a second: 137.
    let t = Instant::now();
    assert_eq!(d.docker_ok(&["stop", "-t", "1", "dozer"]), "dozer\n");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let s = state(&d, "dozer");
    assert_eq!(s["Status"], "exited");
    assert_eq!(s["ExitCode"], 137);
    assert_eq!(d.docker_ok(&["wait", "dozer"]), "137\n");
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(ps.starts_with("Exited (137) "), "{ps}");
    assert_eq!(d.docker_ok(&["ps", "-q"]), "");

    // Stop of a stopped container is fine for the CLI (304 from the daemon).
    d.docker_ok(&["stop", "dozer"]);
    let o = d.docker(&["exec", "dozer", "true"]);
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));

    // rm -f of a running container.
    d.docker_ok(&["start", "dozer"]);
    assert_eq!(state(&d, "dozer")["Running"], true);
    assert_eq!(d.docker_ok(&["rm", "-f", "dozer"]), "dozer\n");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert_no_leaks(&d, &[id]);
}

#[test]
fn cli_signals_stop_and_kill_to_trapping_shells_needs_docker() {
    let d = env();
    let trapper = d
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "trapper",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got-usr1' USR1; trap 'echo bye; exit 0' TERM; echo ready; \
             while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    poll(&d, "trapper ready", 10, || {
        d.docker_ok(&["logs", "trapper"])
            .contains("ready")
            .then_some(())
    });
    d.docker_ok(&["kill", "-s", "USR1", "trapper"]);
    poll(&d, "USR1 handled", 10, || {
        d.docker_ok(&["logs", "trapper"])
            .contains("got-usr1")
            .then_some(())
    });
    assert_eq!(state(&d, "trapper")["Running"], true);
    let t = Instant::now();
    d.docker_ok(&["stop", "-t", "20", "trapper"]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(state(&d, "trapper")["ExitCode"], 0);
    assert_eq!(d.docker_ok(&["logs", "trapper"]), "ready\ngot-usr1\nbye\n");

    // A shell PID 1 without a TERM trap ignores it: 137 after the timeout.
    let shell = d
        .docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    d.docker_ok(&["stop", "-t", "1", &shell]);
    assert_eq!(state(&d, &shell)["ExitCode"], 137);

    // kill (SIGKILL) and kill -s TERM to a shell that exits on TERM by default handler
    // only when not PID 1: use a child process that is not PID 1.
    let killed = d
        .docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    d.docker_ok(&["kill", &killed]);
    assert_eq!(d.docker_ok(&["wait", &killed]), "137\n");
    let o = d.docker(&["kill", &killed]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is not running"), "{}", show(&o));
    let o = d.docker(&["kill", "-s", "NOPE", &killed]);
    assert!(!o.status.success());

    for c in [&trapper, &shell, &killed] {
        d.docker_ok(&["rm", c]);
    }
    assert_no_leaks(&d, &[trapper, shell, killed]);
}

#[test]
fn stop_with_negative_timeout_waits_for_the_process_needs_docker() {
    let d = env();
    // TERM is ignored (PID 1 without a handler): with t=-1 dockerd never escalates to
    // SIGKILL, so the request is still pending after a while; a kill ends it.
    let id = run_d(&d, &["busybox", "sleep", "600"]);
    let socket = d.socket.clone();
    let path = format!("/containers/{id}/stop?t=-1");
    let stop = std::thread::spawn(move || support::http(&socket, "POST", &path, &[], b"").status);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!stop.is_finished(), "stop?t=-1 escalated to SIGKILL");
    assert_eq!(state(&d, &id)["Running"], true);
    d.docker_ok(&["kill", &id]);
    assert_eq!(stop.join().unwrap(), 204);
    assert_eq!(state(&d, &id)["ExitCode"], 137);
    d.docker_ok(&["rm", &id]);
    assert_no_leaks(&d, &[id]);
}
