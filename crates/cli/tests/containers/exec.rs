//! `exec`, and what runs on a terminal: `run -it`, detach keys.

use super::*;

pub(crate) fn exec_in_a_running_container(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("exec");
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    for args in [
        &["exec", n.as_str(), "echo", "hi", "-n"][..],
        &[
            "exec",
            "-e",
            "A=b",
            "-w",
            "/etc",
            "-u",
            "5",
            &n,
            "sh",
            "-c",
            "echo $A $(pwd) $(id -u)",
        ],
        &["exec", &n, "sh", "-c", "echo out; echo err >&2; exit 5"],
        &["exec", &n, "muelle-no-such-cmd"],
    ] {
        let (m, k) = both(d, args);
        assert_eq!(m.status.code(), k.status.code(), "{args:?}");
        assert_eq!(m.stdout, k.stdout, "{args:?}");
    }
    let m = muelle(d, &["exec", &n, "sh", "-c", "exit 5"]);
    assert_eq!(m.status.code(), Some(5));
    let mut child = Command::new(MUELLE)
        .args(["-H", &d.host, "exec", "-i", &n, "cat"])
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"via exec\n")
        .unwrap();
    assert_eq!(
        text(&child.wait_with_output().unwrap().stdout),
        "via exec\n"
    );
    assert_eq!(
        ok(muelle(d, &["exec", "-d", &n, "touch", "/tmp/d"]), "exec -d"),
        ""
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(
        muelle(d, &["exec", &n, "test", "-e", "/tmp/d"]),
        "exec -d ran",
    );
    let (m, k) = both(d, &["exec", "muelle-no-such-ctr", "true"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr), format!("muelle: {}", text(&k.stderr)));
}

/// Runs `muelle args` on a pseudo-terminal (util-linux `script`) with `input` typed in.
fn on_pty(d: &Daemon, args: &str, input: &[u8]) -> (Option<i32>, String) {
    assert!(
        Path::new("/usr/bin/script").exists(),
        "/usr/bin/script (util-linux) is not installed"
    );
    let mut child = Command::new("/usr/bin/script")
        .args([
            "-qefc",
            &format!("{MUELLE} -H {} {args}", d.host),
            "/dev/null",
        ])
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Give the container time to start before typing, as a user would.
    std::thread::sleep(Duration::from_millis(1500));
    stdin.write_all(input).unwrap();
    stdin.flush().unwrap();
    let mut out = Vec::new();
    let mut so = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = so.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "{args}: still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    (status.code(), text(&reader.join().unwrap()))
}

pub(crate) fn interactive_tty(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("tty");
    let (code, out) = on_pty(
        d,
        &format!("run -it --rm --name {n} {NONET} busybox sh -c 'stty size; read x; echo got:$x; exit 7'"),
        b"hello\r",
    );
    assert!(out.contains("got:hello"), "{out:?}");
    // The typed line echoed back by the container's terminal.
    assert!(out.contains("hello\r\n"), "{out:?}");
    // The window size was sent: stty sees script's terminal size, not 0 0.
    assert!(!out.contains("0 0"), "{out:?}");
    assert_eq!(code, Some(7), "{out:?}");

    // Detach with ctrl-p ctrl-q: the container keeps running.
    let det = names.make("detach");
    let (code, _) = on_pty(
        d,
        &format!("run -it --name {det} {NONET} busybox sh"),
        b"\x10\x11",
    );
    assert_eq!(code, Some(0));
    let (m, _) = both_ok(d, &["inspect", "-f", "{{.State.Running}}", &det]);
    assert_eq!(m, "true\n");
    // exec -it too.
    let (code, out) = on_pty(
        d,
        &format!("exec -it {det} sh -c 'read y; echo exec:$y'"),
        b"yo\r",
    );
    assert!(out.contains("exec:yo"), "{out:?}");
    assert_eq!(code, Some(0));
}

/// `exec -it` detaches on the config file's `detachKeys` (`$DOCKER_CONFIG/config.json`),
/// as the docker CLI does: typed after them, the rest of the line never reaches the process.
pub(crate) fn exec_detach_keys_from_config(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("execkeys");
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        r#"{"detachKeys": "ctrl-x,x"}"#,
    )
    .unwrap();
    let (code, out) = on_pty(
        d,
        &format!(
            "--config {} exec -it {n} sh -c 'read y; echo exec:$y; exit 3'",
            config.path().display()
        ),
        b"\x18xno\r",
    );
    assert!(!out.contains("exec:"), "{out:?}");
    assert_eq!(code, Some(0), "{out:?}");
}
