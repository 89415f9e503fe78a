//! `docker logs` of a detached container: follow, tail, timestamps and since.

use std::time::{Duration, Instant};

use crate::{assert_no_leaks, env, show, state, stderr, stdout};

#[test]
fn cli_detached_logs_follow_tail_timestamps_since_needs_docker() {
    let d = env();
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--name",
            "talker",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "echo a; sleep 0.2; echo b; sleep 0.2; echo oops >&2; echo c",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");

    // logs -f returns when the container exits, with everything.
    let started = Instant::now();
    let o = d.docker(&["logs", "-f", "talker"]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(stdout(&o), "a\nb\nc\n");
    assert_eq!(stderr(&o), "oops\n");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(state(&d, "talker")["Status"], "exited");
    assert_eq!(d.docker_ok(&["wait", "talker"]), "0\n");

    let o = d.docker(&["logs", "--tail", "2", "talker"]);
    assert_eq!(stdout(&o), "c\n", "{}", show(&o));
    assert_eq!(stderr(&o), "oops\n");
    let o = d.docker(&["logs", "--tail", "0", "talker"]);
    assert_eq!(stdout(&o), "");

    // --timestamps: RFC 3339 with nanoseconds, a space, the line.
    let o = d.docker(&["logs", "--timestamps", "talker"]);
    let lines: Vec<&str> = stdout(&o).leak().lines().collect();
    assert_eq!(lines.len(), 3, "{}", show(&o));
    let mut stamps = Vec::new();
    for (line, want) in lines.iter().zip(["a", "b", "c"]) {
        let (ts, text) = line.split_once(' ').unwrap();
        assert_eq!(text, want);
        assert!(
            ts.len() == 30 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
        stamps.push(ts.to_string());
    }
    assert!(stamps[0] < stamps[1] && stamps[1] < stamps[2], "{stamps:?}");

    // --since is inclusive (Docker skips entries before it).
    let o = d.docker(&["logs", "--since", &stamps[1], "talker"]);
    assert_eq!(stdout(&o), "b\nc\n", "{}", show(&o));
    let o = d.docker(&["logs", "--since", "2030-01-01T00:00:00Z", "talker"]);
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
    let o = d.docker(&["logs", "--until", &stamps[1], "talker"]);
    assert_eq!(stdout(&o), "a\nb\n", "{}", show(&o));

    d.docker_ok(&["rm", "talker"]);
    assert_no_leaks(&d, &[id]);
}
