//! Attacks performed through muelled and the stock docker CLI, with the host checked
//! afterwards: CVE-2019-5736 (a container overwriting `muelle-shim` through
//! `/proc/PID/exe`), hostile image layers through `load`, `import` and `pull`, and symlink
//! swaps racing `docker cp` (CVE-2018-15664) and volume mounts (CVE-2021-30465).
//!
//! A missing peer (docker CLI, busybox, docker-registry) fails the test when `CI` is set; it
//! is skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{busybox_tar, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

/// Fails the test, naming the missing peer (the test's name says what it needs, so
/// scripts/test.sh leaves it out, as skipped, on a host without it).
fn missing(what: &str) {
    panic!("{what} is needed (scripts/peers.sh install)");
}

/// A daemon with busybox loaded (optionally with extra environment). On drop, a failing
/// test's too, every container goes, then whatever supervisor or mount is left.
struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
}

impl std::ops::Deref for Env {
    type Target = Daemon;
    fn deref(&self) -> &Daemon {
        &self.d
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env_with(vars: &[(&str, &str)]) -> Option<Env> {
    if !Path::new(DOCKER).exists() {
        missing(DOCKER);
        return None;
    }
    let tar = busybox_tar();
    support::shim_binary();
    let d = Daemon::start_with_env(&[], vars);
    let out = d.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "docker load: {out:?}\n{}", d.log());
    let scratch = tempfile::Builder::new()
        .prefix("muelle-attack-")
        .tempdir_in("/var/tmp")
        .unwrap();
    Some(Env { d, scratch })
}

fn env() -> Option<Env> {
    env_with(&[])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn unique() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), n % 1_000_000_000)
}

fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(o.status.success(), "sha256sum {}", p.display());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// CVE-2019-5736
// ---------------------------------------------------------------------------------------

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
const EXE_WATCHER: &str = include_str!("../../runtime/tests/exe_watcher.sh");

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

// ---------------------------------------------------------------------------------------
// Hostile layers through load, import and pull
// ---------------------------------------------------------------------------------------

/// One ustar entry with any name, type and link name (names under 100 bytes).
fn tar_entry(name: &str, typeflag: u8, link: &str, data: &[u8]) -> Vec<u8> {
    assert!(name.len() < 100 && link.len() < 100, "{name} -> {link}");
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mode: &[u8] = if typeflag == b'5' {
        b"0000755"
    } else if typeflag == b'2' {
        b"0000777"
    } else {
        b"0000644"
    };
    h[100..107].copy_from_slice(mode);
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"14000000000");
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// What a hostile layer aims at on the host, checked after every delivery.
struct HostTargets {
    /// Files that must not appear (a write outside the rootfs).
    markers: Vec<PathBuf>,
    /// A host file a whiteout tries to delete.
    victim: PathBuf,
    shadow: (u64, String),
    passwd: (u64, String),
}

fn nlink_and_hash(p: &Path) -> (u64, String) {
    use std::os::unix::fs::MetadataExt;
    (std::fs::metadata(p).unwrap().nlink(), sha256(p))
}

impl HostTargets {
    fn new(u: &str) -> HostTargets {
        let victim = PathBuf::from(format!("/tmp/muelle-victim-{u}"));
        std::fs::write(&victim, "still here\n").unwrap();
        HostTargets {
            markers: ["climb", "link", "up", "abs", "wh"]
                .iter()
                .flat_map(|k| {
                    [
                        PathBuf::from(format!("/tmp/muelle-pwned-{u}-{k}")),
                        PathBuf::from(format!("/muelle-pwned-{u}-{k}")),
                    ]
                })
                .collect(),
            victim,
            shadow: nlink_and_hash(Path::new("/etc/shadow")),
            passwd: nlink_and_hash(Path::new("/etc/passwd")),
        }
    }

    fn assert_untouched(&self, what: &str) {
        for m in &self.markers {
            assert!(
                std::fs::symlink_metadata(m).is_err(),
                "{what}: a layer wrote {} on the host",
                m.display()
            );
        }
        assert_eq!(
            std::fs::read_to_string(&self.victim).ok().as_deref(),
            Some("still here\n"),
            "{what}: a whiteout deleted a host file"
        );
        assert_eq!(
            nlink_and_hash(Path::new("/etc/shadow")),
            self.shadow,
            "{what}: /etc/shadow was linked to or changed"
        );
        assert_eq!(
            nlink_and_hash(Path::new("/etc/passwd")),
            self.passwd,
            "{what}: /etc/passwd was linked to or changed"
        );
    }
}

impl Drop for HostTargets {
    fn drop(&mut self) {
        for m in &self.markers {
            let _ = std::fs::remove_file(m);
        }
        let _ = std::fs::remove_file(&self.victim);
    }
}

/// The hostile layers, one per trick (a refusal of one must not hide another), each ending
/// with a harmless file: name and uncompressed tar.
fn hostile_layers(u: &str) -> Vec<(&'static str, Vec<u8>)> {
    let climb = "../".repeat(12);
    let f = |name: &str| tar_entry(name, b'0', "", b"pwned\n");
    let sym = |name: &str, to: &str| tar_entry(name, b'2', to, b"");
    let hard = |name: &str, to: &str| tar_entry(name, b'1', to, b"");
    let layer = |entries: Vec<Vec<u8>>| {
        let mut t = entries.concat();
        t.extend(f("inside"));
        t.extend_from_slice(&[0u8; 1024]);
        t
    };
    vec![
        (
            "climbing-name",
            layer(vec![f(&format!("{climb}tmp/muelle-pwned-{u}-climb"))]),
        ),
        (
            "absolute-climbing-name",
            layer(vec![f(&format!("/../../tmp/muelle-pwned-{u}-abs"))]),
        ),
        (
            "absolute-symlink-then-file",
            layer(vec![
                sym("evil", "/"),
                f(&format!("evil/tmp/muelle-pwned-{u}-link")),
                f(&format!("evil/muelle-pwned-{u}-link")),
            ]),
        ),
        (
            "climbing-symlink-then-file",
            layer(vec![
                sym("up", &climb),
                f(&format!("up/tmp/muelle-pwned-{u}-up")),
            ]),
        ),
        (
            "symlink-dir-then-file",
            layer(vec![
                sym("tmp", "/tmp"),
                f(&format!("tmp/muelle-pwned-{u}-link")),
            ]),
        ),
        (
            "hardlink-absolute",
            layer(vec![hard("shadow", "/etc/shadow")]),
        ),
        (
            "hardlink-climbing",
            layer(vec![hard("passwd", &format!("{climb}etc/passwd"))]),
        ),
        (
            "hardlink-through-symlink",
            layer(vec![sym("evil", "/etc"), hard("shadow2", "evil/shadow")]),
        ),
        ("whiteout-dotdot", layer(vec![f(".wh..")])),
        (
            "whiteout-dotdot-in-dir",
            layer(vec![tar_entry("sub/", b'5', "", b""), f("sub/.wh..")]),
        ),
        (
            "whiteout-climbing",
            layer(vec![f(&format!("{climb}tmp/.wh.muelle-victim-{u}"))]),
        ),
        (
            "whiteout-through-symlink",
            layer(vec![
                sym("evil", "/tmp"),
                f(&format!("evil/.wh.muelle-victim-{u}")),
            ]),
        ),
        (
            "whiteout-name-climbing",
            layer(vec![f(&format!(
                "sub/.wh.../../../../../../../../tmp/muelle-pwned-{u}-wh"
            ))]),
        ),
    ]
}

/// The entry names of a tar stream, one a line.
fn tar_names(tar: &[u8]) -> String {
    let mut list = Command::new("tar")
        .arg("-t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut list.stdin.take().unwrap(), tar).unwrap();
    String::from_utf8_lossy(&list.wait_with_output().unwrap().stdout).into_owned()
}

/// A `docker save` archive of one image made of `layer`.
fn docker_archive(dir: &Path, tag: &str, layer: &[u8]) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("layer")).unwrap();
    let layer_path = dir.join("layer/layer.tar");
    std::fs::write(&layer_path, layer).unwrap();
    let diff_id = sha256(&layer_path);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/inside"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created_by": "muelle hostile layer test"}],
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let cfg_name = format!("{}.json", sha256(&dir.join("config.json")));
    std::fs::rename(dir.join("config.json"), dir.join(&cfg_name)).unwrap();
    let manifest = serde_json::json!([{
        "Config": cfg_name, "RepoTags": [tag], "Layers": ["layer/layer.tar"],
    }]);
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let out = dir.with_extension("tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(&out)
        .args(["manifest.json", &cfg_name, "layer"])
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// After a delivery: the host is untouched; when the image was accepted, a container of it
/// is created (its rootfs set up) and what it holds is listed through `docker export`:
/// whatever the layer made stayed inside, and a hard link is no host file.
fn check_delivery(e: &Env, t: &HostTargets, what: &str, accepted: bool, image: &str) {
    t.assert_untouched(what);
    if accepted {
        let name = format!("hostile-{}", unique());
        // (An imported image has no command: give one.)
        let o = e.docker(&[
            "create",
            "--network",
            "none",
            "--name",
            &name,
            image,
            "/inside",
        ]);
        assert!(o.status.success(), "{what}: create: {}", text(&o));
        if o.status.success() {
            let o = e.docker(&["export", &name]);
            t.assert_untouched(&format!("{what}, create + export"));
            if o.status.success() {
                let shadow = std::fs::read(Path::new("/etc/shadow")).unwrap();
                let tar = o.stdout;
                let names = tar_names(&tar);
                println!(
                    "{what}: accepted; in the rootfs: {:?}",
                    names
                        .lines()
                        .filter(|l| l.contains("pwned") || l.contains("inside"))
                        .collect::<Vec<_>>()
                );
                assert!(
                    names
                        .lines()
                        .any(|l| l.trim_start_matches("./") == "inside"),
                    "{what}: accepted but not applied whole: {names}"
                );
                assert!(
                    !shadow.is_empty()
                        && !tar.windows(shadow.len()).any(|w| w == shadow.as_slice()),
                    "{what}: the host's /etc/shadow is in the container"
                );
            }
            let _ = e.docker(&["rm", "-f", &name]);
        }
        let _ = e.docker(&["rmi", "-f", image]);
    }
    // The daemon still works.
    let o = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "echo",
        "alive",
    ]);
    assert_eq!(o, "alive\n", "{what}");
    t.assert_untouched(what);
}

/// Hostile layers (`../` names, absolute and climbing symlinks followed by entries through
/// them, hard links to /etc/shadow and /etc/passwd, whiteouts naming `..` or climbing out)
/// through `docker import`, `docker load` and `docker pull` from a local docker-registry:
/// either refused or unpacked inside the rootfs; no file appears on the host, none is deleted
/// or linked to, and the daemon goes on working.
#[test]
fn hostile_layers_through_import_load_and_pull_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let t = HostTargets::new(&u);
    let reg = Some(support::common::start_auth_registry(
        "hostile",
        "hostile-pw",
    ));
    let skopeo = Path::new("/usr/bin/skopeo").exists();
    if !skopeo {
        missing("skopeo");
    }
    if let Some(reg) = &reg {
        let o = e.docker_stdin(
            &["login", "-u", "hostile", "--password-stdin", &reg.host],
            b"hostile-pw\n",
        );
        assert!(o.status.success(), "login: {}", text(&o));
    }
    for (kind, layer) in hostile_layers(&u) {
        // import: the tar is the image's single layer.
        let tar = e.scratch.path().join(format!("{kind}.tar"));
        std::fs::write(&tar, &layer).unwrap();
        let image = format!("hostile-{u}:import-{kind}");
        let o = e.docker(&["import", tar.to_str().unwrap(), &image]);
        println!("import {kind}: {}", text(&o).trim());
        check_delivery(
            &e,
            &t,
            &format!("import {kind}"),
            o.status.success(),
            &image,
        );

        // load: a docker save archive.
        let image = format!("hostile-{u}:load-{kind}");
        let archive = docker_archive(
            &e.scratch.path().join(format!("save-{kind}")),
            &image,
            &layer,
        );
        let o = e.docker(&["load", "-i", archive.to_str().unwrap()]);
        println!("load {kind}: {}", text(&o).trim());
        check_delivery(&e, &t, &format!("load {kind}"), o.status.success(), &image);

        // pull: the same archive pushed to a registry by skopeo.
        if let (Some(reg), true) = (&reg, skopeo) {
            let remote = format!("{}/hostile-{u}:{kind}", reg.host);
            let o = Command::new("skopeo")
                .args(["copy", "--insecure-policy", "--dest-tls-verify=false"])
                .args(["--dest-creds", "hostile:hostile-pw"])
                .arg(format!("docker-archive:{}", archive.display()))
                .arg(format!("docker://{remote}"))
                .output()
                .unwrap();
            assert!(o.status.success(), "skopeo copy: {}", text(&o));
            let o = e.docker(&["pull", &remote]);
            println!("pull {kind}: {}", text(&o).trim());
            check_delivery(&e, &t, &format!("pull {kind}"), o.status.success(), &remote);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Symlink swaps racing cp and mounts
// ---------------------------------------------------------------------------------------

/// Keeps turning `$1` into a directory and then into a symlink to `/` (and back), as fast as
/// the shell goes, until `$2` exists.
const SWAPPER: &str = r#"d=$1; stop=$2
while [ ! -e "$stop" ]; do
  rm -rf "$d.new"; mkdir "$d.new"; mv "$d.new" "$d.tmp"; rm -rf "$d"; mv "$d.tmp" "$d"
  ln -s / "$d.new"; rm -rf "$d"; mv "$d.new" "$d"
done"#;

/// Host files removed on drop.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// CVE-2018-15664: `docker cp` into and out of a path that the container keeps swapping
/// between a directory and a symlink to `/`, 50 times each way. What goes in lands in the
/// container (in the directory, or through the symlink in the container's own /), never in
/// the host's; what comes out is the container's, never a host file of the same path.
#[test]
fn docker_cp_races_a_symlink_swap_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let in_name = format!("muelle-cp-in-{u}");
    let secret_name = format!("muelle-cp-secret-{u}");
    let host_secret = PathBuf::from("/tmp").join(&secret_name);
    let _clean = Cleanup(vec![
        host_secret.clone(),
        PathBuf::from("/").join(&in_name),
        PathBuf::from("/tmp").join(&in_name),
        PathBuf::from("/etc").join(&in_name),
    ]);
    std::fs::write(&host_secret, "HOST-ONLY\n").unwrap();
    let src = e.scratch.path().join(&in_name);
    std::fs::write(&src, "copied in\n").unwrap();
    let name = format!("cprace-{u}");
    let script = format!(
        "echo CONTAINER > /tmp/{secret_name}; mkdir -p /w/dir; \
         swap() {{ {SWAPPER}\n}}; swap /w/dir /stop"
    );
    e.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    // First a static link: a copy out of /lnk/ (-> /etc) is the container's /etc (its own
    // file in, the host's /etc/shadow out); a copy into it lands in the container's /etc.
    e.docker_ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        &format!("ln -s /etc /lnk && echo ctr > /etc/muelle-ctr-only-{u}"),
    ]);
    let o = e.docker(&["cp", &format!("{name}:/lnk/"), "-"]);
    assert!(o.status.success(), "{}", text(&o));
    let names = tar_names(&o.stdout);
    assert!(
        names
            .lines()
            .any(|l| l == format!("lnk/muelle-ctr-only-{u}"))
            && !names.lines().any(|l| l == "lnk/shadow"),
        "docker cp out of /lnk/ is not the container's /etc: {names}"
    );
    e.docker_ok(&["cp", src.to_str().unwrap(), &format!("{name}:/lnk/")]);
    assert!(
        !Path::new("/etc").join(&in_name).exists(),
        "docker cp wrote into the host's /etc"
    );
    let o = e.docker_ok(&["exec", &name, "cat", &format!("/etc/{in_name}")]);
    assert_eq!(o, "copied in\n");

    let (mut ins, mut outs) = (0, 0);
    for i in 0..50 {
        for dest in [format!("{name}:/w/dir/"), format!("{name}:/w/dir/tmp/")] {
            let o = e.docker(&["cp", src.to_str().unwrap(), &dest]);
            ins += usize::from(o.status.success());
            assert!(
                !Path::new("/").join(&in_name).exists()
                    && !Path::new("/tmp").join(&in_name).exists(),
                "round {i}: docker cp {dest} wrote on the host"
            );
        }
        let o = e.docker(&["cp", &format!("{name}:/w/dir/tmp/{secret_name}"), "-"]);
        if o.status.success() {
            outs += 1;
            let bytes = String::from_utf8_lossy(&o.stdout);
            assert!(
                !bytes.contains("HOST-ONLY"),
                "round {i}: docker cp out of the container read the host's file"
            );
            assert!(bytes.contains("CONTAINER"), "round {i}: {bytes}");
        }
    }
    println!("cp in: {ins} of 100 succeeded; cp out: {outs} of 50");
    // Some copies went through (the others met the swap half-way). Stopping the swapper
    // ends the container's main process, and with it this exec: its status says nothing.
    assert!(ins > 0 || outs > 0, "no cp went through at all");
    let _ = e.docker(&["exec", &name, "touch", "/stop"]);
    assert_eq!(
        std::fs::read_to_string(&host_secret).unwrap(),
        "HOST-ONLY\n",
        "the host's file changed"
    );
}

/// CVE-2021-30465: containers whose volume mount target lies inside another volume that a
/// running container keeps swapping between a directory and a symlink to `/`, 30 starts. The
/// target is resolved inside the container's root each time: the volume lands at its target
/// or, through the symlink, on the container's own root (or the start fails); never on a
/// host path: no host file is read or written through it and the host's mount table does
/// not get it.
#[test]
fn volume_mounts_race_a_symlink_swap_needs_docker_registry_skopeo() {
    let Some(e) = env() else { return };
    let u = unique();
    let shared = e.scratch.path().join("shared");
    let src = e.scratch.path().join("src");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("src-marker"), "volume source\n").unwrap();
    let host_only = PathBuf::from(format!("/tmp/muelle-hostonly-{u}"));
    let pwned = format!("muelle-pwned-{u}");
    let _clean = Cleanup(vec![
        host_only.clone(),
        PathBuf::from("/").join(&pwned),
        PathBuf::from("/tmp").join(&pwned),
    ]);
    std::fs::write(&host_only, "HOST-ONLY\n").unwrap();
    let swapper = format!("swapper-{u}");
    e.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &swapper,
        "-v",
        &format!("{}:/shared", shared.display()),
        "busybox",
        "sh",
        "-c",
        &format!("mkdir -p /shared/mnt; swap() {{ {SWAPPER}\n}}; swap /shared/mnt /shared/stop"),
    ]);
    let probe = format!(
        "cat /ctr/mnt/tmp/muelle-hostonly-{u} 2>/dev/null && echo ESCAPED; \
         echo x > /ctr/mnt/{pwned} 2>/dev/null; echo x > /ctr/mnt/tmp/{pwned} 2>/dev/null; \
         awk '$4 ~ /src$/ {{print \"AT\", $5}}' /proc/self/mountinfo; true"
    );
    let (mut started, mut at_target, mut on_root) = (0, 0, 0);
    for i in 0..30 {
        let o = e.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{}:/ctr", shared.display()),
            "-v",
            &format!("{}:/ctr/mnt", src.display()),
            "busybox",
            "sh",
            "-c",
            &probe,
        ]);
        let out = text(&o);
        assert!(
            !out.contains("ESCAPED"),
            "round {i}: the container reached the host's / through its mount target: {out}"
        );
        for p in [Path::new("/").join(&pwned), Path::new("/tmp").join(&pwned)] {
            assert!(
                !p.exists(),
                "round {i}: {} written on the host",
                p.display()
            );
        }
        if o.status.success() {
            started += 1;
            // Where the volume went: its target, or (the target was a symlink to / when
            // resolved in the container's root) stacked on the container's own root.
            if out.contains("AT /ctr/mnt") {
                at_target += 1;
            } else if out.contains("AT /\n") {
                on_root += 1;
            }
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mi.lines().any(|l| l.contains(src.to_str().unwrap())),
            "round {i}: the volume source got mounted in the host's namespace"
        );
    }
    std::fs::write(shared.join("stop"), "").unwrap();
    println!(
        "started {started} of 30: the volume at its target {at_target} times, on the \
         container's root (through the symlink) {on_root} times"
    );
    assert!(
        started > 0 && at_target + on_root > 0,
        "no container started with its volume: the race was not run"
    );
    assert_eq!(
        std::fs::read_to_string(&host_only).unwrap(),
        "HOST-ONLY\n",
        "the host's file changed"
    );
    // The daemon still works, and left nothing mounted on the host.
    e.docker_ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mi.lines().any(|l| l.contains(src.to_str().unwrap())),
        "a volume source is still mounted on the host"
    );
}
