//! Process namespaces and identity options run for real with the stock docker CLI against
//! muelled and, where dockerd can do the same, against the shared dockerd with the same
//! command: `--pid`, `--ipc`, `--uts` (host, another container's), `--shm-size`, `--sysctl`,
//! `--oom-score-adj`, `--domainname`, `--group-add`; inspect's fields; refused input with
//! dockerd's messages and nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::cell::RefCell;
use std::process::{Command, Output};

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";

struct Env {
    d: Daemon,
    /// Containers made on dockerd, removed on drop.
    theirs: RefCell<Vec<String>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for name in self.theirs.borrow().iter() {
            let _ = Command::new(DOCKER)
                .args(["-H", DOCKERD, "rm", "-f", name])
                .output();
        }
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

/// muelled with busybox; dockerd with busybox must be there too (the test fails otherwise).
fn env() -> Env {
    let ok = Command::new(DOCKER)
        .args(["-H", DOCKERD, "image", "inspect", "busybox"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "dockerd at /run/docker.sock with the busybox image is needed"
    );
    Env {
        d: daemon_with_busybox(),
        theirs: RefCell::default(),
    }
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The daemon's answer in a failed docker command: the `Error response from daemon:` line,
/// or the CLI's own first line; without the full stop older docker CLIs add.
fn error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .find(|l| l.contains("Error response from daemon"))
        .or_else(|| err.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_string()
}

/// Which daemon a command goes to.
#[derive(Clone, Copy, Debug)]
enum On {
    Ours,
    Theirs,
}

impl Env {
    /// `docker ARGS` on one daemon; names given with `{name}` in ARGS are made unique per
    /// daemon by the caller.
    fn docker(&self, on: On, args: &[&str]) -> Output {
        match on {
            On::Ours => self.d.docker(args),
            On::Theirs => Command::new(DOCKER)
                .args(["-H", DOCKERD])
                .args(args)
                .output()
                .expect("docker"),
        }
    }

    /// A name for a container on `on`, removed at the end on dockerd.
    fn name(&self, on: On) -> String {
        let n = unique("muelle-ns");
        if let On::Theirs = on {
            self.theirs.borrow_mut().push(n.clone());
        }
        n
    }

    /// `docker run --rm ARGS busybox sh -c SCRIPT`: exit code and stdout.
    fn run(&self, on: On, args: &[&str], script: &str) -> (i32, String) {
        let name = self.name(on);
        let mut a = vec!["run", "--rm", "--name", &name];
        a.extend(args);
        a.extend(["busybox", "sh", "-c", script]);
        let o = self.docker(on, &a);
        let code = o.status.code().unwrap_or(-1);
        assert!(
            code != 125,
            "{on:?} could not run {args:?}: {}{}",
            stdout(&o),
            String::from_utf8_lossy(&o.stderr)
        );
        (code, stdout(&o))
    }

    /// The same run on both daemons; asserts the same exit code and output, returns it.
    fn same(&self, args: &[&str], script: &str) -> String {
        let ours = self.run(On::Ours, args, script);
        let theirs = self.run(On::Theirs, args, script);
        assert_eq!(
            ours, theirs,
            "muelled (left) vs dockerd (right): {args:?} {script}"
        );
        ours.1
    }

    /// A detached `busybox sh -c SCRIPT` with ARGS; returns its name.
    fn detached(&self, on: On, args: &[&str], script: &str) -> String {
        let name = self.name(on);
        let mut a = vec!["run", "-d", "--name", &name];
        a.extend(args);
        a.extend(["busybox", "sh", "-c", script]);
        let o = self.docker(on, &a);
        assert!(o.status.success(), "{on:?} {a:?}: {o:?}");
        name
    }

    /// The error of a run that must fail on `on`, with the container's id replaced by ID.
    fn refused(&self, on: On, args: &[&str]) -> String {
        let name = self.name(on);
        let mut a = vec!["run", "--rm", "--name", &name];
        a.extend(args);
        a.extend(["busybox", "true"]);
        let o = self.docker(on, &a);
        assert!(!o.status.success(), "{on:?} ran {args:?}");
        error_line(&o)
    }

    /// Number of containers muelled knows.
    fn our_count(&self) -> usize {
        stdout(&self.docker(On::Ours, &["ps", "-aq"]))
            .lines()
            .count()
    }
}

#[test]
fn pid_host_and_another_containers_pid_namespace_needs_dockerd() {
    let e = env();
    // The host's pid 1 and its own pid namespace.
    let host1 = std::fs::read_to_string("/proc/1/comm").unwrap();
    // The test runs in the host's pid namespace (pid 1's link is not readable without
    // CAP_SYS_PTRACE over it).
    let host_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let out = e.same(
        &["--pid", "host"],
        "cat /proc/1/comm; readlink /proc/self/ns/pid",
    );
    assert_eq!(out, format!("{host1}{}\n", host_ns.display()));
    // Another container's: its sleep is pid 1 and the namespace is the same.
    for on in [On::Ours, On::Theirs] {
        let target = e.detached(on, &[], "exec sleep 300");
        let (code, out) = e.run(
            on,
            &["--pid", &format!("container:{target}")],
            "cat /proc/1/comm; ps -o comm | grep -c sleep",
        );
        assert_eq!((code, out.as_str()), (0, "sleep\n1\n"), "{on:?}");
        let theirs = stdout(&e.docker(on, &["exec", &target, "readlink", "/proc/self/ns/pid"]));
        let (_, ours) = e.run(
            on,
            &["--pid", &format!("container:{target}")],
            "readlink /proc/self/ns/pid",
        );
        assert_eq!(ours, theirs, "{on:?}");
        let inspect = stdout(&e.docker(
            on,
            &["create", "--pid", &format!("container:{target}"), "busybox"],
        ));
        let pid_mode = stdout(&e.docker(
            on,
            &["inspect", "-f", "{{.HostConfig.PidMode}}", inspect.trim()],
        ));
        // Recorded by ID, as dockerd records it.
        let id = stdout(&e.docker(on, &["inspect", "-f", "{{.Id}}", &target]));
        assert_eq!(pid_mode, format!("container:{id}"), "{on:?}");
        let _ = e.docker(on, &["rm", "-f", inspect.trim()]);
    }
}

#[test]
fn ipc_modes_and_shm_needs_dockerd() {
    let e = env();
    // /dev/shm of its own, sized by --shm-size (default 64m), none with --ipc none.
    e.same(&[], "df -k /dev/shm | tail -1");
    let out = e.same(&["--shm-size", "1m"], "df -k /dev/shm | tail -1");
    assert!(out.contains(" 1024 "), "{out}");
    let out = e.same(
        &["--ipc", "none"],
        "grep -c ' /dev/shm ' /proc/mounts; true",
    );
    assert_eq!(out, "0\n");
    // The host's IPC namespace and /dev/shm.
    let mark = unique("muelle-ns-shm");
    std::fs::write(format!("/dev/shm/{mark}"), "host\n").unwrap();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let out = e.same(
        &["--ipc", "host"],
        &format!("cat /dev/shm/{mark}; readlink /proc/self/ns/ipc"),
    );
    let _ = std::fs::remove_file(format!("/dev/shm/{mark}"));
    assert_eq!(out, format!("host\n{}\n", host_ipc.display()));
    // A shareable container's IPC namespace and /dev/shm, joined.
    for on in [On::Ours, On::Theirs] {
        let donor = e.detached(
            on,
            &["--ipc", "shareable", "--shm-size", "2m"],
            "echo shared > /dev/shm/x; exec sleep 300",
        );
        let ns = stdout(&e.docker(on, &["exec", &donor, "readlink", "/proc/self/ns/ipc"]));
        let (code, out) = e.run(
            on,
            &["--ipc", &format!("container:{donor}")],
            "cat /dev/shm/x; df -k /dev/shm | tail -1 | awk '{print $2}'; readlink /proc/self/ns/ipc",
        );
        assert_eq!((code, out), (0, format!("shared\n2048\n{ns}")), "{on:?}");
        let mode = stdout(&e.docker(
            on,
            &[
                "inspect",
                "-f",
                "{{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}}",
                &donor,
            ],
        ));
        assert_eq!(mode, "shareable 2097152\n", "{on:?}");
        // A private one cannot be joined; dockerd's message, the id aside.
        let private = e.detached(on, &[], "exec sleep 300");
        let id = stdout(&e.docker(on, &["inspect", "-f", "{{.Id}}", &private]));
        let err = e.refused(on, &["--ipc", &format!("container:{private}")]);
        assert_eq!(
            err.replace(id.trim(), "ID"),
            "docker: Error response from daemon: can't join IPC of container ID: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
            "{on:?}"
        );
    }
}

#[test]
fn uts_host_domainname_sysctls_oom_and_groups_needs_dockerd() {
    let e = env();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let out = e.same(&["--uts", "host"], "hostname");
    assert_eq!(out, format!("{host}\n"));
    let ours = e.refused(On::Ours, &["--uts", "host", "--hostname", "x"]);
    let theirs = e.refused(On::Theirs, &["--uts", "host", "--hostname", "x"]);
    assert_eq!(ours, theirs);
    assert!(
        ours.contains("conflicting options: hostname and the UTS mode"),
        "{ours}"
    );

    let out = e.same(
        &["--domainname", "example.com", "--hostname", "h"],
        "cat /proc/sys/kernel/domainname; hostname",
    );
    assert_eq!(out, "example.com\nh\n");

    let out = e.same(
        &[
            "--sysctl",
            "kernel.shmmax=4096",
            "--sysctl",
            "fs.mqueue.msg_max=20",
            "--sysctl",
            "net.ipv4.tcp_syncookies=0",
        ],
        "cat /proc/sys/kernel/shmmax /proc/sys/fs/mqueue/msg_max /proc/sys/net/ipv4/tcp_syncookies",
    );
    assert_eq!(out, "4096\n20\n0\n");

    let out = e.same(&["--oom-score-adj", "500"], "cat /proc/self/oom_score_adj");
    assert_eq!(out, "500\n");

    let out = e.same(&["--group-add", "42", "--group-add", "tty"], "id -G");
    let groups: Vec<&str> = out.split_whitespace().collect();
    assert!(groups.contains(&"42") && groups.contains(&"5"), "{out}");
}

#[test]
fn inspect_shows_the_modes_as_dockerd_needs_dockerd() {
    let e = env();
    let fields = "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}|{{.HostConfig.UTSMode}}|\
        {{.HostConfig.UsernsMode}}|{{.HostConfig.ShmSize}}|{{.HostConfig.OomScoreAdj}}|\
        {{json .HostConfig.Sysctls}}|{{json .HostConfig.GroupAdd}}|{{.Config.Domainname}}";
    for args in [
        vec![],
        vec![
            "--pid",
            "host",
            "--ipc",
            "host",
            "--uts",
            "host",
            "--userns",
            "host",
            "--shm-size",
            "3m",
            "--oom-score-adj",
            "7",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--group-add",
            "5",
            "--domainname",
            "d.example",
        ],
    ] {
        let show = |on: On| {
            let name = e.name(on);
            let mut a = vec!["create", "--name", &name];
            a.extend(&args);
            a.push("busybox");
            let o = e.docker(on, &a);
            assert!(o.status.success(), "{on:?} {a:?}: {o:?}");
            stdout(&e.docker(on, &["inspect", "-f", fields, &name]))
        };
        assert_eq!(show(On::Ours), show(On::Theirs), "{args:?}");
    }
}

#[test]
fn bad_input_gives_dockerds_messages_and_leaves_nothing_needs_dockerd() {
    let e = env();
    for args in [
        &["--pid", "container:nosuch"][..],
        &["--ipc", "container:nosuch"],
        &["--ipc", "bogus"],
        &["--pid", "bogus"],
        &["--uts", "bogus"],
        &["--userns", "bogus"],
        &["--sysctl", "kernel.foo=1"],
        &["--sysctl", "kernel.domainname=x"],
        &["--oom-score-adj", "2000"],
        &["--group-add", "nosuchgroup"],
    ] {
        let ours = e.refused(On::Ours, args);
        let theirs = e.refused(On::Theirs, args);
        assert_eq!(ours, theirs, "{args:?}");
        assert_eq!(e.our_count(), 0, "{args:?} left a container");
    }
    // A joined container that is not running: dockerd's message, the id aside.
    for on in [On::Ours, On::Theirs] {
        let name = e.name(on);
        let o = e.docker(on, &["create", "--name", &name, "busybox", "true"]);
        assert!(o.status.success());
        let id = stdout(&o);
        let err = e.refused(on, &["--pid", &format!("container:{name}")]);
        assert_eq!(
            err.replace(id.trim(), "ID"),
            "docker: Error response from daemon: container ID is not running",
            "{on:?}"
        );
        let _ = e.docker(on, &["rm", "-f", &name]);
    }
    // Sysctls of a namespace the container shares with the host: runc's message (dockerd
    // fails at start, muelled before anything is made).
    for (args, message) in [
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"][..],
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace",
        ),
        (
            &["--ipc", "host", "--sysctl", "kernel.shmmax=4096"],
            "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace",
        ),
    ] {
        let ours = e.refused(On::Ours, args);
        let theirs = e.refused(On::Theirs, args);
        assert!(ours.contains(message), "{ours}");
        assert!(theirs.contains(message), "{theirs}");
        assert_eq!(e.our_count(), 0, "{args:?} left a container");
    }
    // A negative OOM score needs CAP_SYS_RESOURCE, which this host's bounding set lacks:
    // dockerd's runc dies obscurely; muelled says why, before making anything. Where the
    // capability is there, it works.
    if has_sys_resource() {
        let (_, out) = e.run(
            On::Ours,
            &["--oom-score-adj", "-5"],
            "cat /proc/self/oom_score_adj",
        );
        assert_eq!(out, "-5\n");
    } else {
        let ours = e.refused(On::Ours, &["--oom-score-adj", "-5"]);
        assert!(ours.contains("CAP_SYS_RESOURCE"), "{ours}");
        assert_eq!(e.our_count(), 0);
    }
}

/// Whether this process (root, as muelled) holds CAP_SYS_RESOURCE.
fn has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    eff & (1 << 24) != 0
}
