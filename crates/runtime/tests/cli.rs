//! End-to-end tests of the `muelle-runtime` binary on real namespaces and cgroups.
//!
//! Every test has its own container id, state root (`--root`) and bundle, so they run in
//! parallel (nextest runs each in its own process). The rootfs is a busybox tree shared
//! read-only by all tests (see `common`). Every test needs root and fails without it. The few
//! that read cgroup v1 files say `needs_cgroupv1` in their name (scripts/test.sh leaves them out,
//! reported as skipped, on a host without the v1 hierarchies); the rest run on v1 and v2 hosts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cgroup_dirs, host_mounted, status_field, unique, wait_for, wait_timeout, Ctr, BIN};
use serde_json::{json, Value};

/// Fails the test unless it runs as root: containers need it, and a test that cannot run
/// must not pass.
macro_rules! require_root {
    () => {
        assert!(
            rustix::process::geteuid().is_root(),
            "the runtime's end-to-end tests need root"
        );
    };
}

/// Fails the test unless this host has the cgroup v1 hierarchies it reads. Only for tests
/// named `..._needs_cgroupv1`: scripts/test.sh leaves those out on other hosts.
macro_rules! require_cgroup_v1 {
    () => {
        require_root!();
        assert!(
            Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
                && Path::new("/sys/fs/cgroup/pids").is_dir()
                && Path::new("/sys/fs/cgroup/freezer").is_dir(),
            "this test reads cgroup v1 files: the host has no v1 memory, pids and freezer \
             hierarchies (a cgroup v2 host)"
        );
    };
}

const LONG: &str = "while :; do sleep 0.05; done";

fn host_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .expect("readlink ns")
        .to_string_lossy()
        .into_owned()
}

fn tmpdir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("muelle-{tag}-"))
        .tempdir()
        .expect("tempdir")
}

// ---------------------------------------------------------------------------------------
// 1. Lifecycle
// ---------------------------------------------------------------------------------------

#[test]
fn lifecycle_create_start_kill_delete() {
    require_root!();
    let mut c = Ctr::new("life");
    c.sh(LONG);
    let pid_file = c.dir().join("init.pid");
    c.create_with(&["--pid-file", pid_file.to_str().unwrap()])
        .ok();

    let st = c.state();
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], c.id.as_str());
    assert_eq!(
        st["ociVersion"].as_str().map(|v| v.starts_with("1.")),
        Some(true)
    );
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0, "{st}");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        Path::new(st["bundle"].as_str().unwrap()),
        c.dir().canonicalize().unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let cg = cgroup_dirs(&c.id);
    assert!(!cg.is_empty(), "no cgroup dir for the created container");

    let list: Value =
        serde_json::from_str(&c.rt(&["list", "--format", "json"]).ok().stdout).expect("list json");
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == c.id.as_str())
        .unwrap_or_else(|| panic!("{} not in list: {list}", c.id));
    assert_eq!(entry["status"], "created");
    assert_eq!(entry["pid"].as_i64(), Some(pid));
    let quiet = c.rt(&["list", "-q"]).ok();
    assert_eq!(quiet.stdout.trim(), c.id);

    c.start().ok();
    assert_eq!(c.status(), "running");
    assert_eq!(c.pid() as i64, pid, "start must not change the init pid");

    let again = c.start().fails();
    again.stderr_has(&[&c.id]);
    assert!(
        again.stderr.contains("not created") || again.stderr.contains("running"),
        "{again:?}"
    );

    c.rt(&["kill", &c.id, "SIGKILL"]).ok();
    c.wait_status("stopped");
    let list: Value =
        serde_json::from_str(&c.rt(&["list", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(list[0]["status"], "stopped", "{list}");

    // Killing a stopped container's init is an error.
    c.rt(&["kill", &c.id, "KILL"]).fails();

    c.rt(&["delete", &c.id]).ok();
    assert!(!c.state_dir().exists());
    assert!(cgroup_dirs(&c.id).is_empty(), "delete left the cgroup");
    let gone = c.rt(&["state", &c.id]).fails();
    gone.stderr_has(&["does not exist"]);
    let list = c.rt(&["list", "--format", "json"]).ok();
    assert!(!list.stdout.contains(&c.id), "{list:?}");
    // Forced delete of something that is gone succeeds (runc semantics); plain delete fails.
    c.rt(&["delete", "--force", &c.id]).ok();
    c.rt(&["delete", &c.id])
        .fails()
        .stderr_has(&["does not exist"]);
}

#[test]
fn delete_running_needs_force() {
    require_root!();
    let mut c = Ctr::new("delf");
    c.sh(LONG);
    let pid = c.create_start();
    let o = c.rt(&["delete", &c.id]).fails();
    o.stderr_has(&["--force"]);
    assert_eq!(c.status(), "running", "failed delete must leave it running");
    c.rt(&["delete", "--force", &c.id]).ok();
    assert!(!c.state_dir().exists());
    assert!(cgroup_dirs(&c.id).is_empty());
    wait_for("init to die", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
}

#[test]
fn delete_created_container() {
    require_root!();
    let c = Ctr::new("delc");
    c.create().ok();
    let pid = c.pid();
    // runtime.md: deleting a container that is not stopped is an error and leaves it be.
    c.rt(&["delete", &c.id]).fails().stderr_has(&["--force"]);
    assert_eq!(c.status(), "created");
    c.rt(&["delete", "--force", &c.id]).ok();
    c.assert_no_leftovers();
    wait_for("init to die", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
}

#[test]
fn kill_with_signal_names_and_numbers() {
    require_root!();
    let out = tmpdir("kill");
    let mut c = Ctr::new("kill");
    c.bind(out.path(), "/mnt/out", false);
    c.sh("trap 'echo USR1 >> /mnt/out/log' USR1; \
         trap 'echo HUP >> /mnt/out/log' HUP; \
         trap 'echo USR2 >> /mnt/out/log' USR2; \
         trap 'echo TERM >> /mnt/out/log; exit 0' TERM; \
         echo ready > /mnt/out/ready; while :; do sleep 0.02; done");
    c.create_start();
    let log = out.path().join("log");
    wait_for("traps", Duration::from_secs(5), || {
        out.path().join("ready").exists()
    });
    let expect_lines = |n: usize| {
        wait_for(&format!("{n} log lines"), Duration::from_secs(5), || {
            std::fs::read_to_string(&log).is_ok_and(|s| s.lines().count() >= n)
        })
    };
    c.rt(&["kill", &c.id, "USR1"]).ok();
    expect_lines(1);
    c.rt(&["kill", &c.id, "1"]).ok();
    expect_lines(2);
    c.rt(&["kill", &c.id, "sigusr2"]).ok();
    expect_lines(3);
    c.rt(&["kill", &c.id, "NOPE"])
        .fails()
        .stderr_has(&["invalid signal", "NOPE"]);
    c.rt(&["kill", &c.id, "99"])
        .fails()
        .stderr_has(&["invalid signal"]);
    // The default signal is SIGTERM.
    c.rt(&["kill", &c.id]).ok();
    c.wait_status("stopped");
    let got = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        ["USR1", "HUP", "USR2", "TERM"]
    );
}

/// `kill --all` signals the container's cgroup, not its init: here killing the init kills
/// nothing else. The container joins a pid namespace it does not own (by path: its init is
/// not that namespace's init), its init leaves children, and a host process that is no
/// descendant of it is moved into its cgroups. After `kill` of the init they all live on;
/// `kill --all` (on the now stopped container) must reach every one of them, and nothing of
/// the namespace's owner.
#[test]
fn kill_all_reaches_every_process() {
    require_root!();
    let mut owner = Ctr::new("killall-owner");
    owner.sh(LONG);
    let owner_pid = owner.create_start();
    let mut c = Ctr::new("killall");
    c.add_ns("pid", Some(&format!("/proc/{owner_pid}/ns/pid")));
    c.sh("sleep 1000 & sleep 1000 & exec sleep 1000");
    let init = c.create_start();
    let pids = || {
        let o = c.rt(&["ps", "--format", "json", &c.id]);
        serde_json::from_str::<Vec<i32>>(&o.stdout).unwrap_or_default()
    };
    wait_for("3 processes", Duration::from_secs(5), || pids().len() >= 3);
    let mut host = Command::new("sleep")
        .arg("1000")
        .spawn()
        .expect("spawn sleep");
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let host_pid = host.id() as i32;
    let dirs = cgroup_dirs(&c.id);
    assert!(!dirs.is_empty());
    for d in &dirs {
        std::fs::write(d.join("cgroup.procs"), host_pid.to_string())
            .unwrap_or_else(|e| panic!("move {host_pid} into {}: {e}", d.display()));
    }
    let others: Vec<i32> = pids().into_iter().filter(|p| *p != init).collect();
    assert_eq!(others.len(), 3, "{others:?}");
    assert!(others.contains(&host_pid), "{others:?}");
    let alive = |p: i32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };

    c.rt(&["kill", &c.id, "KILL"]).ok();
    c.wait_status("stopped");
    // Only the init died: the test's processes are really out of its reach.
    assert!(!alive(init));
    for p in &others {
        assert!(alive(*p), "{p} died with the init: the test proves nothing");
    }

    c.rt(&["kill", "--all", &c.id, "KILL"]).ok();
    let mut host = Reap({
        let _ = wait_timeout(&mut host, Duration::from_secs(5));
        host
    });
    for p in &others {
        wait_for(&format!("{p} to die"), Duration::from_secs(5), || {
            !alive(*p)
        });
    }
    assert!(
        host.0.try_wait().unwrap().is_some(),
        "the host process moved into the cgroup survived kill --all"
    );
    // The pid namespace's owner is no part of the container.
    assert!(
        alive(owner_pid),
        "kill --all reached the pid namespace's owner"
    );
    assert_eq!(owner.status(), "running");
}

#[test]
fn run_exit_codes() {
    require_root!();
    let mut c = Ctr::new("exit7");
    c.sh("echo out; echo err >&2; exit 7");
    let o = c.run();
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(o.stdout, "out\n");
    assert!(o.stderr.contains("err"), "{o:?}");
    // run (without --keep) deletes the container afterwards.
    c.assert_no_leftovers();

    let mut c = Ctr::new("exit0");
    c.sh("exit 0");
    assert_eq!(c.run().code, 0);

    // Killed by a signal it does not handle: 128 + n. Without a pid namespace the shell can
    // signal itself (an init is immune to its own namespace's unhandled signals).
    let mut c = Ctr::new("exitsig");
    c.drop_ns("pid");
    c.sh("kill -USR1 $$; sleep 5");
    let o = c.run();
    assert_eq!(o.code, 128 + libc::SIGUSR1, "{o:?}");
    c.assert_no_leftovers();
}

#[test]
fn run_killed_from_outside_gives_128_plus_signal() {
    require_root!();
    let mut c = Ctr::new("exit137");
    c.sh(LONG);
    let rpid = c.spawn_run(&[]);
    c.wait_status("running");
    c.rt(&["kill", &c.id, "9"]).ok();
    assert_eq!(
        c.wait_spawned(rpid),
        137,
        "{}",
        c.read_bundle_file("run.err")
    );
    c.assert_no_leftovers();
}

#[test]
fn run_keep_and_detach() {
    require_root!();
    let c = Ctr::new("keep");
    c.write_config();
    let b = c.dir().to_str().unwrap().to_string();
    let o = c.rt(&["run", "--keep", "--bundle", &b, &c.id]);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(c.status(), "stopped");
    c.rt(&["delete", &c.id]).ok();

    let mut c = Ctr::new("detach");
    c.sh(LONG);
    c.write_config();
    let b = c.dir().to_str().unwrap().to_string();
    c.rt_files(&["run", "--detach", "--bundle", &b, &c.id]).ok();
    assert_eq!(c.status(), "running");
}

// ---------------------------------------------------------------------------------------
// 2. Config fields, observed from inside
// ---------------------------------------------------------------------------------------

#[test]
fn process_args_env_cwd() {
    require_root!();
    let mut c = Ctr::new("args");
    c.config["process"]["args"] = json!([
        "sh",
        "-c",
        "echo \"$0|$1|$FOO|$HOME\"; pwd",
        "zero",
        "one two"
    ]);
    c.config["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar baz"]);
    c.config["process"]["cwd"] = json!("/etc");
    let o = c.run().ok();
    assert_eq!(o.lines(), ["zero|one two|bar baz|/root", "/etc"]);

    // HOME from the spec wins over /etc/passwd; argv[0] lookup uses the process PATH.
    let mut c = Ctr::new("args2");
    c.config["process"]["args"] = json!(["env"]);
    c.config["process"]["env"] = json!(["PATH=/usr/bin", "HOME=/tmp", "A=1"]);
    let o = c.run().ok();
    let mut lines = o.lines();
    lines.sort();
    assert_eq!(lines, ["A=1", "HOME=/tmp", "PATH=/usr/bin"]);
}

#[test]
fn user_uid_gid_additional_gids_and_umask() {
    require_root!();
    let mut c = Ctr::new("user");
    c.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 2000], "umask": 0o027});
    c.sh("id -u; id -g; id -G; umask; grep -E '^(Uid|Gid|Groups):' /proc/self/status");
    let o = c.run().ok();
    let l = o.lines();
    assert_eq!(l[0], "1000");
    assert_eq!(l[1], "1001");
    let mut groups: Vec<&str> = l[2].split_whitespace().collect();
    groups.sort();
    assert_eq!(groups, ["1001", "2000", "5"], "{o:?}");
    assert_eq!(l[3], "0027");
    assert_eq!(
        status_field(&o.stdout, "Uid"),
        Some("1000\t1000\t1000\t1000")
    );
    assert_eq!(
        status_field(&o.stdout, "Gid"),
        Some("1001\t1001\t1001\t1001")
    );
    assert_eq!(status_field(&o.stdout, "Groups"), Some("5 2000"));
}

#[test]
fn hostname_and_domainname() {
    require_root!();
    let mut c = Ctr::new("uts");
    c.config["hostname"] = json!("box-1");
    c.config["domainname"] = json!("example.test");
    c.sh("hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts");
    let o = c.run().ok();
    let l = o.lines();
    assert_eq!(l[0], "box-1");
    assert_eq!(l[1], "example.test");
    assert_ne!(l[2], host_ns("uts"));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-1", "the host's hostname must not change");
}

#[test]
fn capabilities_match_requested_sets() {
    require_root!();
    let mut c = Ctr::new("caps");
    let caps = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_CHROOT"];
    c.config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps, "inheritable": [], "ambient": []
    });
    c.sh("grep ^Cap /proc/self/status");
    let o = c.run().ok();
    let want = format!("{:016x}", (1u64 << 0) | (1 << 13) | (1 << 18));
    assert_eq!(
        status_field(&o.stdout, "CapEff"),
        Some(want.as_str()),
        "{o:?}"
    );
    assert_eq!(status_field(&o.stdout, "CapPrm"), Some(want.as_str()));
    assert_eq!(status_field(&o.stdout, "CapBnd"), Some(want.as_str()));
    assert_eq!(status_field(&o.stdout, "CapInh"), Some("0000000000000000"));
    assert_eq!(status_field(&o.stdout, "CapAmb"), Some("0000000000000000"));

    // A non-root user with an ambient capability keeps it across exec.
    let mut c = Ctr::new("ambient");
    let caps = ["CAP_NET_BIND_SERVICE"];
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps
    });
    c.sh("grep ^Cap /proc/self/status");
    let o = c.run().ok();
    let want = format!("{:016x}", 1u64 << 10);
    assert_eq!(
        status_field(&o.stdout, "CapEff"),
        Some(want.as_str()),
        "{o:?}"
    );
    assert_eq!(
        status_field(&o.stdout, "CapAmb"),
        Some(want.as_str()),
        "{o:?}"
    );
}

#[test]
fn rlimits_are_applied() {
    require_root!();
    let mut c = Ctr::new("rlim");
    c.config["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
        {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}
    ]);
    c.sh("grep -E 'Max (open files|processes)' /proc/self/limits");
    let o = c.run().ok();
    let nofile = o
        .lines()
        .into_iter()
        .find(|l| l.contains("open files"))
        .unwrap();
    let f: Vec<&str> = nofile.split_whitespace().collect();
    assert_eq!(&f[3..5], ["1000", "2000"], "{o:?}");
    let nproc = o
        .lines()
        .into_iter()
        .find(|l| l.contains("processes"))
        .unwrap();
    let f: Vec<&str> = nproc.split_whitespace().collect();
    assert_eq!(&f[2..4], ["500", "600"], "{o:?}");
}

/// `run` of `c` with the hard RLIMIT_NOFILE at 20000, as a plain root process or (`drop`)
/// with CAP_SYS_RESOURCE gone from its bounding set, so its permitted set lacks it too.
fn run_with_nofile_20000(c: &Ctr, drop_sys_resource: bool) -> common::Out {
    c.write_config();
    let mut cmd = Command::new("sh");
    // `ulimit -n` sets the soft and the hard limit; lowering is always allowed.
    cmd.arg("-c")
        .arg("ulimit -n 20000 && exec \"$@\"")
        .arg("sh");
    if drop_sys_resource {
        cmd.args(["setpriv", "--bounding-set=-sys_resource"]);
    }
    cmd.arg(BIN)
        .arg("--root")
        .arg(c.root.path())
        .args(["run", "--bundle"])
        .arg(c.dir())
        .arg(&c.id);
    common::run_cmd(cmd)
}

#[test]
fn rlimit_raise_above_hard_limit_fails_clearly() {
    require_root!();
    // Raising a hard limit needs CAP_SYS_RESOURCE: without it (some hosts' root, and here by
    // dropping it) the runtime must refuse clearly, whatever this host's root holds.
    let mut c = Ctr::new("rlimhi");
    c.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 30000}]);
    c.sh("echo should-not-run");
    let o = run_with_nofile_20000(&c, true).fails();
    assert!(!o.stdout.contains("should-not-run"), "{o:?}");
    o.stderr_has(&["CAP_SYS_RESOURCE", "hard=30000"]);
    assert!(o.stderr.to_lowercase().contains("nofile"), "{o:?}");
    c.assert_no_leftovers();

    // With the capability the same raise works, as with runc.
    if common::host_has_cap(24 /* CAP_SYS_RESOURCE */) {
        let mut c = Ctr::new("rlimcap");
        c.config["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 30000}]);
        c.sh("grep 'Max open files' /proc/self/limits");
        let o = run_with_nofile_20000(&c, false).ok();
        let f: Vec<&str> = o.stdout.split_whitespace().collect();
        assert_eq!(&f[3..5], ["1024", "30000"], "{o:?}");
    }
}

#[test]
fn no_new_privileges_and_oom_score_adj() {
    require_root!();
    let mut c = Ctr::new("nnp");
    c.config["process"]["noNewPrivileges"] = json!(true);
    c.config["process"]["oomScoreAdj"] = json!(500);
    c.sh("grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj");
    let o = c.run().ok();
    assert_eq!(status_field(&o.stdout, "NoNewPrivs"), Some("1"));
    assert_eq!(o.lines()[1], "500");

    let mut c = Ctr::new("nnp0");
    c.config["process"]["noNewPrivileges"] = json!(false);
    c.sh("grep NoNewPrivs /proc/self/status");
    let o = c.run().ok();
    assert_eq!(status_field(&o.stdout, "NoNewPrivs"), Some("0"));
}

#[test]
fn readonly_root() {
    require_root!();
    let mut c = Ctr::new("rofs");
    c.sh("touch /should-fail 2>&1; echo rc=$?; grep ' / ' /proc/mounts");
    let o = c.run().ok();
    assert!(o.stdout.contains("Read-only file system"), "{o:?}");
    assert!(o.stdout.contains("rc=1"), "{o:?}");
    assert!(!common::shared_rootfs().join("should-fail").exists());
    let root_line = o.lines().into_iter().find(|l| l.contains(" / ")).unwrap();
    assert!(
        root_line
            .split_whitespace()
            .nth(3)
            .unwrap()
            .starts_with("ro"),
        "{root_line}"
    );
}

#[test]
fn tmpfs_mount_with_options() {
    require_root!();
    let mut c = Ctr::new("tmpfs");
    c.mount(
        json!({"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1770"]}),
    );
    c.sh("grep ' /mnt/a ' /proc/mounts; stat -c %a /mnt/a; echo hi > /mnt/a/f && cat /mnt/a/f");
    let o = c.run().ok();
    let l = o.lines();
    let f: Vec<&str> = l[0].split_whitespace().collect();
    assert_eq!(f[2], "tmpfs", "{o:?}");
    let opts: Vec<&str> = f[3].split(',').collect();
    for want in ["rw", "nosuid", "nodev", "noexec", "size=1024k", "mode=1770"] {
        assert!(opts.contains(&want), "{want} missing in {opts:?}");
    }
    assert_eq!(l[1], "1770");
    assert_eq!(l[2], "hi");
}

#[test]
fn bind_mounts_rw_and_ro() {
    require_root!();
    let rw = tmpdir("rw");
    let ro = tmpdir("ro");
    std::fs::write(rw.path().join("hello"), "from-host-rw\n").unwrap();
    std::fs::write(ro.path().join("hello"), "from-host-ro\n").unwrap();
    let mut c = Ctr::new("bind");
    c.bind(rw.path(), "/mnt/rw", false);
    c.bind(ro.path(), "/mnt/ro", true);
    c.sh(
        "cat /mnt/rw/hello /mnt/ro/hello; echo written > /mnt/rw/new && echo rw-ok; \
         { echo x > /mnt/ro/new; } 2>&1 || echo ro-refused",
    );
    let o = c.run().ok();
    let l = o.lines();
    assert_eq!(l.len(), 5, "{o:?}");
    assert_eq!(&l[..3], ["from-host-rw", "from-host-ro", "rw-ok"], "{o:?}");
    assert!(l[3].contains("Read-only file system"), "{o:?}");
    assert_eq!(l[4], "ro-refused");
    assert_eq!(
        std::fs::read_to_string(rw.path().join("new")).unwrap(),
        "written\n"
    );
    assert!(!ro.path().join("new").exists());
    assert!(!host_mounted(Path::new("/mnt/rw")));
}

#[test]
fn masked_and_readonly_paths() {
    require_root!();
    // /proc/kcore is missing on kernels without CONFIG_PROC_KCORE: mask what exists.
    let file = ["/proc/kcore", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a maskable /proc file");
    let dir = ["/proc/acpi", "/proc/scsi", "/proc/irq", "/proc/fs"]
        .into_iter()
        .find(|p| std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_some()))
        .expect("a non-empty /proc directory");
    let mut c = Ctr::new("mask");
    c.config["linux"]["maskedPaths"] = json!([file, dir, "/proc/does-not-exist"]);
    c.config["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/sysrq-trigger"]);
    c.sh(&format!(
        "echo file=$(cat {file} | wc -c); echo dir=$(ls -A {dir} | wc -l); \
         grep -E ' ({file}|{dir}|/proc/sys) ' /proc/mounts; \
         {{ echo 1 > /proc/sys/kernel/domainname; }} 2>&1 || echo sys-refused"
    ));
    let o = c.run().ok();
    assert!(o.stdout.contains("file=0\n"), "{file} readable: {o:?}");
    assert!(o.stdout.contains("dir=0\n"), "{dir} not empty: {o:?}");
    let mount_line = |p: &str| {
        o.lines()
            .into_iter()
            .find(|l| l.contains(&format!(" {p} ")))
            .unwrap_or_else(|| panic!("{p} is not a mount point: {o:?}"))
            .to_string()
    };
    let sys = mount_line("/proc/sys");
    assert!(
        sys.split_whitespace().nth(3).unwrap().starts_with("ro"),
        "{sys}"
    );
    mount_line(file);
    let d = mount_line(dir);
    assert!(d.starts_with("tmpfs ") && d.contains(" ro,"), "{d}");
    assert!(o.stdout.contains("Read-only file system"), "{o:?}");
    assert!(o.stdout.contains("sys-refused"), "{o:?}");
}

#[test]
fn sysctls_in_private_namespaces() {
    require_root!();
    let mut c = Ctr::new("sysctl");
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"});
    c.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax");
    let o = c.run().ok();
    assert_eq!(o.lines(), ["1", "123456789"]);
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    assert_ne!(host.trim(), "123456789", "sysctl leaked to the host");
}

#[test]
fn new_namespaces_are_private() {
    require_root!();
    let mut c = Ctr::new("ns");
    c.sh(
        "echo $$; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; \
         for n in net ipc uts pid mnt cgroup; do echo $n=$(readlink /proc/self/ns/$n); done",
    );
    let o = c.run().ok();
    let l = o.lines();
    assert_eq!(l[0], "1", "pid ns: {o:?}");
    assert_eq!(l[1], "lo", "only lo in a new netns: {o:?}");
    for n in ["net", "ipc", "uts", "pid", "mnt", "cgroup"] {
        let inside = l
            .iter()
            .find_map(|x| x.strip_prefix(&format!("{n}=")))
            .unwrap();
        assert_ne!(inside, host_ns(n), "{n} namespace is the host's");
    }

    // Without a network namespace, the container shares the host's.
    let mut c = Ctr::new("nonet");
    c.drop_ns("network");
    c.sh("readlink /proc/self/ns/net");
    let o = c.run().ok();
    assert_eq!(o.stdout.trim(), host_ns("net"));
}

#[test]
fn loopback_works_in_new_netns() {
    require_root!();
    let mut c = Ctr::new("lo");
    // Only loopback: the interface is down in a fresh namespace until brought up, which
    // needs CAP_NET_ADMIN.
    let caps = ["CAP_NET_ADMIN", "CAP_NET_RAW"];
    c.config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    c.sh("ip link set lo up && ping -c 1 -W 2 127.0.0.1 >/dev/null && echo lo-ok");
    let o = c.run();
    assert_eq!(o.stdout.trim(), "lo-ok", "{o:?}");
}

#[test]
fn join_network_namespace_by_path() {
    require_root!();
    let mut a = Ctr::new("nsa");
    a.sh(LONG);
    let apid = a.create_start();
    let ns_path = format!("/proc/{apid}/ns/net");
    let a_ns = std::fs::read_link(&ns_path).unwrap();

    let mut b = Ctr::new("nsb");
    b.add_ns("network", Some(&ns_path));
    b.sh("readlink /proc/self/ns/net");
    let o = b.run().ok();
    assert_eq!(o.stdout.trim(), a_ns.to_str().unwrap());
    assert_ne!(o.stdout.trim(), host_ns("net"));

    // A namespace path that does not exist is refused up front.
    let mut bad = Ctr::new("nsbad");
    bad.add_ns("network", Some("/proc/999999999/ns/net"));
    bad.run()
        .fails()
        .stderr_has(&["namespaces", "/proc/999999999/ns/net"]);
    bad.assert_no_leftovers();
}

#[test]
fn user_namespace_with_mappings() {
    require_root!();
    let mut c = Ctr::new("userns");
    c.add_ns("user", None);
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.sh(&format!(
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo ready; {LONG}"
    ));
    let pid = c.create_start();
    wait_for("output", Duration::from_secs(5), || {
        std::fs::read_dir(c.dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("out-"))
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|s| s.contains("ready")))
    });
    let out: String = std::fs::read_dir(c.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("out-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(norm(l[0]), "0 100000 65536", "{out}");
    assert_eq!(norm(l[1]), "0 100000 65536", "{out}");
    assert_eq!(l[2], "0");
    assert_eq!(l[3], "0");
    // Seen from the host, the container's root is uid 100000.
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status_field(&st, "Uid").unwrap().starts_with("100000"),
        "{st}"
    );
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/ns/user"))
            .unwrap()
            .to_string_lossy(),
        host_ns("user")
    );
}

#[test]
fn cgroup_memory_and_pids_limits_needs_cgroupv1() {
    require_cgroup_v1!();
    let mut c = Ctr::new("cgmem");
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.config["linux"]["resources"]["pids"] = json!({"limit": 5});
    // At the limit fork fails; the shell's builtins still work.
    // A failed fork ends a non-interactive shell: fork in a subshell, which dies at the
    // limit; the init then reports with builtins only and becomes a sleep.
    c.sh(
        "(for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>/dev/null; echo all-forked >&2); \
         read max < /sys/fs/cgroup/pids/pids.max; \
         read mem < /sys/fs/cgroup/memory/memory.limit_in_bytes; \
         echo max=$max mem=$mem >&2; exec sleep 100",
    );
    c.create_start();
    let mem = Path::new("/sys/fs/cgroup/memory/muelle")
        .join(&c.id)
        .join("memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(&mem).unwrap().trim(), "67108864");
    let pids = Path::new("/sys/fs/cgroup/pids/muelle")
        .join(&c.id)
        .join("pids.max");
    assert_eq!(std::fs::read_to_string(&pids).unwrap().trim(), "5");
    let errs = || {
        std::fs::read_dir(c.dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("err-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect::<String>()
    };
    wait_for("report", Duration::from_secs(5), || errs().contains("max="));
    let e = errs();
    assert!(e.contains("max=5 mem=67108864"), "{e}");
    assert!(!e.contains("all-forked"), "{e}");
    let cur = Path::new("/sys/fs/cgroup/pids/muelle")
        .join(&c.id)
        .join("pids.current");
    let cur: u32 = std::fs::read_to_string(cur)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&cur), "pids.current {cur}");
    let events = Path::new("/sys/fs/cgroup/pids/muelle")
        .join(&c.id)
        .join("pids.events");
    let ev = std::fs::read_to_string(events).unwrap();
    assert!(!ev.contains("max 0"), "pids limit never hit: {ev}");
}

#[test]
fn extra_device_node() {
    require_root!();
    let mut c = Ctr::new("dev");
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o640, "uid": 0, "gid": 5}
    ]);
    c.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
    ]);
    c.sh("stat -c '%F %t:%T %a %u:%g' /dev/fuse /dev/null; ls /dev");
    let o = c.run().ok();
    let l = o.lines();
    assert_eq!(l[0], "character special file a:e5 640 0:5", "{o:?}");
    assert_eq!(l[1], "character special file 1:3 666 0:0", "{o:?}");
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "fuse", "pts", "shm",
    ] {
        assert!(l.contains(&d), "/dev/{d} missing: {o:?}");
    }
}

#[test]
fn device_cgroup_denies_unlisted_devices() {
    require_root!();
    let mut c = Ctr::new("devdeny");
    // A node that exists but is not allowed by the device cgroup (default deny-all).
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}
    ]);
    c.config["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    c.sh("echo x > /dev/null && echo null-ok; cat /dev/fuse 2>&1 || true");
    let o = c.run().ok();
    assert!(o.stdout.contains("null-ok"), "{o:?}");
    assert!(o.stdout.contains("Operation not permitted"), "{o:?}");
}

#[test]
fn spec_devices_get_only_the_access_their_rules_give() {
    require_root!();
    let mut c = Ctr::new("devro");
    // A loop device (7:7, no capability needed to open it) under another name, allowed
    // for reading only: opening it for writing is refused by the device cgroup.
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/ro", "type": "b", "major": 7, "minor": 7, "fileMode": 0o600}
    ]);
    c.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 7, "minor": 7, "access": "r"}
    ]);
    c.sh("true < /dev/ro && echo open-r-ok; (: > /dev/ro) 2>&1 || true");
    let o = c.run().ok();
    assert!(o.stdout.contains("open-r-ok"), "{o:?}");
    assert!(o.stdout.contains("Operation not permitted"), "{o:?}");
}

#[test]
fn seccomp_errno_rule() {
    require_root!();
    let mut c = Ctr::new("seccomp");
    c.mount(json!({"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs"}));
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    c.sh("mkdir /mnt/a/x 2>&1; echo rc=$?; touch /mnt/a/f && echo touch-ok; grep Seccomp: /proc/self/status");
    let o = c.run().ok();
    assert!(o.stdout.contains("Function not implemented"), "{o:?}");
    assert!(o.stdout.contains("rc=1"), "{o:?}");
    assert!(o.stdout.contains("touch-ok"), "{o:?}");
    assert_eq!(status_field(&o.stdout, "Seccomp"), Some("2"));
}

fn hook(marker_dir: &Path, name: &str) -> Value {
    let m = marker_dir.display();
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("/bin/cat > {m}/{name}.json; echo {name} >> {m}/order")],
    })
}

#[test]
fn hooks_run_in_order_with_state() {
    require_root!();
    let markers = tmpdir("hooks");
    std::fs::set_permissions(
        markers.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let mut c = Ctr::new("hooks");
    c.bind(markers.path(), "/mnt/hooks", false);
    c.sh(LONG);
    c.config["hooks"] = json!({
        "prestart": [hook(markers.path(), "prestart")],
        "createRuntime": [hook(markers.path(), "createRuntime")],
        "createContainer": [hook(markers.path(), "createContainer")],
        // Runs inside the container, after pivot_root: the host dir is bound at /mnt/hooks.
        "startContainer": [hook(Path::new("/mnt/hooks"), "startContainer")],
        "poststart": [hook(markers.path(), "poststart")],
        "poststop": [hook(markers.path(), "poststop")],
    });
    c.create().ok();
    let order = || {
        std::fs::read_to_string(markers.path().join("order"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(), ["prestart", "createRuntime", "createContainer"]);
    c.start().ok();
    assert_eq!(
        order(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ]
    );
    c.rt(&["delete", "--force", &c.id]).ok();
    assert_eq!(order().last().map(String::as_str), Some("poststop"));
    assert_eq!(order().len(), 6);
    for name in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let txt = std::fs::read_to_string(markers.path().join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let st: Value =
            serde_json::from_str(&txt).unwrap_or_else(|e| panic!("{name} stdin {txt:?}: {e}"));
        assert_eq!(st["id"], c.id.as_str(), "{name}: {st}");
        // poststop gets pid 0: the init is gone (as crun reports).
        if name != "poststop" {
            assert!(st["pid"].as_i64().unwrap() > 0, "{name}: {st}");
        }
        assert!(st["bundle"].as_str().is_some(), "{name}: {st}");
    }
    let st = |n: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(markers.path().join(format!("{n}.json"))).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(st("poststart")["status"], "running");
    assert_eq!(st("poststop")["status"], "stopped");
    // runtime-tools' hooks_stdin expects the pre-start hooks to see "created", as crun gives.
    for n in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
    ] {
        assert_eq!(st(n)["status"], "created", "{n}");
    }
}

#[test]
fn failing_create_runtime_hook_fails_create() {
    require_root!();
    let mut c = Ctr::new("hookfail");
    c.sh(LONG);
    c.config["hooks"] = json!({"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-boom >&2; exit 3"]}
    ]});
    let o = c.create().fails();
    o.stderr_has(&["createRuntime", "hook-says-boom"]);
    c.assert_no_leftovers();
}

#[test]
fn hook_timeout() {
    require_root!();
    let mut c = Ctr::new("hooktime");
    c.config["hooks"] = json!({"prestart": [
        {"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}
    ]});
    let t = Instant::now();
    let o = c.create().fails();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    o.stderr_has(&["prestart", "timed out"]);
    c.assert_no_leftovers();
}

#[test]
fn annotations_in_state() {
    require_root!();
    let mut c = Ctr::new("annot");
    c.config["annotations"] = json!({"org.example.key": "value", "other": "x y"});
    c.create().ok();
    let st = c.state();
    assert_eq!(st["annotations"]["org.example.key"], "value", "{st}");
    assert_eq!(st["annotations"]["other"], "x y", "{st}");
}

#[test]
fn personality_linux32() {
    require_root!();
    let mut c = Ctr::new("pers");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    c.sh("uname -m");
    let o = c.run().ok();
    assert_eq!(o.stdout.trim(), "i686");
}

#[test]
fn time_namespace_offsets() {
    require_root!();
    assert!(
        Path::new("/proc/self/ns/time").exists(),
        "this kernel has no time namespaces (Linux 5.6 and later have them)"
    );
    let mut c = Ctr::new("timens");
    c.add_ns("time", None);
    c.config["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 86400, "nanosecs": 0},
        "boottime": {"secs": 1000000, "nanosecs": 500}
    });
    c.sh("cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time");
    let o = c.run().ok();
    let norm: Vec<String> = o
        .lines()
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(norm.contains(&"monotonic 86400 0".to_string()), "{o:?}");
    assert!(norm.contains(&"boottime 1000000 500".to_string()), "{o:?}");
    let uptime: u64 = norm[2].parse().unwrap();
    assert!(
        uptime >= 1_000_000,
        "uptime {uptime} lacks the boottime offset"
    );
    assert_ne!(norm[3], host_ns("time"));
}

#[test]
fn exec_variants() {
    require_root!();
    let mut c = Ctr::new("exec");
    c.sh(LONG);
    let init = c.create_start();
    let id = c.id.clone();

    let o = c.rt(&["exec", &id, "sh", "-c", "echo inline $$; exit 5"]);
    assert_eq!(o.code, 5, "{o:?}");
    assert!(o.stdout.starts_with("inline "), "{o:?}");
    assert_ne!(o.stdout.trim(), "inline 1");

    let o = c
        .rt(&[
            "exec",
            "--env",
            "FOO=bar",
            "--cwd",
            "/etc",
            "--user",
            "1000:1001",
            "-g",
            "7",
            &id,
            "sh",
            "-c",
            "echo $FOO; pwd; id -u; id -g; id -G; cat /proc/self/status",
        ])
        .ok();
    let l = o.lines();
    assert_eq!(&l[..4], ["bar", "/etc", "1000", "1001"], "{o:?}");
    assert_eq!(status_field(&o.stdout, "Groups"), Some("7"), "{o:?}");
    // Same namespaces as the init.
    let o = c
        .rt(&[
            "exec",
            &id,
            "sh",
            "-c",
            "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt",
        ])
        .ok();
    let want = ["pid", "mnt"].map(|n| {
        std::fs::read_link(format!("/proc/{init}/ns/{n}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    });
    assert_eq!(o.lines(), want);

    // A missing executable fails clearly.
    c.rt(&["exec", &id, "no-such-command"])
        .fails()
        .stderr_has(&["executable file not found"]);

    // --detach with --pid-file.
    let pf = c.dir().join("exec.pid");
    c.rt_files(&[
        "exec",
        "--detach",
        "--pid-file",
        pf.to_str().unwrap(),
        &id,
        "sleep",
        "30",
    ])
    .ok();
    let epid: i32 = std::fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{epid}/cmdline")).unwrap();
    assert_eq!(cmdline, "sleep\x0030\x00");
    let o = c.rt(&["ps", "--format", "json", &id]).ok();
    let pids: Vec<i32> = serde_json::from_str(&o.stdout).unwrap();
    assert!(pids.contains(&epid) && pids.contains(&init), "{pids:?}");

    // --process FILE.
    let proc_file = c.dir().join("process.json");
    std::fs::write(
        &proc_file,
        serde_json::to_vec(&json!({
            "terminal": false, "user": {"uid": 2, "gid": 3}, "cwd": "/bin",
            "args": ["sh", "-c", "echo from-file $A $(id -u) $(pwd); exit 3"],
            "env": ["PATH=/bin", "A=b"]
        }))
        .unwrap(),
    )
    .unwrap();
    let o = c.rt(&["exec", "--process", proc_file.to_str().unwrap(), &id]);
    assert_eq!(o.code, 3, "{o:?}");
    assert_eq!(o.stdout.trim(), "from-file b 2 /bin");

    // A bad process file is refused.
    std::fs::write(
        &proc_file,
        br#"{"args": ["sh"], "cwd": "relative", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    c.rt(&["exec", "--process", proc_file.to_str().unwrap(), &id])
        .fails()
        .stderr_has(&["cwd"]);
}

#[test]
fn exec_in_stopped_container_fails() {
    require_root!();
    let c = Ctr::new("execstop");
    c.write_config();
    let b = c.dir().to_str().unwrap().to_string();
    c.rt(&["run", "--keep", "--bundle", &b, &c.id]).ok();
    c.rt(&["exec", &c.id, "true"])
        .fails()
        .stderr_has(&["not running"]);
}

#[test]
fn pause_and_resume_needs_cgroupv1() {
    require_cgroup_v1!();
    let mut c = Ctr::new("pause");
    c.sh(LONG);
    c.create_start();
    c.rt(&["pause", &c.id]).ok();
    assert_eq!(c.status(), "paused");
    let fz = Path::new("/sys/fs/cgroup/freezer/muelle")
        .join(&c.id)
        .join("freezer.state");
    assert_eq!(std::fs::read_to_string(&fz).unwrap().trim(), "FROZEN");
    c.rt(&["resume", &c.id]).ok();
    assert_eq!(c.status(), "running");
    assert_eq!(std::fs::read_to_string(&fz).unwrap().trim(), "THAWED");
    c.rt(&["resume", &c.id]).fails().stderr_has(&["not paused"]);
    // A paused container can be force-deleted.
    c.rt(&["pause", &c.id]).ok();
    c.rt(&["delete", "--force", &c.id]).ok();
    c.assert_no_leftovers();
}

#[test]
fn update_ps_and_events_needs_cgroupv1() {
    require_cgroup_v1!();
    let mut c = Ctr::new("upd");
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.sh(LONG);
    let init = c.create_start();
    let dir = Path::new("/sys/fs/cgroup/memory/muelle").join(&c.id);
    c.rt(&["update", "--memory", "100M", &c.id]).ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
            .unwrap()
            .trim(),
        "104857600"
    );
    c.rt(&["update", "--pids-limit", "42", &c.id]).ok();
    assert_eq!(
        std::fs::read_to_string(format!("/sys/fs/cgroup/pids/muelle/{}/pids.max", c.id))
            .unwrap()
            .trim(),
        "42"
    );
    c.rt(&["update", "--memory", "lots", &c.id])
        .fails()
        .stderr_has(&["lots"]);

    let o = c.rt(&["ps", "--format", "json", &c.id]).ok();
    let pids: Vec<i32> = serde_json::from_str(&o.stdout).unwrap();
    assert!(pids.contains(&init), "{pids:?} lacks {init}");

    let o = c.rt(&["events", "--stats", &c.id]).ok();
    let ev: Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(ev["type"], "stats", "{ev}");
    assert_eq!(ev["id"], c.id.as_str());
    assert!(ev["data"].is_object(), "{ev}");
}

// ---------------------------------------------------------------------------------------
// 3. Bad input
// ---------------------------------------------------------------------------------------

/// Asserts `run` fails naming every word, and leaves nothing behind.
fn assert_bad(c: &Ctr, words: &[&str]) {
    let o = c.run().fails();
    o.stderr_has(words);
    assert!(o.stdout.is_empty(), "{o:?}");
    c.assert_no_leftovers();
    // Same for create.
    let o = c.create().fails();
    o.stderr_has(words);
    c.assert_no_leftovers();
}

#[test]
fn bad_malformed_json() {
    require_root!();
    let c = Ctr::new("badjson");
    c.write_config();
    let p = c.dir().join("config.json");
    let full = std::fs::read(&p).unwrap();
    std::fs::write(&p, &full[..full.len() / 2]).unwrap();
    let b = c.dir().to_str().unwrap().to_string();
    let o = c.rt(&["create", "--bundle", &b, &c.id]).fails();
    o.stderr_has(&["malformed config", "config.json", "line"]);
    c.assert_no_leftovers();
}

#[test]
fn bad_relative_cwd() {
    require_root!();
    let mut c = Ctr::new("badcwd");
    c.config["process"]["cwd"] = json!("tmp");
    assert_bad(&c, &["process.cwd", "absolute"]);
}

#[test]
fn bad_oci_version() {
    require_root!();
    let mut c = Ctr::new("badver");
    c.config["ociVersion"] = json!("2.0");
    assert_bad(&c, &["ociVersion", "2.0"]);
}

#[test]
fn bad_missing_rootfs() {
    require_root!();
    let mut c = Ctr::new("badroot");
    let missing = c.dir().join("no-such-rootfs");
    c.config["root"]["path"] = json!(missing);
    assert_bad(&c, &["root.path", "no-such-rootfs"]);
}

#[test]
fn bad_unknown_namespace() {
    require_root!();
    let mut c = Ctr::new("badns");
    c.add_ns("bogus", None);
    assert_bad(&c, &["bogus"]);
}

#[test]
fn bad_host_sysctl() {
    require_root!();
    let mut c = Ctr::new("badsysctl");
    c.config["linux"]["sysctl"] = json!({"vm.swappiness": "1"});
    assert_bad(&c, &["vm.swappiness", "not namespaced"]);
    // A namespaced sysctl without its namespace.
    let mut c = Ctr::new("badsysctl2");
    c.drop_ns("network");
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    assert_bad(&c, &["net.ipv4.ip_forward", "network namespace"]);
}

#[test]
fn bad_hostname_without_uts() {
    require_root!();
    let mut c = Ctr::new("baduts");
    c.drop_ns("uts");
    assert_bad(&c, &["hostname", "UTS"]);
}

#[test]
fn bad_mount_destination_escaping_symlink() {
    require_root!();
    let mut c = Ctr::new("badlink");
    let rootfs = c.private_rootfs();
    std::os::unix::fs::symlink("../../../../../tmp", rootfs.join("etc/evil")).unwrap();
    let leaf = format!("muelle-escape-{}", unique());
    c.mount(
        json!({"destination": format!("/etc/evil/{leaf}"), "type": "tmpfs", "source": "tmpfs"}),
    );
    assert_bad(&c, &["/etc/evil", "outside the container's rootfs"]);
    let host = Path::new("/tmp").join(&leaf);
    assert!(!host.exists(), "created {} on the host", host.display());
    assert!(!host_mounted(&host));
}

#[test]
fn bad_missing_executable() {
    require_root!();
    let mut c = Ctr::new("badexe");
    c.config["process"]["args"] = json!(["no-such-binary-here", "x"]);
    assert_bad(&c, &["executable file not found", "no-such-binary-here"]);
    let mut c = Ctr::new("badexe2");
    c.config["process"]["args"] = json!(["/bin/nope"]);
    assert_bad(&c, &["/bin/nope", "no such file"]);
}

#[test]
fn bad_duplicate_id() {
    require_root!();
    let mut c = Ctr::new("dup");
    c.sh(LONG);
    c.create().ok();
    let pid = c.pid();
    let o = c.create().fails();
    o.stderr_has(&[&c.id, "already exists"]);
    // The first container is untouched.
    assert_eq!(c.status(), "created");
    assert_eq!(c.pid(), pid);
    c.start().ok();
    assert_eq!(c.status(), "running");
}

#[test]
fn bad_container_ids() {
    require_root!();
    let c = Ctr::new("badid");
    c.write_config();
    let b = c.dir().to_str().unwrap().to_string();
    for id in ["../x", "a/b", "", ".."] {
        let o = c.rt(&["create", "--bundle", &b, id]).fails();
        assert!(
            o.stderr.contains("invalid") || o.stderr.contains("id"),
            "{id:?}: {o:?}"
        );
        c.rt(&["state", id]).fails();
    }
    assert!(!c.root.path().parent().unwrap().join("x").exists());
    assert_eq!(
        std::fs::read_dir(c.root.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "something was created under --root"
    );
    c.rt(&["state", "no-such-container"])
        .fails()
        .stderr_has(&["does not exist"]);
}

#[test]
fn bad_bind_source_missing() {
    require_root!();
    let mut c = Ctr::new("badbind");
    c.bind(Path::new("/nonexistent/muelle-src"), "/mnt/a", false);
    assert_bad(&c, &["/nonexistent/muelle-src"]);
}

// ---------------------------------------------------------------------------------------
// 4. Security regressions
// ---------------------------------------------------------------------------------------

fn fds_of(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.split_whitespace().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn no_fd_leak_into_container() {
    require_root!();
    let mut c = Ctr::new("fds");
    c.sh("ls /proc/self/fd");
    let o = c.run().ok();
    assert_eq!(fds_of(&o.stdout), ["0", "1", "2", "3"], "{o:?}");

    // An fd the runtime inherits (5, not close-on-exec) does not reach the container.
    c.write_config();
    let script = format!(
        "exec 5</etc/hostname 7</etc/passwd; exec '{BIN}' --root '{}' run --bundle '{}' '{}'",
        c.root.path().display(),
        c.dir().display(),
        c.id
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    let o = common::run_cmd(cmd).ok();
    assert_eq!(fds_of(&o.stdout), ["0", "1", "2", "3"], "{o:?}");
}

#[test]
fn preserve_fds_passes_fd_3() {
    require_root!();
    let secret = tmpdir("fd3");
    let f = secret.path().join("data");
    std::fs::write(&f, "passed-through\n").unwrap();
    let mut c = Ctr::new("fd3");
    c.sh("ls /proc/self/fd; cat <&3");
    c.write_config();
    let script = format!(
        "exec 3<'{}' 4</etc/hostname; exec '{BIN}' --root '{}' run --preserve-fds 1 --bundle '{}' '{}'",
        f.display(),
        c.root.path().display(),
        c.dir().display(),
        c.id
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    let o = common::run_cmd(cmd).ok();
    let mut lines = o.lines();
    assert_eq!(lines.pop(), Some("passed-through"), "{o:?}");
    // 0-2, the preserved 3 and ls's own directory fd (4); the unpreserved 4 is gone.
    assert_eq!(fds_of(&lines.join(" ")), ["0", "1", "2", "3", "4"], "{o:?}");
}

/// The runtime process `pid` must not run from a file that a container could open for
/// writing through `/proc/PID/exe` (CVE-2019-5736): either a sealed memfd copy, or the binary
/// seen through a detached read-only bind mount.
fn exe_is_protected(pid: u32) {
    let link = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&link).unwrap();
    let exe = exe.to_string_lossy().into_owned();
    assert_ne!(
        Path::new(&exe),
        Path::new(BIN),
        "runtime {pid} runs from {exe}"
    );
    if exe.starts_with("/memfd:") {
        let f = std::fs::File::open(&link).unwrap();
        // SAFETY: fcntl(F_GET_SEALS) on a descriptor we own.
        let seals = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&f), libc::F_GET_SEALS) };
        let need = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        assert_eq!(
            seals & need,
            need,
            "memfd of {pid} is not sealed: {seals:#x}"
        );
    } else {
        let c = std::ffi::CString::new(link.clone()).unwrap();
        // SAFETY: statvfs with a valid path and an out struct.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: see above.
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
        assert_ne!(
            st.f_flag & libc::ST_RDONLY,
            0,
            "runtime {pid} runs from {exe}, neither a memfd nor a read-only mount"
        );
        // The view's mount is detached: nothing of it is left in the host's namespace.
        assert!(
            !std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .contains("muelle-runtime-exe"),
            "read-only view of the binary left mounted"
        );
    }
    // Opening it for writing fails, or if the kernel lets the open through, writing does.
    match std::fs::OpenOptions::new().write(true).open(&link) {
        Err(e) => assert!(
            matches!(
                e.raw_os_error(),
                Some(libc::EPERM) | Some(libc::ETXTBSY) | Some(libc::EACCES) | Some(libc::EROFS)
            ),
            "{e}"
        ),
        Ok(mut f) => {
            use std::io::Write;
            let e = f
                .write_all(b"x")
                .expect_err("runtime binary accepted a write");
            assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
        }
    }
}

#[test]
fn runtime_binary_is_protected() {
    require_root!();
    let mut c = Ctr::new("exe");
    c.sh(LONG);
    let rpid = c.spawn_run(&[]);
    c.wait_status("running");
    exe_is_protected(rpid);

    // A foreground exec, too.
    let mut e = c.cmd();
    e.args(["exec", &c.id, "sleep", "30"]);
    let epid = c.spawn(e, "exec");
    wait_for("exec'd sleep", Duration::from_secs(5), || {
        let o = c.rt(&["ps", "--format", "json", &c.id]);
        serde_json::from_str::<Vec<i32>>(&o.stdout).is_ok_and(|p| p.len() >= 3)
    });
    exe_is_protected(epid);
    // The container's processes run their own binaries, never the runtime.
    let o = c
        .rt(&[
            "exec",
            &c.id,
            "sh",
            "-c",
            "readlink /proc/1/exe; ls /proc | grep -c '^[0-9]'",
        ])
        .ok();
    assert_eq!(o.lines()[0], "/bin/busybox", "{o:?}");
}

/// The CVE-2019-5736 attacker, run in a container with /mnt/out bound to a host directory.
/// Each sweep of /proc stops every process it has not got yet (so that a short-lived one
/// stays put), opens its `/proc/PID/exe` (`command exec 3<`: a failed open does not end the
/// shell, nor does `command :`'s; it is tried again on the next sweep, as a process being set up may become
/// reachable after its execve) and lets it go on. For an exe that is not the container's
/// own busybox, a child waits for the process to end and opens the descriptor again for
/// writing with O_TRUNC, as the attack does. Opening without O_TRUNC would not tell a
/// protected binary from an unprotected one: the kernel answers ETXTBSY before EROFS as long
/// as anything still executes the file (a supervisor does), while O_TRUNC asks the mount for
/// write access first. Lines in /mnt/out/report: `TARGET pid exe`, then `WROTE pid exe` or
/// `DENIED pid exe: error`.
const EXE_WATCHER: &str = include_str!("exe_watcher.sh");

/// The report of an [`EXE_WATCHER`]: waits until every target got its verdict; asserts that
/// nothing was opened for writing, that each refusal came from the binary's protection (a
/// read-only mount or a sealed memfd; ETXTBSY means the mount itself was writable) and that
/// at least one runtime process was reached (otherwise the attack was not made at all).
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
            "{what}: the attacker did not finish: {}\n{}",
            read(),
            std::fs::read_dir(out)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = read();
    assert!(
        !r.contains("WROTE"),
        "{what}: a container opened a runtime binary for writing:\n{r}"
    );
    for l in r.lines().filter(|l| l.starts_with("DENIED")) {
        assert!(
            l.contains("Read-only file system") || l.contains("Operation not permitted"),
            "{what}: refused for another reason than the binary's protection: {l}\n{r}"
        );
    }
    assert!(
        r.lines().any(|l| l.starts_with("DENIED")),
        "{what}: the attacker reached no runtime process (the test attacked nothing):\n{r}"
    );
    r
}

/// Copies the dynamic loader and the libraries `bin` needs into `rootfs` (at their host
/// paths), so that the kernel can load the binary inside the container, as it can in any
/// glibc-based image.
fn install_loader(rootfs: &Path, bin: &Path) {
    let o = Command::new("ldd").arg(bin).output().expect("ldd");
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let Some(lib) = l
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(Path::new)
        else {
            continue;
        };
        let dst = rootfs.join(lib.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dst).unwrap();
    }
    assert!(
        rootfs.join("lib64").exists() || !String::from_utf8_lossy(&o.stdout).contains("lib64"),
        "ldd {}: {o:?}",
        bin.display()
    );
}

fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// CVE-2019-5736 performed: a container whose process is `#!/proc/self/exe` (the kernel runs
/// the binary that exec'd it, the runtime, inside the container) while an attacker in the same
/// pid namespace, with and without CAP_SYS_PTRACE, grabs `/proc/PID/exe` of every process and
/// opens it for writing once the process is gone. Through `exec` and through the init of a
/// second container that joins the attacker's pid namespace by path. The runtime is a private
/// copy (an unprotected binary is destroyed), whose hash must not change.
#[test]
fn runtime_binary_survives_proc_self_exe_attack() {
    require_root!();
    let bin_dir = tmpdir("rtbin");
    let bin = bin_dir.path().join("muelle-runtime");
    std::fs::copy(BIN, &bin).unwrap();
    let before = sha256(&bin);
    for ptrace in [false, true] {
        let what = if ptrace {
            "with CAP_SYS_PTRACE"
        } else {
            "default capabilities"
        };
        let out = tmpdir("exeattack");
        let mut w = Ctr::new("w5736");
        w.bin = bin.clone();
        let rootfs = w.private_rootfs();
        install_loader(&rootfs, &bin);
        std::fs::write(rootfs.join("evil"), "#!/proc/self/exe\n").unwrap();
        std::fs::set_permissions(
            rootfs.join("evil"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        if ptrace {
            for set in ["bounding", "effective", "permitted"] {
                w.config["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_SYS_PTRACE"));
            }
        }
        w.bind(out.path(), "/mnt/out", false);
        w.sh(EXE_WATCHER);
        let wpid = w.create_start();
        wait_for("the attacker", Duration::from_secs(5), || {
            out.path().join("ready").exists()
        });
        // The runtime as the process of `exec`.
        // (A binary the attacker holds open for writing cannot be started: ETXTBSY; the
        // verdicts below tell what happened.)
        let attempt = |mut c: Command| {
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Ok(mut child) = c.spawn() {
                common::wait_timeout(&mut child, common::CMD_TIMEOUT);
            }
        };
        for _ in 0..15 {
            let mut c = w.cmd();
            c.args(["exec", &w.id, "/evil"]);
            attempt(c);
        }
        // The runtime as the init of a container that joins the attacker's pid namespace.
        let mut e = Ctr::new("e5736");
        e.bin = bin.clone();
        e.config["root"] = json!({"path": rootfs, "readonly": true});
        e.config["process"]["args"] = json!(["/evil"]);
        e.add_ns("pid", Some(&format!("/proc/{wpid}/ns/pid")));
        e.write_config();
        for _ in 0..5 {
            let mut c = e.cmd();
            c.arg("run").arg("--bundle").arg(e.dir()).arg(&e.id);
            attempt(c);
        }
        let r = exe_attack_verdicts(out.path(), what);
        eprintln!("{what}:\n{r}");
        assert_eq!(sha256(&bin), before, "{what}: the runtime binary changed");
    }
}

#[test]
fn absolute_symlink_mount_destination_stays_in_rootfs() {
    require_root!();
    let host_dir = Path::new("/tmp").join(format!("muelle-hostdir-{}", unique()));
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("keep"), "untouched").unwrap();
    struct Rm<'a>(&'a Path);
    impl Drop for Rm<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    let _rm = Rm(&host_dir);
    let mut c = Ctr::new("abslink");
    let rootfs = c.private_rootfs();
    std::os::unix::fs::symlink(&host_dir, rootfs.join("etc/link")).unwrap();
    c.mount(json!({"destination": "/etc/link", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    c.sh(&format!(
        "echo planted > /etc/link/marker; ls /etc/link; grep ' {} ' /proc/mounts",
        host_dir.display()
    ));
    let o = c.run().ok();
    assert_eq!(o.lines()[0], "marker", "{o:?}");
    assert!(o.lines()[1].contains("tmpfs"), "{o:?}");
    // The host directory kept its content, got no marker and is no mount point.
    assert_eq!(
        std::fs::read_to_string(host_dir.join("keep")).unwrap(),
        "untouched"
    );
    assert!(!host_dir.join("marker").exists());
    assert!(!host_mounted(&host_dir));
    // The mount point was created inside the rootfs copy instead.
    assert!(rootfs.join(host_dir.strip_prefix("/").unwrap()).is_dir());
}

#[test]
fn sigterm_is_forwarded_by_run() {
    require_root!();
    let out = tmpdir("term");
    let mut c = Ctr::new("term");
    c.bind(out.path(), "/mnt/out", false);
    c.sh("trap 'exit 42' TERM; echo > /mnt/out/ready; while :; do sleep 0.1; done");
    let rpid = c.spawn_run(&[]);
    wait_for("trap installed", Duration::from_secs(5), || {
        out.path().join("ready").exists()
    });
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(rpid as i32, libc::SIGTERM) }, 0);
    assert_eq!(
        c.wait_spawned(rpid),
        42,
        "{}",
        c.read_bundle_file("run.err")
    );
    c.assert_no_leftovers();
}

#[test]
fn orphans_are_reaped_in_pid_namespace() {
    require_root!();
    let mut c = Ctr::new("zombie");
    // Double-forked children whose parent exits are re-parented to the init (sh), which must
    // reap them; after the init exits nothing of the container survives.
    c.sh(
        "(sleep 0.2 &) ; (sleep 0.2 &); sleep 0.5; cat /proc/[0-9]*/stat | grep -c ') Z ' || true",
    );
    let o = c.run().ok();
    assert_eq!(o.stdout.trim(), "0", "zombies in the container: {o:?}");
    c.assert_no_leftovers();
}

#[test]
fn idmapped_bind_mount() {
    require_root!();
    let host = tmpdir("idmap");
    std::fs::write(host.path().join("rootfile"), "x").unwrap();
    let mut c = Ctr::new("idmap");
    // On-disk uid 0 is shown through the mapping 0 -> 1000 as 1000 on the idmapped mount,
    // while the plain bind of the same directory shows it as 0.
    c.mount(json!({
        "destination": "/mnt/rw", "type": "bind", "source": host.path(),
        "options": ["rbind"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]
    }));
    c.bind(host.path(), "/mnt/ro", true);
    c.sh("stat -c '%u:%g' /mnt/rw/rootfile /mnt/ro/rootfile");
    let o = c.run().ok();
    assert_eq!(o.lines(), ["1000:1000", "0:0"], "{o:?}");
    assert!(!host_mounted(Path::new("/mnt/rw")));
}

#[test]
fn idmap_option_without_any_mapping_is_refused() {
    require_root!();
    let host = tmpdir("idmap-bad");
    let mut c = Ctr::new("idmapbad");
    c.mount(json!({"destination": "/mnt/rw", "type": "bind", "source": host.path(), "options": ["rbind", "idmap"]}));
    c.sh("true");
    let o = c.run().fails();
    o.stderr_has(&["/mnt/rw", "idmap"]);
    c.assert_no_leftovers();
}

#[test]
fn rootfs_propagation_applies_to_the_containers_root() {
    require_root!();
    for (prop, want) in [
        ("shared", "shared:"),
        ("rshared", "shared:"),
        ("unbindable", "unbindable"),
        ("private", ""),
    ] {
        let mut c = Ctr::new("prop");
        c.config["linux"]["rootfsPropagation"] = json!(prop);
        // mountinfo of "/": optional fields sit between the mount options and the "-".
        c.sh("awk '$5 == \"/\" {for (i = 7; $i != \"-\"; i++) printf \"%s \", $i; print \"end\"}' /proc/self/mountinfo");
        let o = c.run().ok();
        let line = o.lines().last().copied().unwrap_or("").to_string();
        if want.is_empty() {
            assert!(
                !line.contains("shared:") && !line.contains("unbindable"),
                "{prop}: {line}"
            );
        } else {
            assert!(line.contains(want), "{prop}: {line}");
        }
    }
}

#[test]
fn failing_poststart_and_poststop_hooks_are_warnings() {
    require_root!();
    let marker = tmpdir("hookwarn");
    let after = marker.path().join("second-ran");
    let mut c = Ctr::new("hookwarn");
    c.config["hooks"] = json!({
        "poststart": [{"path": "/bin/false"}, {"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}", after.display())]}],
        "poststop": [{"path": "/bin/false"}]
    });
    c.sh("sleep 5");
    c.create().ok();
    let o = c.start().ok();
    o.stderr_has(&["warning", "poststart"]);
    assert!(after.exists(), "the hook after the failing one must run");
    assert_eq!(c.status(), "running");
    c.rt(&["kill", &c.id, "KILL"]).ok();
    c.wait_status("stopped");
    let o = c.rt(&["delete", &c.id]).ok();
    o.stderr_has(&["warning", "poststop"]);
    c.assert_no_leftovers();
}

/// The static muelle-init built by scripts/build.sh (the one the engine injects: the images
/// it goes into have no glibc).
fn static_init() -> PathBuf {
    let dir = std::env::var_os("MUELLE_STATIC_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/x86_64-unknown-linux-gnu/release")
        });
    let init = dir.join("muelle-init");
    assert!(
        init.is_file(),
        "{} is missing: run scripts/build.sh (scripts/test.sh does) before this test",
        init.display()
    );
    init
}

#[test]
fn muelle_init_forwards_signals_and_reaps_zombies() {
    require_root!();
    let init = static_init();
    let mut c = Ctr::new("init");
    c.mount(json!({"destination": "/sbin/muelle-init", "type": "bind", "source": init, "options": ["bind", "ro"]}));
    // The child leaves orphans behind (reaped by the init: no zombies), then waits for TERM.
    c.config["process"]["args"] = json!([
        "/sbin/muelle-init",
        "--",
        "sh",
        "-c",
        "for i in 1 2 3; do (sleep 0.01 &) ; done; sleep 0.3; \
         z=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l); echo zombies=$z; \
         trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done"
    ]);
    c.write_config();
    let pid = c.spawn_run(&[]);
    wait_for("ready", Duration::from_secs(10), || {
        c.read_bundle_file("run.out").contains("ready")
    });
    c.rt(&["kill", &c.id, "TERM"]).ok();
    let code = c.wait_spawned(pid);
    assert_eq!(
        code, 42,
        "the init must forward TERM and exit with the child's code"
    );
    let out = c.read_bundle_file("run.out");
    assert!(out.contains("zombies=0"), "{out}");
    assert!(out.contains("got-term"), "{out}");
}
