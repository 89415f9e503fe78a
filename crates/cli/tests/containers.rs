//! The container commands of the built `muelle` side by side with /usr/bin/docker (the 20.10
//! CLI) against the same daemon: dockerd (scripts/peers.sh up) and a private muelled
//! (target/debug/muelled with muelle-shim beside it, on its own socket, data root and exec
//! root, seeded with busybox by `muelle load` of scripts/busybox-image.sh's OCI tar). Same
//! output, same exit status. Every container runs with `--network none`, has a name unique
//! to the test, and is removed when the test ends, failed or not; the private muelled is
//! stopped and checked for leftover mounts and supervisors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const MUELLE: &str = env!("CARGO_BIN_EXE_muelle");
const DOCKER: &str = "/usr/bin/docker";
const DOCKERD_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon a test talks to. For a private muelled: the process and its directories (the
/// exec root under /run with a short name, as the socket and the shims' sockets live there
/// and unix socket paths end at 107 bytes).
struct Daemon {
    name: &'static str,
    host: String,
    child: Option<Child>,
    data: Option<tempfile::TempDir>,
    exec: Option<tempfile::TempDir>,
}

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

fn muelle(d: &Daemon, args: &[&str]) -> Output {
    run(Command::new(MUELLE).arg("-H").arg(&d.host).args(args))
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    docker_at(&d.host, args)
}

fn docker_at(host: &str, args: &[&str]) -> Output {
    run(Command::new(DOCKER).arg("-H").arg(host).args(args))
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
fn both(d: &Daemon, args: &[&str]) -> (Output, Output) {
    let m = muelle(d, args);
    let mut old: Vec<&str> = args.to_vec();
    for i in 1..old.len() {
        if matches!(old[i - 1], "--format" | "-f") && old[i] == "json" {
            old[i] = "{{json .}}";
        }
    }
    (m, docker(d, &old))
}

fn both_ok(d: &Daemon, args: &[&str]) -> (String, String) {
    let (m, k) = both(d, args);
    (
        ok(m, &format!("muelle {args:?}")),
        ok(k, &format!("docker {args:?}")),
    )
}

/// Fails the test unless the docker CLI is there: a check that cannot run is never a pass
/// (scripts/test.sh leaves the `needs_docker` tests out on hosts without it).
fn require_docker_cli() {
    assert!(
        Path::new(DOCKER).exists(),
        "{DOCKER} is not installed (bash scripts/peers.sh up installs it)"
    );
}

/// The shared dockerd with busybox (scripts/peers.sh up). Other tests use it at the same
/// time: checks against it compare only what this test owns.
fn dockerd() -> Daemon {
    require_docker_cli();
    let out = docker_at(DOCKERD_HOST, &["image", "inspect", "busybox:latest"]);
    assert!(
        out.status.success(),
        "dockerd or its busybox:latest is missing (bash scripts/peers.sh up): {}",
        text(&out.stderr)
    );
    Daemon {
        name: "dockerd",
        host: DOCKERD_HOST.to_owned(),
        child: None,
        data: None,
        exec: None,
    }
}

/// Whether other tests use this daemon at the same time (the shared dockerd).
fn shared(d: &Daemon) -> bool {
    d.child.is_none()
}

/// muelled from the same build as this muelle, else the workspace's target/debug (the CLI
/// may be built in its own target directory); `MUELLED` overrides both.
fn muelled_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MUELLED") {
        return Some(PathBuf::from(p));
    }
    let beside = Path::new(MUELLE).parent()?.join("muelled");
    if beside.exists() {
        return Some(beside);
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/muelled");
    shared.exists().then_some(shared)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The busybox image as an OCI-archive tar (scripts/busybox-image.sh's layout, tarred), built
/// once into Cargo's scratch directory and reused (the script is reproducible).
fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        assert!(
            Path::new("/bin/busybox").exists(),
            "busybox-static is not installed (bash scripts/setup.sh installs it)"
        );
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = scratch.join("muelle-cli-busybox");
        let tar = dir.join("busybox-oci.tar");
        if tar.exists() {
            return tar;
        }
        // Built in a private directory renamed into place: concurrent test processes never
        // see a half-written tar.
        let work = scratch.join(format!("muelle-cli-busybox.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/busybox-image.sh");
        ok(
            run(Command::new("bash").arg(script).arg(work.join("layout"))),
            "scripts/busybox-image.sh",
        );
        ok(
            run(Command::new("tar")
                .arg("-C")
                .arg(work.join("layout"))
                .arg("-cf")
                .arg(work.join("busybox-oci.tar"))
                .arg(".")),
            "tar the layout",
        );
        if std::fs::rename(&work, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&work);
        }
        assert!(tar.exists());
        tar
    })
    .clone()
}

/// A private muelled seeded with busybox:latest.
fn muelled() -> Daemon {
    require_docker_cli();
    let bin = muelled_bin().expect("no muelled (cargo build -p muelle-api -p muelle-supervisor)");
    assert!(is_root(), "muelled needs root");
    let tar = busybox_tar();
    let data = tempfile::Builder::new()
        .prefix("muelle-ct-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let exec = tempfile::Builder::new()
        .prefix("mct-")
        .tempdir_in("/run")
        .unwrap();
    let config = data.path().join("daemon.json");
    std::fs::write(&config, "{}").unwrap();
    let log = std::fs::File::create(data.path().join("muelled.log")).unwrap();
    let host = format!("unix://{}", exec.path().join("m.sock").display());
    let child = Command::new(bin)
        .arg("-H")
        .arg(&host)
        .arg("--data-root")
        .arg(data.path().join("root"))
        .arg("--exec-root")
        .arg(exec.path())
        .arg("--config-file")
        .arg(&config)
        .args(["--log-level", "debug"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start muelled");
    let mut d = Daemon {
        name: "muelled",
        host,
        child: Some(child),
        data: Some(data),
        exec: Some(exec),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !muelle(&d, &["version"]).status.success() {
        if let Some(Ok(Some(st))) = d.child.as_mut().map(Child::try_wait) {
            panic!("muelled exited early ({st}):\n{}", d.log());
        }
        assert!(Instant::now() < deadline, "muelled did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(
        muelle(&d, &["load", "-q", "-i", tar.to_str().unwrap()]),
        "muelle load busybox",
    );
    ok(
        docker(&d, &["image", "inspect", "busybox:latest"]),
        "busybox loaded",
    );
    d
}

impl Daemon {
    fn log(&self) -> String {
        self.data
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("muelled.log")).ok())
            .unwrap_or_default()
    }

    /// Mount points under the private directories and supervisors of the exec root that
    /// outlived the daemon.
    fn leftovers(&self) -> (Vec<String>, Vec<u32>) {
        let roots: Vec<String> = [&self.data, &self.exec]
            .into_iter()
            .flatten()
            .map(|t| t.path().display().to_string())
            .collect();
        let under = |p: &str| roots.iter().any(|r| p.starts_with(r.as_str()));
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| under(p))
            .map(str::to_owned)
            .collect();
        let mut shims = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmd.split(|b| *b == 0).map(text).collect();
            if args.first().is_some_and(|a| a.ends_with("muelle-shim"))
                && args.iter().any(|a| under(a))
            {
                shims.push(pid);
            }
        }
        (mounts, shims)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- {} log (last lines) ---", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        // Containers outlive muelled (their supervisors are their own sessions): remove
        // whatever a test left, then stop the daemon as a service manager would.
        let ids = text(&docker(self, &["ps", "-aq", "--no-trunc"]).stdout);
        for id in ids.split_whitespace() {
            let _ = docker(self, &["rm", "-f", id]);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        // Anything left is a leak: cleaned up here (by pid and path only), and a failure.
        let (mounts, shims) = self.leftovers();
        for pid in &shims {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        for m in mounts.iter().rev() {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        if !std::thread::panicking() {
            assert!(
                mounts.is_empty() && shims.is_empty(),
                "muelled left mounts {mounts:?} and supervisors {shims:?}"
            );
        }
    }
}

/// Names unique to this process and test; every one is `rm -f`'d on drop.
struct Names {
    host: String,
    names: Vec<String>,
}

impl Names {
    fn new(d: &Daemon) -> Names {
        Names {
            host: d.host.clone(),
            names: Vec::new(),
        }
    }
    fn make(&mut self, what: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = format!(
            "muelletest-{what}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.names.push(n.clone());
        n
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = docker_at(&self.host, &["rm", "-f", n]);
        }
    }
}

/// Removes an image tag on drop.
struct Untag {
    host: String,
    image: String,
}

impl Untag {
    fn new(d: &Daemon, image: &str) -> Untag {
        Untag {
            host: d.host.clone(),
            image: image.to_owned(),
        }
    }
}

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker_at(&self.host, &["rmi", "-f", &self.image]);
    }
}

/// One `#[test]` per check and daemon, under the host kind the daemon needs:
/// `needs_dockerd::dockerd::ps_formats`, `needs_docker::muelled::ps_formats` (the docker CLI
/// is the other side of every comparison). scripts/test.sh selects tests by these names.
macro_rules! against {
    ($kind:ident, $daemon:ident: $($check:ident),* $(,)?) => {
        mod $kind {
            mod $daemon {
                $(
                    #[test]
                    fn $check() {
                        crate::$check(&crate::$daemon());
                    }
                )*
            }
        }
    };
}

against!(
    needs_dockerd,
    dockerd: run_output_and_exit_codes,
    detached_logs_and_wait,
    ps_formats,
    lifecycle_verbs,
    start_attach_and_run_rm,
    inspect_containers,
    exec_in_a_running_container,
    exec_detach_keys_from_config,
    interactive_tty,
    cp_both_ways,
    diff_export_commit,
    events_top_port,
    system_df_and_prune_report,
);

against!(
    needs_docker,
    muelled: run_output_and_exit_codes,
    detached_logs_and_wait,
    ps_formats,
    lifecycle_verbs,
    start_attach_and_run_rm,
    inspect_containers,
    exec_in_a_running_container,
    exec_detach_keys_from_config,
    interactive_tty,
    cp_both_ways,
    diff_export_commit,
    events_top_port,
    system_df_and_prune_report,
);

const NONET: &str = "--network=none";

fn run_output_and_exit_codes(d: &Daemon) {
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

fn detached_logs_and_wait(d: &Daemon) {
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

fn ps_formats(d: &Daemon) {
    let mut names = Names::new(d);
    let up = names.make("ps-up");
    let exited = names.make("ps-exit");
    let created = names.make("ps-new");
    ok(
        muelle(
            d,
            &[
                "run", "-d", "--name", &up, NONET, "-l", "a=b", "busybox", "sleep", "60",
            ],
        ),
        "run",
    );
    let _ = muelle(
        d,
        &[
            "run", "--name", &exited, NONET, "busybox", "sh", "-c", "exit 3",
        ],
    );
    ok(
        muelle(
            d,
            &[
                "create",
                "--name",
                &created,
                NONET,
                "busybox",
                "echo",
                "a very long command line here",
            ],
        ),
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
        let (m, k) = both_ok(d, args);
        assert_eq!(status_ages(&m), status_ages(&k), "{args:?}");
    }
    let (m, k) = both_ok(d, &["ps", "-a", "--filter", &filter, "--format", "json"]);
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
    let (m, k) = both_ok(d, &["ps", "-a", "--filter", &filter]);
    // Column widths follow the widest cell, and CREATED ("Less than a second ago", "1 second
    // ago") may tick between the two calls: the same columns always, the same spacing when
    // the rows are the same.
    let columns = |s: &str| -> Vec<String> {
        s.lines()
            .next()
            .unwrap_or("")
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(columns(&m), columns(&k), "header:\n{m}\n{k}");
    if m.lines().skip(1).eq(k.lines().skip(1)) {
        assert_eq!(m.lines().next(), k.lines().next(), "header:\n{m}\n{k}");
    }
    assert_eq!(m.lines().count(), 4);
    assert!(m.contains("\"echo 'a very long c…\""), "{m}");
    assert!(m.contains("Exited (3) "), "{m}");
    assert!(m.contains("   Created   "), "{m}");
    assert!(m.contains("   Up "), "{m}");
    let (m, _) = both_ok(d, &["ps", "-a", "-s", "--filter", &filter]);
    assert!(m.lines().next().unwrap().ends_with("   SIZE"), "{m}");
}

/// `Up 2 seconds` / `Exited (3) 1 second ago` without the age, which ticks between the two
/// clients' calls.
fn status_ages(out: &str) -> String {
    out.lines()
        .map(|l| {
            if let Some(i) = l.find(" Up ") {
                format!("{} Up", &l[..i])
            } else if let Some(i) = l.find(" Exited (") {
                let end = l[i..].find(')').map_or(l.len(), |j| i + j + 1);
                l[..end].to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lifecycle_verbs(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("life");
    ok(
        muelle(
            d,
            &["create", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "create",
    );
    assert_eq!(ok(muelle(d, &["start", &n]), "start"), format!("{n}\n"));
    // pause/unpause print the names; ps shows the pause.
    assert_eq!(ok(muelle(d, &["pause", &n]), "pause"), format!("{n}\n"));
    let (m, k) = both_ok(
        d,
        &["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", &n],
    );
    assert_eq!((m.as_str(), k.as_str()), ("paused true\n", "paused true\n"));
    assert_eq!(ok(muelle(d, &["unpause", &n]), "unpause"), format!("{n}\n"));

    // rename, then the new name works and the old one is gone.
    let renamed = names.make("life-renamed");
    assert_eq!(ok(muelle(d, &["rename", &n, &renamed]), "rename"), "");
    let (m, k) = both(d, &["rename", &n, "x"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr).lines().count(), 2, "{}", text(&m.stderr));

    // stop -t 1: sleep as pid 1 ignores SIGTERM, so the stop takes the full second and the
    // process is killed (137).
    let t0 = Instant::now();
    assert_eq!(
        ok(muelle(d, &["stop", "-t", "1", &renamed]), "stop"),
        format!("{renamed}\n")
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let (m, k) = both_ok(d, &["inspect", "-f", "{{.State.ExitCode}}", &renamed]);
    assert_eq!((m.as_str(), k.as_str()), ("137\n", "137\n"));
    let (m, k) = both_ok(d, &["wait", &renamed]);
    assert_eq!(m, k);

    // restart, kill with a signal, rm -f of a running container.
    assert_eq!(
        ok(muelle(d, &["restart", "-t", "0", &renamed]), "restart"),
        format!("{renamed}\n")
    );
    // As pid 1, sleep has no handler for USR1, so the kernel ignores it; KILL is the default.
    assert_eq!(
        ok(muelle(d, &["kill", "-s", "USR1", &renamed]), "kill -s"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(d, &["inspect", "-f", "{{.State.Running}}", &renamed]);
    assert_eq!(m, "true\n");
    assert_eq!(
        ok(muelle(d, &["kill", &renamed]), "kill"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(
        d,
        &[
            "inspect",
            "-f",
            "{{.State.Running}} {{.State.ExitCode}}",
            &renamed,
        ],
    );
    assert_eq!(m, "false 137\n");
    ok(muelle(d, &["start", &renamed]), "start again");
    let r = muelle(d, &["rm", &renamed]);
    assert_eq!(r.status.code(), Some(1), "a running container needs -f");
    assert_eq!(
        ok(muelle(d, &["rm", "-f", &renamed]), "rm -f"),
        format!("{renamed}\n")
    );
    assert!(!docker(d, &["inspect", &renamed]).status.success());

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
        let (m, k) = both(d, args);
        assert_eq!(m.status.code(), k.status.code(), "{args:?}");
        let want: String = text(&k.stderr)
            .lines()
            .map(|l| format!("muelle: {l}\n"))
            .collect();
        assert_eq!(text(&m.stderr), want, "{args:?}");
        assert_eq!(m.stdout, k.stdout, "{args:?}");
    }
}

fn start_attach_and_run_rm(d: &Daemon) {
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

fn inspect_containers(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("insp");
    ok(
        muelle(
            d,
            &[
                "create", "--name", &n, NONET, "-e", "X=<&>", "-l", "k=v", "busybox", "true",
            ],
        ),
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
        let (m, k) = both_ok(d, args);
        assert_eq!(m, k, "{args:?}");
    }
    let (m, k) = both(d, &["inspect", "--type", "image", &n]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
}

fn exec_in_a_running_container(d: &Daemon) {
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

fn interactive_tty(d: &Daemon) {
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
fn exec_detach_keys_from_config(d: &Daemon) {
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

fn cp_both_ways(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("cp");
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Out of the container: to a new name, into an existing directory, a whole directory.
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/passwd"),
                p.join("pw").to_str().unwrap(),
            ],
        ),
        "cp out",
    );
    let pw = std::fs::read_to_string(p.join("pw")).unwrap();
    assert!(pw.starts_with("root:"), "{pw}");
    std::fs::create_dir(p.join("into")).unwrap();
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/passwd"),
                p.join("into").to_str().unwrap(),
            ],
        ),
        "cp into dir",
    );
    assert_eq!(std::fs::read_to_string(p.join("into/passwd")).unwrap(), pw);
    ok(
        muelle(
            d,
            &["cp", &format!("{n}:/etc"), p.join("etc2").to_str().unwrap()],
        ),
        "cp dir",
    );
    assert!(p.join("etc2/passwd").exists());
    // `dir/.`: the contents, to a new name and into an existing directory.
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/."),
                p.join("etc3").to_str().unwrap(),
            ],
        ),
        "cp dir/. to a new name",
    );
    assert_eq!(std::fs::read_to_string(p.join("etc3/passwd")).unwrap(), pw);
    ok(
        muelle(
            d,
            &[
                "cp",
                &format!("{n}:/etc/."),
                p.join("into").to_str().unwrap(),
            ],
        ),
        "cp dir/. into a directory",
    );
    assert!(p.join("into/group").exists() && !p.join("into/etc").exists());
    // `-` is a tar on stdout.
    let tar = muelle(d, &["cp", &format!("{n}:/etc/passwd"), "-"]);
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
    std::fs::write(p.join("f"), "host data\n").unwrap();
    std::fs::create_dir_all(p.join("tree/sub")).unwrap();
    std::fs::write(p.join("tree/sub/g"), "deep\n").unwrap();
    ok(
        muelle(
            d,
            &["cp", p.join("f").to_str().unwrap(), &format!("{n}:/tmp")],
        ),
        "cp in",
    );
    ok(
        muelle(
            d,
            &[
                "cp",
                p.join("f").to_str().unwrap(),
                &format!("{n}:/tmp/renamed"),
            ],
        ),
        "cp in renamed",
    );
    ok(
        muelle(
            d,
            &["cp", p.join("tree").to_str().unwrap(), &format!("{n}:/tmp")],
        ),
        "cp dir in",
    );
    let (m, k) = both_ok(
        d,
        &[
            "exec",
            &n,
            "cat",
            "/tmp/f",
            "/tmp/renamed",
            "/tmp/tree/sub/g",
        ],
    );
    assert_eq!(m, "host data\nhost data\ndeep\n");
    assert_eq!(m, k);

    let (m, k) = both(
        d,
        &["cp", "muelle-no-such-ctr:/a", p.join("x").to_str().unwrap()],
    );
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr), format!("muelle: {}", text(&k.stderr)));
}

fn diff_export_commit(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("dec");
    ok(
        muelle(
            d,
            &[
                "run",
                "--name",
                &n,
                NONET,
                "busybox",
                "sh",
                "-c",
                "echo marker > /marker; mkdir /newdir; rm /etc/hostname 2>/dev/null; true",
            ],
        ),
        "run",
    );
    let (m, k) = both_ok(d, &["diff", &n]);
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
        muelle(d, &["export", "-o", tarf.to_str().unwrap(), &n]),
        "export -o",
    );
    let listed = ok(run(Command::new("tar").arg("tf").arg(&tarf)), "tar t");
    assert!(listed.lines().any(|l| l == "marker"), "{listed}");
    assert!(listed.lines().any(|l| l == "bin/busybox"), "{listed}");
    let piped = muelle(d, &["export", &n]);
    assert!(piped.status.success());
    assert_eq!(
        piped.stdout.len() as u64,
        std::fs::metadata(&tarf).unwrap().len()
    );

    let image = format!("muelletest/commit-{}:v1", std::process::id());
    let _untag = Untag::new(d, &image);
    let id = ok(
        muelle(
            d,
            &[
                "commit",
                "-m",
                "a message",
                "-a",
                "someone",
                "-c",
                "CMD [\"cat\", \"/marker\"]",
                &n,
                &image,
            ],
        ),
        "commit",
    );
    assert!(id.starts_with("sha256:"), "{id}");
    let (m, k) = both_ok(
        d,
        &[
            "image",
            "inspect",
            "-f",
            "{{.Comment}}|{{.Author}}|{{.Config.Cmd}}",
            &image,
        ],
    );
    assert_eq!(m, "a message|someone|[cat /marker]\n");
    assert_eq!(m, k);
    let (m, k) = both_ok(d, &["run", "--rm", NONET, "--pull", "never", &image]);
    assert_eq!((m.as_str(), k.as_str()), ("marker\n", "marker\n"));
}

fn events_top_port(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("ev");
    let since = ok(run(Command::new("date").arg("+%s")), "date")
        .trim()
        .to_owned();
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    let (m, k) = both_ok(d, &["top", &n]);
    let head = |s: &str| s.lines().next().unwrap_or("").to_owned();
    assert_eq!(head(&m), head(&k));
    assert!(m.contains("sleep 60"), "{m}");
    let (m, k) = both(d, &["port", &n]);
    assert_eq!((m.status.code(), m.stdout), (k.status.code(), k.stdout));
    ok(muelle(d, &["rm", "-f", &n]), "rm");
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
        let (m, k) = both_ok(d, args);
        assert_eq!(m, k, "{args:?}");
        assert!(!m.is_empty(), "{args:?}");
    }
    let (m, _) = both_ok(
        d,
        &[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Action}}",
        ],
    );
    // One `top` from each CLI.
    assert_eq!(m, "create\nstart\ntop\ntop\nkill\ndie\ndestroy\n");
}

fn system_df_and_prune_report(d: &Daemon) {
    let (m, k) = both_ok(d, &["system", "df"]);
    if shared(d) {
        // The SIZE column is as wide as its widest value, which other tests change
        // meanwhile: the same columns, spacing aside.
        let columns = |s: &str| -> Vec<String> {
            let header = s.lines().next().unwrap_or("");
            header.split_whitespace().map(str::to_owned).collect()
        };
        assert_eq!(columns(&m), columns(&k));
    } else {
        assert_eq!(m.lines().next(), k.lines().next());
    }
    assert_eq!(m.lines().count(), 5);
    let (m, k) = both_ok(
        d,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.Size}} {{.Reclaimable}}",
        ],
    );
    if shared(d) {
        // Other tests create and remove images and containers in the shared dockerd between
        // the two calls, so sizes and shares may differ: the rows and their format must not.
        let shape = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    let n = f.len();
                    assert!(n >= 3, "{l}");
                    let size = |v: &str| {
                        assert!(
                            v.ends_with('B')
                                && v[..v.len() - 1]
                                    .trim_end_matches(char::is_alphabetic)
                                    .parse::<f64>()
                                    .is_ok(),
                            "not a size: {v:?} in {l:?}"
                        );
                    };
                    // "Images 1.986MB 0B (0%)": the share is a separate word.
                    let reclaim_at = if f[n - 1].starts_with('(') {
                        n - 2
                    } else {
                        n - 1
                    };
                    size(f[reclaim_at]);
                    size(f[reclaim_at - 1]);
                    f[..reclaim_at - 1].join(" ")
                })
                .collect()
        };
        assert_eq!(shape(&m), shape(&k));
    } else {
        // A private muelled only has what this test did: the image row is the same.
        assert_eq!(m.lines().next(), k.lines().next());
        // container prune with a filter nothing matches: docker's report with nothing
        // deleted. Never against the shared dockerd, where other tests' containers live.
        let (m, k) = both_ok(
            d,
            &[
                "container",
                "prune",
                "-f",
                "--filter",
                "label=muelletest-nothing-has-this",
            ],
        );
        assert_eq!(m, k);
        assert_eq!(m, "Total reclaimed space: 0B\n");
    }
}
