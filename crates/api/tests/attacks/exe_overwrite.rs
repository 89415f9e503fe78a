//! CVE-2019-5736 through muelled: a container that grabs `/proc/PID/exe` of the supervisor
//! (as its init and through `docker exec`) and reopens it for writing must not change the
//! `muelle-shim` binary on the host.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use crate::{env_with, sha256, text, unique, wait_until};

/// The attacker (the same as in crates/runtime/tests/cli.rs), run in a container with
/// /mnt/out bound to a host directory. Each sweep of /proc stops every process it has not got
/// yet (so that a short-lived one stays put), opens its `/proc/PID/exe` (`command exec 3<`:
/// a failed open does not end the shell, nor does `command :`'s; it is tried again on the
/// next sweep, as a process being set up may become reachable after its execve) and lets it
/// go on. For an exe that is not the container's own busybox, a child waits for the process
/// to end and opens the descriptor again for writing with O_TRUNC, as the attack does.
/// Opening without O_TRUNC would not tell a protected binary from an unprotected one: the
/// kernel answers ETXTBSY before EROFS as long as anything still executes the file (the
/// container's supervisor does), while O_TRUNC asks the mount for write access first. Lines
/// in /mnt/out/report: `TARGET pid exe`, then `WROTE pid exe` or `DENIED pid exe: error`.
/// (The script is shared with the runtime's own test of the attack.)
const EXE_WATCHER: &str = include_str!("../../../runtime/tests/exe_watcher.sh");

/// Stops the attacker and checks its report: nothing opened for writing, every refusal
/// from the binary's protection (a read-only mount, or a sealed memfd; ETXTBSY means the
/// mount itself was writable) and at least one supervisor process reached.
fn exe_attack_verdicts(out: &Path, what: &str) -> String {
    std::fs::write(out.join("stop"), "").unwrap();
    let report = out.join("report");
    let read = || std::fs::read_to_string(&report).unwrap_or_default();
    let settled = || {
        let r = read();
        let n = |k: &str| r.lines().filter(|l| l.starts_with(k)).count();
        n("TARGET") == n("WROTE") + n("DENIED")
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(out.join("done").exists() && settled()) {
        assert!(
            Instant::now() < deadline,
            "{what}: the attacker did not finish: {}",
            read()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = read();
    assert!(
        !r.contains("WROTE"),
        "{what}: a container opened the supervisor's binary for writing:\n{r}"
    );
    for l in r.lines().filter(|l| l.starts_with("DENIED")) {
        assert!(
            l.contains("Read-only file system") || l.contains("Operation not permitted"),
            "{what}: refused for another reason than the binary's protection: {l}\n{r}"
        );
    }
    assert!(
        r.lines().any(|l| l.starts_with("DENIED")),
        "{what}: the attacker reached no supervisor process (the test attacked nothing):\n{r}"
    );
    r
}

/// A tar stream (for `docker cp -`) of `/evil`, a script run by `/proc/self/exe`, and the
/// dynamic loader and libraries of `bin` at their host paths, so that the kernel can load the
/// supervisor inside the container as it could in any glibc-based image.
fn evil_payload(dir: &Path, bin: &Path) -> Vec<u8> {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(stage.join("evil"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(
        stage.join("evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let o = Command::new("ldd").arg(bin).output().expect("ldd");
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let Some(lib) = l
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(Path::new)
        else {
            continue;
        };
        let dst = stage.join(lib.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dst).unwrap();
    }
    let o = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(o.status.success());
    o.stdout
}

/// CVE-2019-5736 through muelled: an image whose ENTRYPOINT is a `#!/proc/self/exe` script
/// (made with `docker commit -c`), run as a container's init and through `docker exec` while an
/// attacker in the same container (with and without CAP_SYS_PTRACE) grabs `/proc/PID/exe` of
/// every process and reopens it for writing once the process is gone. The daemon runs a
/// private copy of `muelle-shim` (`MUELLE_SHIM`: an unprotected binary is destroyed), whose
/// hash must not change.
#[test]
fn shim_binary_survives_proc_self_exe_attack_needs_docker_registry_skopeo() {
    let shim = support::shim_binary();
    let bins = tempfile::Builder::new()
        .prefix("muelle-shimcopy-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let copy = bins.path().join("muelle-shim");
    std::fs::copy(&shim, &copy).unwrap();
    let before = sha256(&copy);
    let Some(e) = env_with(&[("MUELLE_SHIM", copy.to_str().unwrap())]) else {
        return;
    };
    let u = unique();
    let base = format!("cve5736-base-{u}");
    let image = format!("cve5736-{u}:evil");
    e.docker_ok(&["create", "--name", &base, "busybox", "true"]);
    let payload = evil_payload(e.scratch.path(), &copy);
    let o = e.docker_stdin(&["cp", "-", &format!("{base}:/")], &payload);
    assert!(o.status.success(), "docker cp -: {}", text(&o));
    e.docker_ok(&["commit", "-c", r#"ENTRYPOINT ["/evil"]"#, &base, &image]);

    // As the init: the shim runs in the container (and fails on its arguments).
    for _ in 0..3 {
        let o = e.docker(&["run", "--rm", "--network", "none", &image]);
        assert!(!o.status.success(), "{}", text(&o));
    }
    assert_eq!(sha256(&copy), before, "the init run changed muelle-shim");

    for ptrace in [false, true] {
        let what = if ptrace {
            "with CAP_SYS_PTRACE"
        } else {
            "default capabilities"
        };
        let out = e.scratch.path().join(format!("out-{ptrace}"));
        std::fs::create_dir(&out).unwrap();
        let name = format!("cve5736-{u}-{ptrace}");
        let mut args = vec![
            "run".to_string(),
            "-d".into(),
            "--network".into(),
            "none".into(),
            "--name".into(),
            name.clone(),
            "-v".into(),
            format!("{}:/mnt/out", out.display()),
            "--entrypoint".into(),
            "sh".into(),
        ];
        if ptrace {
            args.extend(["--cap-add".into(), "SYS_PTRACE".into()]);
        }
        args.extend([image.clone(), "-c".into(), EXE_WATCHER.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        e.docker_ok(&args);
        wait_until("the attacker", Duration::from_secs(10), || {
            out.join("ready").exists()
        });
        for _ in 0..15 {
            // Fails: the shim does not take /evil as its arguments. A binary the attacker
            // holds open for writing cannot even be started (the verdicts tell).
            let _ = e.docker(&["exec", &name, "/evil"]);
        }
        let r = exe_attack_verdicts(&out, what);
        println!("{what}:\n{r}");
        assert_eq!(sha256(&copy), before, "{what}: muelle-shim changed");
        e.docker_ok(&["rm", "-f", &name]);
    }
    // The daemon's supervisors run from the copy (the test attacked the right binary).
    let name = format!("cve5736-{u}-check");
    e.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "busybox",
        "sleep",
        "30",
    ]);
    assert!(
        !support::shims_under(copy.to_str().unwrap()).is_empty(),
        "muelled did not use MUELLE_SHIM"
    );
}
