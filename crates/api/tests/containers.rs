//! Issue #4's acceptance tests: muelled's container routes driven by the stock docker CLI
//! (20.10), docker-py and bollard; crash recovery (kill -9 of the daemon while containers
//! run and while a start is half done); Docker's status codes and error bodies for bad
//! requests. Every container runs with `--network none` from the busybox image loaded
//! from a local tar (`--pull never`: nothing ever contacts a registry).
//!
//! Each test has its own muelled (it starts in milliseconds); `Env`'s drop removes every
//! container it made, kills any supervisor left under its roots and unmounts what stayed,
//! before the daemon itself stops, so a failing test leaks nothing either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use support::{
    daemon_with_busybox, is_up, kill_shims_and_unmount, mounts_under, remove_all_containers,
    shims_under, Daemon, DOCKER,
};

// Fixtures.

/// A daemon with busybox loaded; on drop, everything it ran is removed.
struct Env {
    d: Daemon,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl std::ops::DerefMut for Env {
    fn deref_mut(&mut self) -> &mut Daemon {
        &mut self.d
    }
}

fn env() -> Env {
    Env {
        d: daemon_with_busybox(),
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // The daemon may be down (a crash test failing between kill9 and respawn).
        if is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

const CGROUP_HIERARCHIES: &[&str] = &["memory", "pids", "cpu", "freezer", "devices", "blkio"];

fn leftover_cgroups(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for h in CGROUP_HIERARCHIES {
        for p in [
            format!("/sys/fs/cgroup/{h}/muelle/{id}"),
            format!("/sys/fs/cgroup/unified/muelle/{id}"),
            format!("/sys/fs/cgroup/muelle/{id}"),
        ] {
            if Path::new(&p).exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Fails unless nothing of these containers is left: mounts under the daemon's exec root,
/// supervisors, cgroups. Polls a little: a supervisor ends right after its container.
fn assert_no_leaks(d: &Daemon, ids: &[String]) {
    let exec_root = d.exec_root.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mounts = mounts_under(&exec_root);
        let shims: Vec<u32> = ids.iter().flat_map(|id| shims_under(id)).collect();
        let cgroups: Vec<String> = ids.iter().flat_map(|id| leftover_cgroups(id)).collect();
        if mounts.is_empty() && shims.is_empty() && cgroups.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "leaked: mounts {mounts:?}, shims {shims:?}, cgroups {cgroups:?}\nmuelled log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

/// `docker run --rm --network none --pull never busybox ARGS...`
fn run(d: &Daemon, args: &[&str]) -> Output {
    let mut all = vec!["run", "--rm", "--network", "none", "--pull", "never"];
    all.extend_from_slice(args);
    d.docker(&all)
}

fn inspect(d: &Daemon, name: &str) -> Value {
    let out = d.docker_ok(&["inspect", "--type", "container", name]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// Polls `f` every 50 ms until it returns Some, failing after `secs`.
fn poll<T>(d: &Daemon, what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nmuelled log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state(d: &Daemon, name: &str) -> Value {
    inspect(d, name)["State"].clone()
}

/// Now, as `docker events --since/--until` take it (seconds.nanoseconds).
fn now_nanos() -> String {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

// 1. The docker CLI.

#[test]
fn cli_run_output_exit_codes_and_options_needs_docker() {
    let d = env();

    let o = run(&d, &["busybox", "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");

    let o = run(&d, &["busybox", "sh", "-c", "echo x; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert_eq!(stdout(&o), "x\n");

    // A missing binary: docker's 127 and the runtime's wording.
    let o = run(&d, &["busybox", "nope-not-here"]);
    assert_eq!(o.status.code(), Some(127), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        // (docker 20.10 logs "error waiting for container: context canceled" first, as
        // against dockerd.)
        err.contains("docker: Error response from daemon:")
            && err.contains(r#"exec: "nope-not-here": executable file not found in $PATH"#),
        "{err}"
    );

    let o = run(&d, &["-u", "nobody", "busybox", "id"]);
    assert!(stdout(&o).starts_with("uid=65534"), "{}", show(&o));
    let o = run(&d, &["-u", "nobody", "busybox", "id", "-u"]);
    assert_eq!(stdout(&o), "65534\n", "{}", show(&o));

    let o = run(&d, &["-w", "/tmp", "busybox", "pwd"]);
    assert_eq!(stdout(&o), "/tmp\n", "{}", show(&o));

    let envfile = d.dir.path().join("env.list");
    std::fs::write(&envfile, "# a comment\nFROM_FILE=yes\n\nSECOND=2 3\n").unwrap();
    let o = run(
        &d,
        &[
            "-e",
            "FOO=bar",
            "--env-file",
            envfile.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            "echo $FOO/$FROM_FILE/$SECOND/$PATH",
        ],
    );
    assert_eq!(
        stdout(&o),
        "bar/yes/2 3/\
         /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        "{}",
        show(&o)
    );

    let o = run(&d, &["--entrypoint", "/bin/echo", "busybox", "hi", "there"]);
    assert_eq!(stdout(&o), "hi there\n", "{}", show(&o));

    let o = run(&d, &["--hostname", "boxy", "busybox", "hostname"]);
    assert_eq!(stdout(&o), "boxy\n", "{}", show(&o));

    // --label in inspect; --name twice: 409 and docker's message.
    let id = d
        .docker_ok(&[
            "create",
            "--network",
            "none",
            "--pull",
            "never",
            "--name",
            "named",
            "--label",
            "com.example.a=b",
            "--label",
            "flag",
            "busybox",
            "true",
        ])
        .trim()
        .to_string();
    let c = inspect(&d, "named");
    assert_eq!(c["Id"], id);
    assert_eq!(c["Name"], "/named");
    assert_eq!(c["Config"]["Labels"]["com.example.a"], "b");
    assert_eq!(c["Config"]["Labels"]["flag"], "");
    assert_eq!(c["State"]["Status"], "created");
    let o = d.docker(&[
        "run",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "named",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", show(&o));
    assert!(
        stderr(&o).contains(&format!(
            "Conflict. The container name \"/named\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
        )),
        "{}",
        show(&o)
    );
    let r = d.http(
        "POST",
        "/containers/create?name=named",
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // --rm also when the container exits on its own (detached).
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--rm",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "sleep 0.2",
        ])
        .trim()
        .to_string();
    poll(&d, "--rm container to go", 15, || {
        let o = d.docker(&["inspect", "--type", "container", &id]);
        (!o.status.success()).then_some(())
    });
    let o = d.docker(&["inspect", "--type", "container", &id]);
    assert!(
        stderr(&o).contains(&format!("No such container: {id}")),
        "{}",
        show(&o)
    );

    d.docker_ok(&["rm", "named"]);
    assert_no_leaks(&d, &[id]);
}

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

/// Runs `command` under script(1) (a pty for the docker CLI); `input` is typed once the
/// output shows `prompt`. Returns the exit code and the output.
fn in_pty(d: &Daemon, command: &str, prompt: &str, input: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
        .env("DOCKER_CONFIG", &d.docker_config)
        .env("TERM", "xterm")
        .env_remove("DOCKER_API_VERSION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut out = child.stdout.take().unwrap();
    let reader = {
        let output = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&output.lock().unwrap()).contains(prompt) {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "no prompt {prompt:?} in {:?}\nmuelled log:\n{}",
                String::from_utf8_lossy(&output.lock().unwrap()),
                d.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    // Keep stdin open until the session ends: script(1) may end it on EOF.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the session did not end: {:?}\nmuelled log:\n{}",
                String::from_utf8_lossy(&output.lock().unwrap()),
                d.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    (status.code(), text)
}

#[test]
fn cli_interactive_tty_run_and_exec_needs_docker() {
    let d = env();
    require!("/usr/bin/script");
    let (code, out) = in_pty(
        &d,
        &format!("{DOCKER} run -it --rm --network none --pull never --name tty busybox sh"),
        "# ",
        b"echo typed-$((40+2)); tty\nexit 4\n",
    );
    assert_eq!(code, Some(4), "{out}");
    // The typed line is echoed by the container's terminal, then the result; a real tty.
    assert!(out.contains("echo typed-$((40+2)); tty"), "{out:?}");
    assert!(out.contains("typed-42\r\n"), "{out:?}");
    assert!(out.contains("/dev/pts/0"), "{out:?}");

    let id = d
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
    let (code, out) = in_pty(
        &d,
        &format!("{DOCKER} exec -it {id} sh -c 'echo ask:; read l; echo got-$l; exit 6'"),
        "ask:",
        b"answer\n",
    );
    assert_eq!(code, Some(6), "{out}");
    assert!(out.contains("answer\r\n"), "{out:?}");
    assert!(out.contains("got-answer\r\n"), "{out:?}");

    d.docker_ok(&["rm", "-f", &id]);
    assert_no_leaks(&d, &[id]);
}

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

// 2. docker-py.

const PY_CONTAINERS: &str = r#"
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1], version="auto")

# Attached, not detached: the output comes back as bytes.
out = c.containers.run("busybox", ["sh", "-c", "echo hello-py"], network_mode="none",
                       remove=True, stdout=True, stderr=False)
assert out == b"hello-py\n", out
try:
    c.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"], network_mode="none",
                     remove=True)
    raise SystemExit("no ContainerError")
except docker.errors.ContainerError as e:
    assert e.exit_status == 2, e.exit_status
    assert b"bad" in e.stderr, e.stderr

ctr = c.containers.run("busybox", ["sh", "-c", "echo started; trap 'exit 0' TERM; "
                       "while true; do sleep 0.1; done"], detach=True, network_mode="none",
                       name="pyctr", labels={"py": "yes"})
ctr.reload()
assert ctr.status == "running", ctr.status
assert ctr.name == "pyctr" and ctr.labels == {"py": "yes"}
assert [x.id for x in c.containers.list(filters={"label": "py=yes"})] == [ctr.id]

import time
deadline = time.time() + 10
while b"started" not in ctr.logs():
    assert time.time() < deadline, ctr.logs()
    time.sleep(0.05)
assert ctr.logs(stdout=True, stderr=False) == b"started\n"

r = ctr.exec_run(["sh", "-c", "echo $X; id -u; exit 3"], environment={"X": "ex"}, user="nobody")
assert r.exit_code == 3, r
assert r.output == b"ex\n65534\n", r.output
r = ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
assert r.output == (b"o\n", b"e\n"), r.output

ctr.stop(timeout=10)
res = ctr.wait(timeout=10)
assert res["StatusCode"] == 0, res
ctr.reload()
assert ctr.status == "exited"
assert ctr.attrs["State"]["ExitCode"] == 0

short = c.containers.run("busybox", ["sh", "-c", "exit 9"], detach=True, network_mode="none")
assert short.wait(timeout=10)["StatusCode"] == 9
short.remove()
ctr.remove()
try:
    c.containers.get("pyctr")
    raise SystemExit("still there")
except docker.errors.NotFound as e:
    assert "No such container: pyctr" in str(e), str(e)
assert c.containers.list(all=True) == []
print("docker-py containers OK")
"#;

#[test]
fn docker_py_containers_needs_docker_dockerpy() {
    support::require_docker_py();
    let d = env();
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(PY_CONTAINERS)
        .arg(&d.socket)
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert!(
        out.status.success() && stdout(&out).contains("docker-py containers OK"),
        "docker-py script failed:\n{}\nmuelled log:\n{}",
        show(&out),
        d.log()
    );
    assert_no_leaks(&d, &[]);
}

// 3. bollard.

#[tokio::test(flavor = "multi_thread")]
async fn bollard_containers_needs_docker() {
    use bollard::container::LogOutput;
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::{
        CreateContainerOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
    };
    use futures_util::{StreamExt, TryStreamExt};

    let d = env();
    let docker = bollard::Docker::connect_with_unix(
        d.socket.to_str().unwrap(),
        120,
        &bollard::ClientVersion {
            major_version: 1,
            minor_version: 47,
        },
    )
    .unwrap();

    let body = |cmd: &[&str]| ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some("bol".into()),
                ..Default::default()
            }),
            body(&[
                "sh",
                "-c",
                "echo one; echo two >&2; sleep 0.3; echo three; exit 4",
            ]),
        )
        .await
        .unwrap();
    assert_eq!(created.id.len(), 64);
    assert!(created.warnings.is_empty());
    docker
        .start_container(
            "bol",
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();

    // A followed log stream ends when the container exits.
    let logs: Vec<LogOutput> = docker
        .logs(
            "bol",
            Some(LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    let mut out = String::new();
    let mut err = String::new();
    for l in &logs {
        match l {
            LogOutput::StdOut { message } => out.push_str(&String::from_utf8_lossy(message)),
            LogOutput::StdErr { message } => err.push_str(&String::from_utf8_lossy(message)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(out, "one\nthree\n");
    assert_eq!(err, "two\n");

    // wait reports the exit code as an error carrying it (bollard's convention for != 0).
    let waited: Vec<_> = docker
        .wait_container("bol", None::<WaitContainerOptions>)
        .collect()
        .await;
    match &waited[..] {
        [Err(bollard::errors::Error::DockerContainerWaitError { code, .. })] => {
            assert_eq!(*code, 4)
        }
        other => panic!("{other:?}"),
    }
    let info = docker
        .inspect_container(
            "bol",
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let st = info.state.unwrap();
    assert_eq!(st.exit_code, Some(4));
    assert_eq!(st.running, Some(false));

    // exec with output, in a running container.
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some("bol2".into()),
                ..Default::default()
            }),
            body(&["sleep", "600"]),
        )
        .await
        .unwrap();
    docker
        .start_container(
            "bol2",
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let exec = docker
        .create_exec(
            "bol2",
            CreateExecOptions {
                cmd: Some(vec!["sh", "-c", "echo ex-out; echo ex-err >&2; exit 2"]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.unwrap()
    else {
        panic!("detached")
    };
    let mut got = Vec::new();
    while let Some(m) = output.next().await {
        got.push(m.unwrap());
    }
    assert!(
        got.iter()
            .any(|m| matches!(m, LogOutput::StdOut { message } if message.as_ref() == b"ex-out\n")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|m| matches!(m, LogOutput::StdErr { message } if message.as_ref() == b"ex-err\n")),
        "{got:?}"
    );
    let ei = docker.inspect_exec(&exec.id).await.unwrap();
    assert_eq!(ei.exit_code, Some(2));
    assert_eq!(ei.running, Some(false));

    for name in ["bol", "bol2"] {
        docker
            .remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
    }
    match docker
        .inspect_container(
            "bol",
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        }) => {
            assert_eq!(status_code, 404);
            assert_eq!(message, "No such container: bol");
        }
        other => panic!("{other:?}"),
    }
    assert_no_leaks(&d, &[created.id]);
}

// 4. Crash recovery.

fn run_d(d: &Daemon, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--network", "none", "--pull", "never"];
    args.extend_from_slice(extra);
    d.docker_ok(&args).trim().to_string()
}

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

// 5. Bad requests: Docker's status codes and {"message"} bodies, and the daemon lives on.

#[test]
fn bad_requests_get_docker_status_codes_needs_docker() {
    let d = env();
    let msg = |r: &support::Response| r.message();

    for (method, path) in [
        ("GET", "/containers/x/json"),
        ("POST", "/containers/x/start"),
        ("POST", "/containers/x/stop"),
        ("POST", "/containers/x/kill"),
        ("POST", "/containers/x/wait"),
        ("GET", "/containers/x/logs?stdout=1"),
        ("POST", "/containers/x/exec"),
        ("DELETE", "/containers/x"),
        ("GET", "/v1.41/containers/x/json"),
    ] {
        let body: &[u8] = if path.ends_with("/exec") {
            br#"{"Cmd":["true"]}"#
        } else {
            b""
        };
        let r = d.http_with(method, path, &[("Content-Type", "application/json")], body);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
        assert_eq!(msg(&r), "No such container: x", "{method} {path}");
        assert!(r.headers["content-type"].starts_with("application/json"));
    }
    let r = d.http("GET", "/exec/nope/json", b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(msg(&r), "No such exec instance: nope");

    let create = |body: &[u8]| {
        d.http_with(
            "POST",
            "/containers/create",
            &[("Content-Type", "application/json")],
            body,
        )
    };
    // Invalid JSON, wrong types.
    let r = create(b"{\"Image\": \"busybox\",");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!msg(&r).is_empty());
    let r = create(br#"{"Image":"busybox","Cmd":5}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Cmd"), "{}", r.text());
    let r = create(br#"{"Image":"busybox","HostConfig":{"Memory":"lots"}}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Memory"), "{}", r.text());
    let r = create(br#"{"Image":"busybox","Env":"A=1"}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Env"), "{}", r.text());
    let r = create(b"[1,2]");
    assert_eq!(r.status, 400, "{}", r.text());
    // No image; a missing image (never pulled by create).
    let r = create(br#"{"Cmd":["true"]}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).to_lowercase().contains("image"), "{}", r.text());
    let r = create(br#"{"Image":"busybox:nope","Cmd":["true"]}"#);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(msg(&r), "No such image: busybox:nope");
    // Bad names.
    let r = d.http_with(
        "POST",
        "/containers/create?name=bad%20name!",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        msg(&r).starts_with("Invalid container name (bad name!)"),
        "{}",
        r.text()
    );

    // A name in use: 409 and Docker's message.
    let r = d.http_with(
        "POST",
        "/containers/create?name=taken",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["sh","-c","trap 'exit 0' TERM; while true; do sleep 0.1; done"],"HostConfig":{"NetworkMode":"none"}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let r = d.http_with(
        "POST",
        "/containers/create?name=taken",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        msg(&r),
        format!("Conflict. The container name \"/taken\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")
    );
    let r = d.http("POST", "/containers/taken/rename?name=taken", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        msg(&r),
        "Renaming a container with the same name as its current name"
    );
    let r = d.http_with(
        "POST",
        "/containers/create?name=other",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let other = r.json()["Id"].as_str().unwrap().to_string();
    let r = d.http("POST", "/containers/other/rename?name=taken", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(msg(&r).contains("is already in use"), "{}", r.text());
    assert_eq!(d.http("DELETE", "/containers/other", b"").status, 204);

    // exec on a created (not running) container: 409.
    let r = d.http_with(
        "POST",
        "/containers/taken/exec",
        &[("Content-Type", "application/json")],
        br#"{"Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(msg(&r), format!("Container {id} is not running"));
    let r = d.http("POST", "/containers/taken/kill", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(msg(&r), format!("Container {id} is not running"));
    // Stop of a stopped container: 304, no body.
    let r = d.http("POST", "/containers/taken/stop", b"");
    assert_eq!(r.status, 304, "{}", r.text());
    assert!(r.body.is_empty());

    // Start, then start again: 304.
    assert_eq!(d.http("POST", "/containers/taken/start", b"").status, 204);
    let r = d.http("POST", "/containers/taken/start", b"");
    assert_eq!(r.status, 304, "{}", r.text());
    assert!(r.body.is_empty());

    // Signals: unknown names and numbers are 400.
    for sig in ["NOPE", "SIGNOPE", "0", "99", "-1"] {
        let r = d.http("POST", &format!("/containers/taken/kill?signal={sig}"), b"");
        assert_eq!(r.status, 400, "{sig}: {}", r.text());
        assert!(!msg(&r).is_empty());
    }
    assert_eq!(state(&d, "taken")["Running"], true);
    // Bad timeouts: not a number is 400.
    let r = d.http("POST", "/containers/taken/stop?t=soon", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    // Bad query values elsewhere.
    let r = d.http("GET", "/containers/taken/logs?stdout=1&tail=lots", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http("GET", "/containers/json?filters=notjson", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http(
        "GET",
        "/containers/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(msg(&r), "invalid filter 'nope'");
    // Removing a running container without force: 409.
    let r = d.http("DELETE", "/containers/taken", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        msg(&r).contains("cannot remove a running container"),
        "{}",
        r.text()
    );

    // A negative timeout: as dockerd, -1 means no timeout (wait for the stop signal to do
    // its work, never SIGKILL); this shell exits on TERM.
    let t = Instant::now();
    let r = d.http("POST", "/containers/taken/stop?t=-1", b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(10));
    let s = state(&d, "taken");
    assert_eq!(s["ExitCode"], 0, "stopped by TERM, not killed: {s}");
    let r = d.http_with(
        "POST",
        "/containers/taken/exec",
        &[("Content-Type", "application/json")],
        br#"{"Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // Still alive.
    let r = d.http("GET", "/_ping", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "OK");
    assert_eq!(d.http("DELETE", "/containers/taken", b"").status, 204);
    assert_no_leaks(&d, &[id, other]);
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
