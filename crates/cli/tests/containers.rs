//! The container commands of the built `muelle` against dockerd (scripts/peers.sh up), side
//! by side with /usr/bin/docker (the 20.10 CLI): same output, same exit status. Every
//! container runs with `--network none`, has a name unique to the test, and is removed when
//! the test ends, failed or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");
const DOCKER: &str = "/usr/bin/docker";
const HOST: &str = "unix:///var/run/docker.sock";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MUELLE_HOST")
        .env_remove("DOCKER_HOST")
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

fn muelle(args: &[&str]) -> Output {
    run(Command::new(MUELLE).arg("-H").arg(HOST).args(args))
}

fn docker(args: &[&str]) -> Output {
    run(Command::new(DOCKER).arg("-H").arg(HOST).args(args))
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The same command through both CLIs (`--format json` becomes `{{json .}}` for 20.10).
fn both(args: &[&str]) -> (Output, Output) {
    let m = muelle(args);
    let mut old: Vec<&str> = args.to_vec();
    for i in 1..old.len() {
        if matches!(old[i - 1], "--format" | "-f") && old[i] == "json" {
            old[i] = "{{json .}}";
        }
    }
    (m, docker(&old))
}

fn both_ok(args: &[&str]) -> (String, String) {
    let (m, k) = both(args);
    (
        ok(m, &format!("muelle {args:?}")),
        ok(k, &format!("docker {args:?}")),
    )
}

/// Whether dockerd with busybox is here; says why not otherwise.
fn ready() -> bool {
    if !Path::new(DOCKER).exists() {
        println!("SKIP: {DOCKER} is not installed (scripts/peers.sh up installs it)");
        return false;
    }
    if !docker(&["image", "inspect", "busybox:latest"])
        .status
        .success()
    {
        println!("SKIP: dockerd or its busybox:latest is missing (bash scripts/peers.sh up)");
        return false;
    }
    true
}

/// Names unique to this process and test; every one is `rm -f`'d on drop.
struct Names(Vec<String>);

impl Names {
    fn new() -> Names {
        Names(Vec::new())
    }
    fn make(&mut self, what: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = format!(
            "muelletest-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.0.push(n.clone());
        n
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = docker(&["rm", "-f", n]);
        }
    }
}

/// Removes an image tag on drop.
struct Untag(String);

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.0]);
    }
}

const NONET: &str = "--network=none";

#[test]
fn run_output_and_exit_codes() {
    if !ready() {
        return;
    }
    let (m, k) = both(&["run", "--rm", NONET, "busybox", "echo", "hello", "-n"]);
    assert_eq!(text(&m.stdout), "hello -n\n");
    assert_eq!(m.stdout, k.stdout);
    assert_eq!(m.status.code(), Some(0));

    let (m, k) = both(&[
        "run",
        "--rm",
        NONET,
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
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
        let (m, k) = both(args);
        assert_eq!(m.status.code(), Some(code), "{args:?}: {}", text(&m.stderr));
        assert_eq!(k.status.code(), Some(code), "docker {args:?}");
        let err = text(&m.stderr);
        assert!(err.starts_with("muelle: "), "{err}");
    }
    let m = muelle(&["run", "--rm", NONET, "busybox", "muelle-no-such-cmd"]);
    assert!(
        text(&m.stderr).contains("muelle: Error response from daemon: ")
            && text(&m.stderr).contains("executable file not found"),
        "{}",
        text(&m.stderr)
    );

    // Stdin with -i, environment, workdir, user, entrypoint.
    let mut child = Command::new(MUELLE)
        .args(["-H", HOST, "run", "--rm", "-i", NONET, "busybox", "cat"])
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
    let (m, k) = both_ok(&args);
    assert_eq!(m, "1 /tmp 12:34\n");
    assert_eq!(m, k);
}

#[test]
fn detached_logs_and_wait() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("logs");
    let id = ok(
        muelle(&[
            "run",
            "-d",
            "--name",
            &n,
            NONET,
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done",
        ]),
        "run -d",
    );
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // -f follows until the container ends.
    let f = muelle(&["logs", "-f", &n]);
    assert_eq!(text(&f.stdout), "out1\nout2\nout3\n");
    assert_eq!(text(&f.stderr), "err1\nerr2\nerr3\n");
    let (m, k) = both_ok(&["wait", &n]);
    assert_eq!((m.as_str(), k.as_str()), ("0\n", "0\n"));
    for args in [
        &["logs", n.as_str()][..],
        &["logs", "--tail", "1", &n],
        &["logs", "-n", "2", &n],
        &["logs", "--since", "10m", &n],
        &["logs", "--until", "2000-01-01T00:00:00Z", &n],
    ] {
        let (m, k) = both(args);
        assert_eq!(m.stdout, k.stdout, "{args:?}");
        assert_eq!(m.stderr, k.stderr, "{args:?}");
    }
    let (m, _) = both_ok(&["logs", "-t", &n]);
    let first = m.lines().next().unwrap();
    assert!(
        first.ends_with("Z out1") && first.starts_with("20"),
        "{first}"
    );

    // A tty container's log is raw (no stdcopy frames): \r\n from the pty.
    let t = names.make("tty");
    ok(
        muelle(&["run", "-t", "--name", &t, NONET, "busybox", "echo", "tty"]),
        "run -t",
    );
    let (m, k) = both_ok(&["logs", &t]);
    assert_eq!(m, "tty\r\n");
    assert_eq!(m, k);

    let (m, k) = both(&["logs", "muelle-no-such-ctr"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(
        text(&m.stderr),
        format!("muelle: {}", text(&k.stderr)),
        "the docker line with our prefix"
    );
}

#[test]
fn ps_formats() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let up = names.make("ps-up");
    let exited = names.make("ps-exit");
    let created = names.make("ps-new");
    ok(
        muelle(&[
            "run", "-d", "--name", &up, NONET, "-l", "a=b", "busybox", "sleep", "60",
        ]),
        "run",
    );
    let _ = muelle(&[
        "run", "--name", &exited, NONET, "busybox", "sh", "-c", "exit 3",
    ]);
    ok(
        muelle(&[
            "create",
            "--name",
            &created,
            NONET,
            "busybox",
            "echo",
            "a very long command line here",
        ]),
        "create",
    );
    let filter = format!("name=muelletest-ps-.*-{}-", std::process::id());
    // Columns and truncation; CREATED and STATUS tick, so the stable columns are compared
    // and the default table only by its layout.
    let t = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Ports}}\\t{{.Names}}\\t{{.State}}\\t{{.Labels}}\\t{{.Networks}}\\t{{.Mounts}}";
    for args in [
        &["ps", "-a", "--filter", filter.as_str(), "--format", t][..],
        &["ps", "-a", "--filter", &filter, "--no-trunc", "--format", t],
        &["ps", "-a", "-q", "--filter", &filter],
        &["ps", "-q", "--filter", &filter],
        &["ps", "-aq", "--no-trunc", "--filter", &filter],
        &[
            "container",
            "ls",
            "-a",
            "-n",
            "2",
            "-q",
            "--filter",
            &filter,
        ],
        &["ps", "-l", "-q", "--filter", &filter],
        &[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.Status}}",
        ],
    ] {
        let (m, k) = both_ok(args);
        assert_eq!(m, k, "{args:?}");
    }
    let (m, k) = both_ok(&["ps", "-a", "--filter", &filter, "--format", "json"]);
    let strip = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let o = v.as_object_mut().unwrap();
                o.remove("RunningFor");
                o.remove("Status");
                v
            })
            .collect()
    };
    assert_eq!(strip(&m), strip(&k));
    let keys: Vec<String> = serde_json::from_str::<serde_json::Value>(m.lines().next().unwrap())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "Command",
            "CreatedAt",
            "ID",
            "Image",
            "Labels",
            "LocalVolumes",
            "Mounts",
            "Names",
            "Networks",
            "Ports",
            "RunningFor",
            "Size",
            "State",
            "Status"
        ]
    );
    let (m, k) = both_ok(&["ps", "-a", "--filter", &filter]);
    assert_eq!(m.lines().next(), k.lines().next(), "header:\n{m}\n{k}");
    assert_eq!(m.lines().count(), 4);
    assert!(m.contains("\"echo 'a very long c…\""), "{m}");
    assert!(m.contains("Exited (3) "), "{m}");
    assert!(m.contains("   Created   "), "{m}");
    assert!(m.contains("   Up "), "{m}");
    let (m, _) = both_ok(&["ps", "-a", "-s", "--filter", &filter]);
    assert!(m.lines().next().unwrap().ends_with("   SIZE"), "{m}");
}

#[test]
fn lifecycle_verbs() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("life");
    ok(
        muelle(&["create", "--name", &n, NONET, "busybox", "sleep", "60"]),
        "create",
    );
    assert_eq!(ok(muelle(&["start", &n]), "start"), format!("{n}\n"));
    // pause/unpause print the names; ps shows the pause.
    assert_eq!(ok(muelle(&["pause", &n]), "pause"), format!("{n}\n"));
    let (m, k) = both_ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", &n]);
    assert_eq!((m.as_str(), k.as_str()), ("paused true\n", "paused true\n"));
    assert_eq!(ok(muelle(&["unpause", &n]), "unpause"), format!("{n}\n"));

    // rename, then the new name works and the old one is gone.
    let renamed = names.make("life-renamed");
    assert_eq!(ok(muelle(&["rename", &n, &renamed]), "rename"), "");
    let (m, k) = both(&["rename", &n, "x"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr).lines().count(), 2, "{}", text(&m.stderr));

    // stop -t 1: sleep as pid 1 ignores SIGTERM, so the stop takes the full second and the
    // process is killed (137).
    let t0 = Instant::now();
    assert_eq!(
        ok(muelle(&["stop", "-t", "1", &renamed]), "stop"),
        format!("{renamed}\n")
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let (m, k) = both_ok(&["inspect", "-f", "{{.State.ExitCode}}", &renamed]);
    assert_eq!((m.as_str(), k.as_str()), ("137\n", "137\n"));
    let (m, k) = both_ok(&["wait", &renamed]);
    assert_eq!(m, k);

    // restart, kill with a signal, rm -f of a running container.
    assert_eq!(
        ok(muelle(&["restart", "-t", "0", &renamed]), "restart"),
        format!("{renamed}\n")
    );
    // As pid 1, sleep has no handler for USR1, so the kernel ignores it; KILL is the default.
    assert_eq!(
        ok(muelle(&["kill", "-s", "USR1", &renamed]), "kill -s"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(&["inspect", "-f", "{{.State.Running}}", &renamed]);
    assert_eq!(m, "true\n");
    assert_eq!(
        ok(muelle(&["kill", &renamed]), "kill"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(&[
        "inspect",
        "-f",
        "{{.State.Running}} {{.State.ExitCode}}",
        &renamed,
    ]);
    assert_eq!(m, "false 137\n");
    ok(muelle(&["start", &renamed]), "start again");
    let r = muelle(&["rm", &renamed]);
    assert_eq!(r.status.code(), Some(1), "a running container needs -f");
    assert_eq!(
        ok(muelle(&["rm", "-f", &renamed]), "rm -f"),
        format!("{renamed}\n")
    );
    assert!(!docker(&["inspect", &renamed]).status.success());

    // Errors in docker's words, with our prefix; the exit status is docker's.
    for args in [
        &["rm", "muelle-no-such-ctr"][..],
        &["stop", "muelle-no-such-ctr"],
        &["kill", "muelle-no-such-ctr"],
        &["wait", "muelle-no-such-ctr"],
        &["pause", "muelle-no-such-ctr"],
        &["port", "muelle-no-such-ctr"],
        &["container", "inspect", "muelle-no-such-ctr"],
        &["inspect", "muelle-no-such-ctr"],
        &["start", "muelle-no-such-ctr"],
    ] {
        let (m, k) = both(args);
        assert_eq!(m.status.code(), k.status.code(), "{args:?}");
        let want: String = text(&k.stderr)
            .lines()
            .map(|l| format!("muelle: {l}\n"))
            .collect();
        assert_eq!(text(&m.stderr), want, "{args:?}");
        assert_eq!(m.stdout, k.stdout, "{args:?}");
    }
}

#[test]
fn start_attach_and_run_rm() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("start-a");
    ok(
        muelle(&[
            "create",
            "--name",
            &n,
            NONET,
            "busybox",
            "sh",
            "-c",
            "echo hi; exit 4",
        ]),
        "create",
    );
    let m = muelle(&["start", "-a", &n]);
    assert_eq!(text(&m.stdout), "hi\n");
    assert_eq!(m.status.code(), Some(4));
    let k = docker(&["start", "-a", &n]);
    assert_eq!((k.status.code(), text(&k.stdout)), (Some(4), "hi\n".into()));

    // --rm: gone once run returns.
    let r = names.make("rm");
    let m = muelle(&["run", "--rm", "--name", &r, NONET, "busybox", "true"]);
    assert_eq!(m.status.code(), Some(0));
    assert!(!docker(&["inspect", &r]).status.success());
}

#[test]
fn inspect_containers() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("insp");
    ok(
        muelle(&[
            "create", "--name", &n, NONET, "-e", "X=<&>", "-l", "k=v", "busybox", "true",
        ]),
        "create",
    );
    for args in [
        &["inspect", n.as_str()][..],
        &["container", "inspect", &n],
        &["inspect", "--type", "container", &n],
        &[
            "inspect",
            "-f",
            "{{.Name}} {{.Config.Image}} {{json .Config.Env}}",
            &n,
        ],
        &[
            "inspect",
            "-f",
            "{{.Config.Labels.k}} {{.HostConfig.NetworkMode}}",
            &n,
        ],
        &["inspect", "-f", "{{.Id}}", &n, "busybox"],
    ] {
        let (m, k) = both_ok(args);
        assert_eq!(m, k, "{args:?}");
    }
    let (m, k) = both(&["inspect", "--type", "image", &n]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
}

#[test]
fn exec_in_a_running_container() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("exec");
    ok(
        muelle(&["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"]),
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
        let (m, k) = both(args);
        assert_eq!(m.status.code(), k.status.code(), "{args:?}");
        assert_eq!(m.stdout, k.stdout, "{args:?}");
    }
    let m = muelle(&["exec", &n, "sh", "-c", "exit 5"]);
    assert_eq!(m.status.code(), Some(5));
    let mut child = Command::new(MUELLE)
        .args(["-H", HOST, "exec", "-i", &n, "cat"])
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
        ok(muelle(&["exec", "-d", &n, "touch", "/tmp/d"]), "exec -d"),
        ""
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(muelle(&["exec", &n, "test", "-e", "/tmp/d"]), "exec -d ran");
    let (m, k) = both(&["exec", "muelle-no-such-ctr", "true"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr), format!("muelle: {}", text(&k.stderr)));
}

/// Runs `muelle args` on a pseudo-terminal (util-linux `script`) with `input` typed in.
fn on_pty(args: &str, input: &[u8]) -> Option<(Option<i32>, String)> {
    if !Path::new("/usr/bin/script").exists() {
        println!("SKIP: /usr/bin/script (util-linux) is not installed");
        return None;
    }
    let mut child = Command::new("/usr/bin/script")
        .args(["-qefc", &format!("{MUELLE} -H {HOST} {args}"), "/dev/null"])
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
    Some((status.code(), text(&reader.join().unwrap())))
}

#[test]
fn interactive_tty() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("tty");
    let Some((code, out)) = on_pty(
        &format!("run -it --rm --name {n} {NONET} busybox sh -c 'stty size; read x; echo got:$x; exit 7'"),
        b"hello\r",
    ) else {
        return;
    };
    assert!(out.contains("got:hello"), "{out:?}");
    // The typed line echoed back by the container's terminal.
    assert!(out.contains("hello\r\n"), "{out:?}");
    // The window size was sent: stty sees script's terminal size, not 0 0.
    assert!(!out.contains("0 0"), "{out:?}");
    assert_eq!(code, Some(7), "{out:?}");

    // Detach with ctrl-p ctrl-q: the container keeps running.
    let d = names.make("detach");
    let Some((code, _)) = on_pty(
        &format!("run -it --name {d} {NONET} busybox sh"),
        b"\x10\x11",
    ) else {
        return;
    };
    assert_eq!(code, Some(0));
    let (m, _) = both_ok(&["inspect", "-f", "{{.State.Running}}", &d]);
    assert_eq!(m, "true\n");
    // exec -it too.
    let Some((code, out)) = on_pty(
        &format!("exec -it {d} sh -c 'read y; echo exec:$y'"),
        b"yo\r",
    ) else {
        return;
    };
    assert!(out.contains("exec:yo"), "{out:?}");
    assert_eq!(code, Some(0));
}

#[test]
fn cp_both_ways() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("cp");
    ok(
        muelle(&["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"]),
        "run -d",
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Out of the container: to a new name, into an existing directory, a whole directory.
    ok(
        muelle(&[
            "cp",
            &format!("{n}:/etc/passwd"),
            d.join("pw").to_str().unwrap(),
        ]),
        "cp out",
    );
    let pw = std::fs::read_to_string(d.join("pw")).unwrap();
    assert!(pw.starts_with("root:"), "{pw}");
    std::fs::create_dir(d.join("into")).unwrap();
    ok(
        muelle(&[
            "cp",
            &format!("{n}:/etc/passwd"),
            d.join("into").to_str().unwrap(),
        ]),
        "cp into dir",
    );
    assert_eq!(std::fs::read_to_string(d.join("into/passwd")).unwrap(), pw);
    ok(
        muelle(&["cp", &format!("{n}:/etc"), d.join("etc2").to_str().unwrap()]),
        "cp dir",
    );
    assert!(d.join("etc2/passwd").exists());
    // `-` is a tar on stdout.
    let tar = muelle(&["cp", &format!("{n}:/etc/passwd"), "-"]);
    assert!(tar.status.success());
    let listed = Command::new("tar")
        .arg("t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&tar.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(text(&listed.stdout), "passwd\n");

    // Into the container: into a directory, to a new name, a directory.
    std::fs::write(d.join("f"), "host data\n").unwrap();
    std::fs::create_dir_all(d.join("tree/sub")).unwrap();
    std::fs::write(d.join("tree/sub/g"), "deep\n").unwrap();
    ok(
        muelle(&["cp", d.join("f").to_str().unwrap(), &format!("{n}:/tmp")]),
        "cp in",
    );
    ok(
        muelle(&[
            "cp",
            d.join("f").to_str().unwrap(),
            &format!("{n}:/tmp/renamed"),
        ]),
        "cp in renamed",
    );
    ok(
        muelle(&["cp", d.join("tree").to_str().unwrap(), &format!("{n}:/tmp")]),
        "cp dir in",
    );
    let (m, k) = both_ok(&[
        "exec",
        &n,
        "cat",
        "/tmp/f",
        "/tmp/renamed",
        "/tmp/tree/sub/g",
    ]);
    assert_eq!(m, "host data\nhost data\ndeep\n");
    assert_eq!(m, k);

    let (m, k) = both(&["cp", "muelle-no-such-ctr:/a", d.join("x").to_str().unwrap()]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr), format!("muelle: {}", text(&k.stderr)));
}

#[test]
fn diff_export_commit() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("dec");
    ok(
        muelle(&[
            "run",
            "--name",
            &n,
            NONET,
            "busybox",
            "sh",
            "-c",
            "echo marker > /marker; mkdir /newdir; rm /etc/hostname 2>/dev/null; true",
        ]),
        "run",
    );
    let (m, k) = both_ok(&["diff", &n]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&m), sorted(&k));
    assert!(
        m.contains("A /marker\n") && m.contains("A /newdir\n"),
        "{m}"
    );

    let dir = tempfile::tempdir().unwrap();
    let tarf = dir.path().join("x.tar");
    ok(
        muelle(&["export", "-o", tarf.to_str().unwrap(), &n]),
        "export -o",
    );
    let listed = ok(run(Command::new("tar").arg("tf").arg(&tarf)), "tar t");
    assert!(listed.lines().any(|l| l == "marker"), "{listed}");
    assert!(listed.lines().any(|l| l == "bin/busybox"), "{listed}");
    let piped = muelle(&["export", &n]);
    assert!(piped.status.success());
    assert_eq!(
        piped.stdout.len() as u64,
        std::fs::metadata(&tarf).unwrap().len()
    );

    let image = format!("muelletest/commit-{}:v1", std::process::id());
    let _untag = Untag(image.clone());
    let id = ok(
        muelle(&[
            "commit",
            "-m",
            "a message",
            "-a",
            "someone",
            "-c",
            "CMD [\"cat\", \"/marker\"]",
            &n,
            &image,
        ]),
        "commit",
    );
    assert!(id.starts_with("sha256:"), "{id}");
    let (m, k) = both_ok(&[
        "image",
        "inspect",
        "-f",
        "{{.Comment}}|{{.Author}}|{{.Config.Cmd}}",
        &image,
    ]);
    assert_eq!(m, "a message|someone|[cat /marker]\n");
    assert_eq!(m, k);
    let (m, k) = both_ok(&["run", "--rm", NONET, &image]);
    assert_eq!((m.as_str(), k.as_str()), ("marker\n", "marker\n"));
}

#[test]
fn events_top_port() {
    if !ready() {
        return;
    }
    let mut names = Names::new();
    let n = names.make("ev");
    let since = ok(run(Command::new("date").arg("+%s")), "date")
        .trim()
        .to_owned();
    ok(
        muelle(&["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"]),
        "run -d",
    );
    let (m, k) = both_ok(&["top", &n]);
    let head = |s: &str| s.lines().next().unwrap_or("").to_owned();
    assert_eq!(head(&m), head(&k));
    assert!(m.contains("sleep 60"), "{m}");
    let (m, k) = both(&["port", &n]);
    assert_eq!((m.status.code(), m.stdout), (k.status.code(), k.stdout));
    ok(muelle(&["rm", "-f", &n]), "rm");
    std::thread::sleep(Duration::from_millis(1100));
    let until = ok(run(Command::new("date").arg("+%s")), "date")
        .trim()
        .to_owned();
    let filter = format!("container={n}");
    for args in [
        &[
            "events",
            "--since",
            since.as_str(),
            "--until",
            &until,
            "--filter",
            &filter,
        ][..],
        &[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ],
        &[
            "system",
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--filter",
            "event=die",
            "--format",
            "json",
        ],
    ] {
        let (m, k) = both_ok(args);
        assert_eq!(m, k, "{args:?}");
        assert!(!m.is_empty(), "{args:?}");
    }
    let (m, _) = both_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &filter,
        "--format",
        "{{.Action}}",
    ]);
    // One `top` from each CLI.
    assert_eq!(m, "create\nstart\ntop\ntop\nkill\ndie\ndestroy\n");
}

#[test]
fn system_df_and_prune_report() {
    if !ready() {
        return;
    }
    let (m, k) = both_ok(&["system", "df"]);
    assert_eq!(m.lines().next(), k.lines().next());
    assert_eq!(m.lines().count(), 5);
    // Other tests create and remove containers at the same time: compare images only.
    let (m, k) = both_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.Size}} {{.Reclaimable}}",
    ]);
    assert_eq!(m.lines().next(), k.lines().next());
    // container prune with a filter nothing matches: docker's report with nothing deleted.
    let (m, k) = both_ok(&[
        "container",
        "prune",
        "-f",
        "--filter",
        "label=muelletest-nothing-has-this",
    ]);
    assert_eq!(m, k);
    assert_eq!(m, "Total reclaimed space: 0B\n");
}
