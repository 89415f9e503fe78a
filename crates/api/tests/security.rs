//! Attacks on muelled's containers through the stock docker CLI: the CVE-2024-21626 class
//! (`-w /proc/self/fd/N` by `run`, `exec` and an image's WORKDIR; a /proc watcher with
//! CAP_SYS_PTRACE during `exec`), the CVE-2021-41091 class (a setuid binary planted by
//! container root, run by an unprivileged host user through the rootfs path), secrets in
//! host-side files, and the defaults a container sees (device rules, groups, sysctls,
//! loopback) compared with a default dockerd container.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon};

struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        remove_all_containers(&self.d);
        kill_shims_and_unmount(&self.d);
    }
}

fn env() -> Env {
    let d = daemon_with_busybox();
    Env { d }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A token in a file of the test daemon's own directory on the host: readable from a
/// container only by escaping it.
fn plant_host_secret(d: &Daemon) -> (String, String) {
    let token = format!("HOST-SECRET-{}-{}", std::process::id(), fastrand_u64());
    let path = d.dir.path().join("host-secret");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    (token, path.display().to_string())
}

fn fastrand_u64() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What a process placed in the host's exec directory of its container would see: the
/// bundle's config.json, and through `..` the host's filesystem.
fn probe(secret_path: &str) -> String {
    format!(
        "pwd; cat config.json 2>&1 | head -c 200; cat ../../../../../../../../../..{secret_path}"
    )
}

fn assert_contained(what: &str, out: &str, token: &str) {
    assert!(
        !out.contains(token) && !out.contains("ociVersion"),
        "{what}: the container reached host files: {out}"
    );
}

#[test]
fn run_with_workdir_through_proc_self_fd_is_contained_needs_dockerd() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    for n in 3..=12 {
        let w = format!("/proc/self/fd/{n}");
        let o = e.d.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-w",
            &w,
            "busybox",
            "sh",
            "-c",
            &probe(&secret),
        ]);
        let out = text(&o);
        assert_contained(&format!("run -w {w}"), &out, &token);
        assert!(!o.status.success(), "run -w {w} was accepted: {out}");
    }
}

#[test]
fn exec_with_workdir_through_proc_self_fd_is_contained_needs_dockerd() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    let name = format!("esc-exec-{}", std::process::id());
    e.d.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "busybox",
        "sleep",
        "300",
    ]);
    for n in 3..=12 {
        let w = format!("/proc/self/fd/{n}");
        let o =
            e.d.docker(&["exec", "-w", &w, &name, "sh", "-c", &probe(&secret)]);
        let out = text(&o);
        assert_contained(&format!("exec -w {w}"), &out, &token);
        assert!(!o.status.success(), "exec -w {w} was accepted: {out}");
    }
}

#[test]
fn image_workdir_through_proc_self_fd_is_contained_needs_dockerd() {
    let e = env();
    let (token, secret) = plant_host_secret(&e.d);
    let base = format!("esc-base-{}", std::process::id());
    e.d.docker_ok(&["create", "--name", &base, "busybox", "true"]);
    for n in 3..=8 {
        let image = format!("esc-workdir:{n}");
        let change = format!("WORKDIR /proc/self/fd/{n}");
        e.d.docker_ok(&["commit", "-c", &change, &base, &image]);
        let o = e.d.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            &probe(&secret),
        ]);
        let out = text(&o);
        assert_contained(&format!("image {change}"), &out, &token);
        assert!(!o.status.success(), "image {change} was accepted: {out}");
    }
}

/// Container root with CAP_SYS_PTRACE sweeps /proc while `docker exec` sets processes up:
/// no descriptor or cwd of any process it can see may lead to a host directory (the
/// supervisor's exec directory holds config.json).
#[test]
fn exec_set_up_is_not_reachable_by_a_ptrace_capable_container_needs_dockerd() {
    let e = env();
    let name = format!("esc-ptrace-{}", std::process::id());
    let watcher = "while :; do for p in /proc/[0-9]*; do \
        for f in $p/fd/* $p/cwd $p/root; do [ -e $f/config.json ] && echo \"SEEN $f\"; done 2>/dev/null; \
        done; done";
    e.d.docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--cap-add",
        "SYS_PTRACE",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        watcher,
    ]);
    // A long PATH makes each exec's set-up (the executable lookup) take milliseconds.
    let mut path = String::from("PATH=");
    for i in 0..14000 {
        path.push_str(&format!("/n/{i}:"));
    }
    path.push_str("/bin");
    for _ in 0..20 {
        e.d.docker_ok(&["exec", "-e", &path, &name, "true"]);
    }
    let logs = e.d.docker_ok(&["logs", &name]);
    assert!(
        !logs.contains("SEEN"),
        "container root reached a host directory through a process being exec'd: {logs}"
    );
}

/// A static program that prints its effective uid, for the setuid test.
fn euid_program(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("euid.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"euid=%d\\n\",(int)geteuid());return 0;}\n",
    )
    .unwrap();
    let bin = dir.join("euid");
    let o = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc (build-essential) is needed to build the setuid probe");
    assert!(o.status.success(), "gcc: {}", text(&o));
    bin
}

/// Runs `args` as `nobody`. Through a shell: setpriv keeps its capabilities until its own
/// execve (to set the inheritable set), so the program's path would still be resolved with
/// root's CAP_DAC_READ_SEARCH.
fn as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "/bin/sh",
            "-c",
            "exec \"$@\"",
            "sh",
        ])
        .args(args)
        .output()
        .expect("setpriv (util-linux)")
}

/// CVE-2021-41091: container root plants a setuid-root binary in its rootfs; an
/// unprivileged host user must not be able to reach (and run) it through the host path of
/// the mounted rootfs, nor read the container's config and environment.
#[test]
fn host_side_files_are_closed_to_other_users_needs_dockerd() {
    let e = env();
    // The test daemon's own directory is a 0700 tempdir: open it, as /var/lib and /run are,
    // so that only the daemon's modes stand between `nobody` and its files.
    std::fs::set_permissions(e.d.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe_dir = e.d.dir.path().join("probe");
    std::fs::create_dir(&probe_dir).unwrap();
    let bin = euid_program(&probe_dir);
    let name = format!("esc-suid-{}", std::process::id());
    let secret = format!("s3cret-{}", fastrand_u64());
    let id =
        e.d.docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "-e",
            &format!("DB_PASSWORD={secret}"),
            "-v",
            &format!("{}:/probe:ro", probe_dir.display()),
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "cp /probe/euid /suid && chmod 4755 /suid && echo planted && sleep 300",
        ])
        .trim()
        .to_string();
    let cc = &e;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cc.d.docker_ok(&["logs", &name]).contains("planted") {
        assert!(
            std::time::Instant::now() < deadline,
            "the setuid binary was not planted"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let rootfs = e.d.exec_root.join("containers").join(&id).join("rootfs");
    assert!(
        rootfs.join("suid").exists(),
        "rootfs at {}",
        rootfs.display()
    );
    // Only the file's own bits are in the way when the directories are open; root can run it.
    assert!(text(&Command::new(rootfs.join("suid")).output().unwrap()).contains("euid=0"));
    let o = as_nobody(&[rootfs.join("suid").to_str().unwrap()]);
    assert!(
        !text(&o).contains("euid=0"),
        "an unprivileged host user ran the container's setuid binary as root: {}",
        text(&o)
    );
    let _ = bin;
    // The container's environment is in its records: nothing below either root may show
    // it to another user.
    for root in [&e.d.data_root, &e.d.exec_root] {
        let o = as_nobody(&["grep", "-r", "-l", &secret, root.to_str().unwrap()]);
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains(&secret)
                && String::from_utf8_lossy(&o.stdout).trim().is_empty(),
            "files under {} holding the container's env are readable by nobody: {}",
            root.display(),
            text(&o)
        );
        // And root does find it (the test looks in the right places).
    }
    let o = Command::new("grep")
        .args(["-r", "-l", &secret, e.d.data_root.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.stdout.is_empty(), "the env is not under the data root?");
    // The modes themselves, as Docker keeps them.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    for (p, want) in [
        (e.d.data_root.clone(), 0o700),
        (e.d.data_root.join("containers"), 0o700),
        (e.d.exec_root.join("containers"), 0o700),
        (e.d.exec_root.join("containers").join(&id), 0o700),
        (
            e.d.data_root
                .join("containers")
                .join(&id)
                .join("config.v2.json"),
            0o600,
        ),
        (
            e.d.exec_root
                .join("containers")
                .join(&id)
                .join("config.json"),
            0o600,
        ),
        (
            e.d.data_root
                .join("containers")
                .join(&id)
                .join(format!("{id}-json.log")),
            0o600,
        ),
    ] {
        assert_eq!(mode(&p), want, "mode of {}", p.display());
    }
    assert_eq!(
        mode(&e.d.exec_root) & 0o077,
        0o011,
        "the exec root is only traversable by others (the socket lives in it)"
    );
}

const DOCKERD: &str = "unix:///run/docker.sock";

fn dockerd_run(name: &str, script: &str) -> String {
    let o = Command::new(support::DOCKER)
        .args([
            "-H",
            DOCKERD,
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            name,
        ])
        .args(["busybox", "sh", "-c", script])
        .output()
        .expect("docker");
    assert!(o.status.success(), "dockerd run: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a default container sees of its devices, groups, sysctls and loopback is what a
/// default Docker container sees.
#[test]
fn container_defaults_match_dockerd_needs_dockerd() {
    let e = env();
    assert!(
        Command::new(support::DOCKER)
            .args(["-H", DOCKERD, "image", "inspect", "busybox"])
            .output()
            .is_ok_and(|o| o.status.success()),
        "dockerd with the busybox image (scripts/peers.sh up)"
    );
    let script = "grep -E '^Groups' /proc/self/status; id; \
        cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range; \
        ip -o link show lo | grep -o 'UP'; ip -o addr show lo | grep -o 'inet 127.0.0.1'; \
        ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping-ok; \
        (nc -l -p 8080 -e echo served &) ; sleep 0.3; nc 127.0.0.1 8080 </dev/null";
    let ours = e.d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let theirs = dockerd_run(
        &format!("muelle-sec-defaults-{}", std::process::id()),
        script,
    );
    assert_eq!(ours, theirs, "muelle vs dockerd");
    assert!(ours.contains("served"), "{ours}");
    let devs = "sort /sys/fs/cgroup/devices/devices.list";
    if Path::new("/sys/fs/cgroup/devices").exists() {
        let ours = e.d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            devs,
        ]);
        let theirs = dockerd_run(&format!("muelle-sec-devs-{}", std::process::id()), devs);
        assert_eq!(ours, theirs, "device rules: muelle vs dockerd");
        assert!(!ours.contains("10:229"), "fuse must not be allowed: {ours}");
    }
    // A non-root user keeps its primary group as a supplementary group too.
    let g = "grep -E '^Groups' /proc/self/status";
    let ours = e.d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "1000:1000",
        "busybox",
        "sh",
        "-c",
        g,
    ]);
    let o = Command::new(support::DOCKER)
        .args([
            "-H",
            DOCKERD,
            "run",
            "--rm",
            "--network",
            "none",
            "-u",
            "1000:1000",
        ])
        .args(["busybox", "sh", "-c", g])
        .output()
        .unwrap();
    assert_eq!(
        ours,
        String::from_utf8_lossy(&o.stdout),
        "-u 1000:1000 groups"
    );
}

/// The socket is root:muelle 0660 (as dockerd's is root:docker): a member of the `muelle`
/// group may use the daemon, any other user may not. scripts/setup.sh creates the group.
#[test]
fn socket_is_for_root_and_the_muelle_group_only_needs_dockerd() {
    use std::os::unix::fs::MetadataExt;
    let gid = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"muelle")).then(|| f.get(2).and_then(|g| g.parse::<u32>().ok()))
        })
        .flatten()
        .expect("the muelle group (scripts/setup.sh creates it)");
    let e = env();
    std::fs::set_permissions(e.d.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let meta = std::fs::metadata(&e.d.socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode");
    assert_eq!((meta.uid(), meta.gid()), (0, gid), "socket owner");
    let sock = e.d.socket.to_str().unwrap().to_string();
    let ping = |groups: &str| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", groups, "--inh-caps=-all"])
            .args(["/bin/sh", "-c", "exec \"$@\"", "sh"])
            .args(["curl", "-sS", "--unix-socket", &sock, "http://d/_ping"])
            .output()
            .unwrap()
    };
    let member = ping(&format!("--groups={gid}"));
    assert_eq!(
        String::from_utf8_lossy(&member.stdout),
        "OK",
        "{}",
        text(&member)
    );
    let other = ping("--clear-groups");
    assert!(
        !other.status.success() && !String::from_utf8_lossy(&other.stdout).contains("OK"),
        "a user outside the muelle group reached the daemon: {}",
        text(&other)
    );
}
