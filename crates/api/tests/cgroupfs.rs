//! The cgroup filesystem a container sees and its cgroup namespace, through muelled with the
//! stock docker CLI, each beside the same command on the peer dockerd
//! (unix:///run/docker.sock, runc): the container's own limits in the v1 files (`-m`,
//! `--cpus`, `--pids-limit`), the listing of /sys/fs/cgroup, writes refused unless
//! `--privileged`, `--cgroupns private|host` and `CgroupnsMode` in inspect, and the host's
//! devices in a `--privileged` container.
//!
//! Needs the cgroup v1 hierarchies (this host's kind, and dockerd's default `host` cgroup
//! namespace there) and dockerd with busybox: a missing one fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";
const DOCKERD_SOCKET: &str = "/run/docker.sock";

struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

/// muelled with busybox, beside dockerd with busybox, on a cgroup v1 host.
fn env() -> Env {
    assert!(Path::new(DOCKER).exists(), "{DOCKER} is needed");
    let ready = Command::new(DOCKER)
        .args(["-H", DOCKERD, "image", "inspect", "busybox"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "dockerd at {DOCKERD} with the busybox image is needed (scripts/peers.sh up)"
    );
    assert!(
        Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(),
        "these tests read cgroup v1 files: the host has no v1 memory hierarchy"
    );
    Env {
        d: daemon_with_busybox(),
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_args<'a>(args: &[&'a str], script: &'a str) -> Vec<&'a str> {
    let mut v = vec!["run", "--rm", "--network", "none"];
    v.extend_from_slice(args);
    v.extend_from_slice(&["busybox", "sh", "-c", script]);
    v
}

/// What a run printed on stdout and its exit code.
#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    out: String,
}

fn as_run(o: &Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
    }
}

impl Env {
    /// `docker run --rm --network none ARGS busybox sh -c SCRIPT` on muelled.
    fn ours(&self, args: &[&str], script: &str) -> Run {
        let o = self.d.docker(&run_args(args, script));
        assert!(
            o.status.code() != Some(125),
            "muelled could not run {args:?}: {}\n{}",
            text(&o),
            self.d.log()
        );
        as_run(&o)
    }

    /// The same on dockerd; None when its runtime cannot start the container (exit 125).
    fn theirs_opt(&self, args: &[&str], script: &str) -> Option<Run> {
        let o = Command::new(DOCKER)
            .args(["-H", DOCKERD])
            .args(run_args(args, script))
            .output()
            .expect("docker");
        if o.status.code() == Some(125) {
            println!("dockerd cannot run {args:?}: {}", text(&o));
            return None;
        }
        Some(as_run(&o))
    }

    fn theirs(&self, args: &[&str], script: &str) -> Run {
        self.theirs_opt(args, script)
            .unwrap_or_else(|| panic!("dockerd could not run {args:?}"))
    }

    /// Runs on both and asserts the same output and exit code; returns muelled's.
    fn same(&self, args: &[&str], script: &str) -> Run {
        let ours = self.ours(args, script);
        let theirs = self.theirs(args, script);
        assert_eq!(
            ours, theirs,
            "muelle (left) vs dockerd (right) for {args:?} {script}"
        );
        ours
    }
}

fn words(s: &str) -> BTreeSet<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn memory_limit_inside_as_on_dockerd_needs_cgroupv1_dockerd() {
    let e = env();
    let r = e.same(
        &["-m", "64m"],
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    assert_eq!(r.out, "67108864\n");
}

#[test]
fn cpus_and_pids_limit_inside_as_on_dockerd_needs_cgroupv1_dockerd() {
    let e = env();
    let r = e.same(
        &["--cpus", "0.5", "--pids-limit", "33"],
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us \
         /sys/fs/cgroup/pids/pids.max",
    );
    assert_eq!(r.out, "50000\n100000\n33\n");
}

/// The hierarchies under /sys/fs/cgroup and the files of the container's memory cgroup, as
/// sets (the order of `ls` is the same anyway, but symlinks and bind order may differ).
#[test]
fn cgroup_listing_as_on_dockerd_needs_cgroupv1_dockerd() {
    let e = env();
    for dir in [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
    ] {
        let script = format!("ls {dir}");
        let ours = e.ours(&[], &script);
        let theirs = e.theirs(&[], &script);
        assert_eq!(ours.code, 0, "{ours:?}");
        assert_eq!(
            words(&ours.out),
            words(&theirs.out),
            "{dir}: muelle (left) vs dockerd (right)"
        );
    }
    // The container is in a cgroup of its own in every hierarchy, the named (name=systemd)
    // and, on a hybrid host, the unified one included, as runc puts it (under /docker there).
    let host_lines = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .count();
    let script = "hostname; cat /proc/self/cgroup";
    for run in [e.ours(&[], script), e.theirs(&[], script)] {
        let mut lines = run.out.lines();
        let short_id = lines.next().unwrap();
        let lines: Vec<&str> = lines.collect();
        assert_eq!(lines.len(), host_lines, "{run:?}");
        for l in &lines {
            let path = l.splitn(3, ':').nth(2).unwrap();
            let leaf = path.rsplit('/').next().unwrap();
            assert!(leaf.starts_with(short_id), "{run:?}");
        }
    }
}

/// Without `--privileged` the cgroup files and the tmpfs are read-only; with it the
/// container may set its own limits (dockerd's runc cannot start a privileged container where
/// the host's bounding set lacks a capability it knows, so that half is muelled's alone).
#[test]
fn cgroup_writes_only_when_privileged_needs_cgroupv1_dockerd() {
    let e = env();
    let script = "echo 1 > /sys/fs/cgroup/memory/memory.soft_limit_in_bytes 2>/dev/null \
                  && echo wrote || echo refused; \
                  echo 1000 > /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null \
                  && echo wrote || echo refused";
    let r = e.same(&[], script);
    assert_eq!(r.out, "refused\nrefused\n");
    let ours = e.ours(&["--privileged"], script);
    if let Some(theirs) = e.theirs_opt(&["--privileged"], script) {
        assert_eq!(ours, theirs, "muelle (left) vs dockerd (right)");
    }
    assert_eq!(ours.out, "wrote\nwrote\n");
}

/// `--cgroupns private` gives a namespace of the container's own with its cgroup as the root
/// in /proc/self/cgroup; `host` (the default on v1) keeps the host's. inspect says which.
#[test]
fn cgroupns_as_on_dockerd_needs_cgroupv1_dockerd() {
    let e = env();
    let host_ns = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    let host_ns = host_ns.to_string_lossy();
    let ns = "readlink /proc/self/ns/cgroup";
    for args in [&[][..], &["--cgroupns", "host"][..]] {
        assert_eq!(e.ours(args, ns).out.trim(), host_ns, "{args:?}");
        assert_eq!(e.theirs(args, ns).out.trim(), host_ns, "{args:?}");
    }
    let private = &["--cgroupns", "private"][..];
    assert_ne!(e.ours(private, ns).out.trim(), host_ns);
    assert_ne!(e.theirs(private, ns).out.trim(), host_ns);
    let r = e.same(private, "cat /proc/self/cgroup; ls /sys/fs/cgroup");
    assert!(r.out.contains("4:memory:/\n"), "{r:?}");

    for (args, want) in [
        (&[][..], "host"),
        (private, "private"),
        (&["--cgroupns", "host"][..], "host"),
    ] {
        let name = format!("cgns-{}-{want}-{}", std::process::id(), args.len());
        let mut create = vec!["create", "--name", &name];
        create.extend_from_slice(args);
        create.push("busybox");
        let inspect = [
            "inspect",
            "-f",
            "{{.HostConfig.CgroupnsMode}}",
            name.as_str(),
        ];
        let o = e.d.docker(&create);
        assert!(o.status.success(), "{}", text(&o));
        let ours = e.d.docker(&inspect);
        let _ = e.d.docker(&["rm", "-f", &name]);
        let theirs = Command::new(DOCKER)
            .args(["-H", DOCKERD])
            .args(&create)
            .output()
            .and_then(|_| {
                Command::new(DOCKER)
                    .args(["-H", DOCKERD])
                    .args(inspect)
                    .output()
            })
            .expect("docker");
        let _ = Command::new(DOCKER)
            .args(["-H", DOCKERD, "rm", "-f", &name])
            .output();
        assert_eq!(text(&ours), text(&theirs), "{args:?}");
        assert_eq!(text(&ours).trim(), want, "{args:?}");
    }
}

/// A mode Docker does not know is refused at create, by the API as by dockerd's.
#[test]
fn unknown_cgroupns_mode_is_refused_as_on_dockerd_needs_cgroupv1_dockerd() {
    let e = env();
    let body = br#"{"Image":"busybox","HostConfig":{"CgroupnsMode":"bogus"}}"#;
    let ours = e.d.http("POST", "/containers/create", body);
    let theirs = support::http(
        Path::new(DOCKERD_SOCKET),
        "POST",
        "/containers/create",
        &[("Content-Type", "application/json")],
        body,
    );
    assert_eq!(ours.status, 400, "{}", String::from_utf8_lossy(&ours.body));
    assert_eq!(ours.status, theirs.status);
    assert_eq!(ours.json()["message"], theirs.json()["message"]);
}

/// `--privileged` gives the host's device nodes: the /dev of an ordinary container on
/// dockerd plus, at the top of /dev, every host device node or directory holding some
/// (containerd's HostDevices, which dockerd uses: /dev/console is the container's own, pts,
/// shm, mqueue are mounts). Compared with dockerd's privileged /dev where its runc can start
/// one at all.
#[test]
fn privileged_sees_host_devices_as_on_dockerd_needs_cgroupv1_dockerd() {
    use std::os::unix::fs::FileTypeExt;
    let e = env();
    let ours = e.ours(&["--privileged"], "ls -A /dev");
    let ours = words(&ours.out);
    if let Some(theirs) = e.theirs_opt(&["--privileged"], "ls -A /dev") {
        assert_eq!(ours, words(&theirs.out), "muelle (left) vs dockerd (right)");
    }
    fn has_device(p: &Path) -> bool {
        let Ok(md) = std::fs::symlink_metadata(p) else {
            return false;
        };
        let ft = md.file_type();
        if ft.is_dir() {
            return std::fs::read_dir(p)
                .map(|rd| rd.flatten().any(|e| has_device(&e.path())))
                .unwrap_or(false);
        }
        ft.is_char_device() || ft.is_block_device()
    }
    let mut want = words(&e.theirs(&[], "ls -A /dev").out);
    for entry in std::fs::read_dir("/dev").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "console" | "pts" | "shm" | "mqueue" | "fd" | ".lxc" | ".lxd-mounts" | ".udev"
        ) {
            continue;
        }
        if has_device(&entry.path()) {
            want.insert(name);
        }
    }
    assert_eq!(
        ours, want,
        "muelle (left) vs dockerd's /dev plus the host's devices"
    );
    assert!(ours.len() > 20, "{ours:?}");
}
