//! `run` (output, exit codes, detach, logs, wait) and `start -a` / `run --rm`.

use super::*;

pub(crate) fn run_output_and_exit_codes(d: &Daemon) {
    let (m, k) = both(d, &["run", "--rm", NONET, "busybox", "echo", "hello", "-n"]);
    assert_eq!(text(&m.stdout), "hello -n\n");
    assert_eq!(m.stdout, k.stdout);
    assert_eq!(m.status.code(), Some(0));

    let (m, k) = both(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!((m.status.code(), k.status.code()), (Some(3), Some(3)));
    assert_eq!(text(&m.stdout), "out\n");
    assert_eq!(text(&m.stderr), "err\n");

    // Not found → 127, not executable → 126, create fails → 125.
    for (args, code) in [
        (
            &["run", "--rm", NONET, "busybox", "muelle-no-such-cmd"][..],
            127,
        ),
        (&["run", "--rm", NONET, "busybox", "/etc/passwd"], 126),
        (
            &[
                "run",
                "--rm",
                NONET,
                "--pull",
                "never",
                "muelle-no-such-image:1",
            ],
            125,
        ),
        (&["run", "--rm", NONET, "--memory", "lots", "busybox"], 125),
    ] {
        let (m, k) = both(d, args);
        assert_eq!(m.status.code(), Some(code), "{args:?}: {}", text(&m.stderr));
        assert_eq!(k.status.code(), Some(code), "docker {args:?}");
        let err = text(&m.stderr);
        assert!(err.starts_with("muelle: "), "{err}");
    }
    let m = muelle(d, &["run", "--rm", NONET, "busybox", "muelle-no-such-cmd"]);
    assert!(
        text(&m.stderr).contains("muelle: Error response from daemon: ")
            && text(&m.stderr).contains("executable file not found"),
        "{}",
        text(&m.stderr)
    );

    // Stdin with -i, environment, workdir, user, entrypoint.
    let mut child = Command::new(MUELLE)
        .args(["-H", &d.host, "run", "--rm", "-i", NONET, "busybox", "cat"])
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"typed in\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "typed in\n");
    let args = [
        "run",
        "--rm",
        NONET,
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "12:34",
        "--entrypoint",
        "sh",
        "busybox",
        "-c",
        "echo $A $(pwd) $(id -u):$(id -g)",
    ];
    let (m, k) = both_ok(d, &args);
    assert_eq!(m, "1 /tmp 12:34\n");
    assert_eq!(m, k);
}

pub(crate) fn detached_logs_and_wait(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("logs");
    let id = ok(
        muelle(
            d,
            &[
                "run",
                "-d",
                "--name",
                &n,
                NONET,
                "busybox",
                "sh",
                "-c",
                "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done",
            ],
        ),
        "run -d",
    );
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // -f follows until the container ends.
    let f = muelle(d, &["logs", "-f", &n]);
    assert_eq!(text(&f.stdout), "out1\nout2\nout3\n");
    assert_eq!(text(&f.stderr), "err1\nerr2\nerr3\n");
    let (m, k) = both_ok(d, &["wait", &n]);
    assert_eq!((m.as_str(), k.as_str()), ("0\n", "0\n"));
    for args in [
        &["logs", n.as_str()][..],
        &["logs", "--tail", "1", &n],
        &["logs", "-n", "2", &n],
        &["logs", "--since", "10m", &n],
        &["logs", "--until", "2000-01-01T00:00:00Z", &n],
    ] {
        let (m, k) = both(d, args);
        assert_eq!(m.stdout, k.stdout, "{args:?}");
        assert_eq!(m.stderr, k.stderr, "{args:?}");
    }
    let (m, _) = both_ok(d, &["logs", "-t", &n]);
    let first = m.lines().next().unwrap();
    assert!(
        first.ends_with("Z out1") && first.starts_with("20"),
        "{first}"
    );

    // A tty container's log is raw (no stdcopy frames): \r\n from the pty.
    let t = names.make("tty");
    ok(
        muelle(
            d,
            &["run", "-t", "--name", &t, NONET, "busybox", "echo", "tty"],
        ),
        "run -t",
    );
    let (m, k) = both_ok(d, &["logs", &t]);
    assert_eq!(m, "tty\r\n");
    assert_eq!(m, k);

    let (m, k) = both(d, &["logs", "muelle-no-such-ctr"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(
        text(&m.stderr),
        format!("muelle: {}", text(&k.stderr)),
        "the docker line with our prefix"
    );
}

pub(crate) fn start_attach_and_run_rm(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("start-a");
    ok(
        muelle(
            d,
            &[
                "create",
                "--name",
                &n,
                NONET,
                "busybox",
                "sh",
                "-c",
                "echo hi; exit 4",
            ],
        ),
        "create",
    );
    let m = muelle(d, &["start", "-a", &n]);
    assert_eq!(text(&m.stdout), "hi\n");
    assert_eq!(m.status.code(), Some(4));
    let k = docker(d, &["start", "-a", &n]);
    assert_eq!((k.status.code(), text(&k.stdout)), (Some(4), "hi\n".into()));

    // --rm: gone once run returns.
    let r = names.make("rm");
    let m = muelle(d, &["run", "--rm", "--name", &r, NONET, "busybox", "true"]);
    assert_eq!(m.status.code(), Some(0));
    assert!(!docker(d, &["inspect", &r]).status.success());
}
