//! What a container run through muelled can and cannot do to the host, tried for real from
//! inside with the stock docker CLI, each beside the same container on the peer dockerd
//! (unix:///run/docker.sock) where the setting is a default: default capabilities, masked and
//! read-only /proc and /sys paths, device nodes, `--privileged`, `--cap-add`, `--cap-drop`,
//! `--security-opt no-new-privileges`, `--read-only` with `--tmpfs`, `-v host:ctr:ro` and a
//! `noexec` tmpfs.
//!
//! A missing peer (docker CLI, dockerd with busybox, gcc) fails the test when `CI` is set; it
//! is skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";

/// Fails the test, naming the missing peer (the test's name says what it needs, so
/// scripts/test.sh leaves it out, as skipped, on a host without it).
fn missing(what: &str) {
    panic!("{what} is needed (scripts/peers.sh install / up)");
}

struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
    /// Containers made on dockerd (removed on drop).
    theirs: std::cell::RefCell<Vec<String>>,
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

fn dockerd_ready() -> bool {
    Command::new(DOCKER)
        .args(["-H", DOCKERD, "image", "inspect", "busybox"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// muelled with busybox, and dockerd with busybox beside it.
fn env() -> Option<Env> {
    if !Path::new(DOCKER).exists() {
        missing(DOCKER);
        return None;
    }
    if !dockerd_ready() {
        missing("dockerd at /run/docker.sock with the busybox image");
        return None;
    }
    let d = daemon_with_busybox();
    let scratch = tempfile::Builder::new()
        .prefix("muelle-hard-")
        .tempdir_in("/var/tmp")
        .unwrap();
    Some(Env {
        d,
        scratch,
        theirs: Default::default(),
    })
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What a run prints on stdout, and its exit code.
#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    out: String,
}

impl Env {
    fn run_args(name: &str, args: &[&str], script: &str) -> Vec<String> {
        let mut v: Vec<String> = ["run", "--rm", "--network", "none", "--name", name]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(args.iter().map(|s| s.to_string()));
        v.extend(
            ["busybox", "sh", "-c", script]
                .iter()
                .map(|s| s.to_string()),
        );
        v
    }

    /// `docker run --rm --network none ARGS busybox sh -c SCRIPT` on muelled.
    fn ours(&self, args: &[&str], script: &str) -> Run {
        let name = format!("hard-{}", unique());
        let a = Self::run_args(&name, args, script);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = self.d.docker(&a);
        let code = o.status.code().unwrap_or(-1);
        assert!(
            code != 125,
            "muelled could not run {args:?}: {}\n{}",
            text(&o),
            self.d.log()
        );
        Run {
            code,
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
        }
    }

    /// The same on dockerd, under a name of this test's own.
    fn theirs(&self, args: &[&str], script: &str) -> Run {
        let name = format!("muelle-hard-{}", unique());
        self.theirs.borrow_mut().push(name.clone());
        let a = Self::run_args(&name, args, script);
        let o = Command::new(DOCKER)
            .args(["-H", DOCKERD])
            .args(&a)
            .output()
            .expect("docker");
        let code = o.status.code().unwrap_or(-1);
        assert!(code != 125, "dockerd could not run {args:?}: {}", text(&o));
        Run {
            code,
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
        }
    }

    /// The same on dockerd, None when its runtime cannot start the container (exit 125).
    fn theirs_opt(&self, args: &[&str], script: &str) -> Option<Run> {
        let name = format!("muelle-hard-{}", unique());
        self.theirs.borrow_mut().push(name.clone());
        let a = Self::run_args(&name, args, script);
        let o = Command::new(DOCKER)
            .args(["-H", DOCKERD])
            .args(&a)
            .output()
            .expect("docker");
        let code = o.status.code().unwrap_or(-1);
        if code == 125 {
            println!("dockerd cannot run {args:?}: {}", text(&o));
            return None;
        }
        Some(Run {
            code,
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
        })
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

/// Opens `$f` for writing without writing anything (`command :` so that a failed
/// redirection does not end the shell): safe even where the write would go through.
const TRY_OPEN_W: &str = r#"tw() { if command : 2>/dev/null >>"$1"; then echo "$1 writable"; else echo "$1 denied"; fi; }"#;

#[test]
fn default_capabilities_match_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let r = e.same(&[], "grep ^Cap /proc/self/status");
    assert!(r.out.contains("CapEff:\t00000000a80425fb"), "{}", r.out);
    // And what they allow or not, tried: chown and mknod yes; mount, a network change,
    // the hostname (a new UTS namespace, but CAP_SYS_ADMIN) and kernel modules no.
    let script = "touch /f; chown 1:1 /f && echo chown-ok; mknod /n c 1 3 && echo mknod-ok; \
        mkdir /m; mount -t tmpfs none /m 2>/dev/null && echo mount-ok; \
        ip link set lo mtu 1300 2>/dev/null && echo netadmin-ok; \
        hostname x 2>/dev/null && echo hostname-ok; \
        rmmod muelle_no_such_module 2>&1 | grep -q 'not permitted' && echo no-modules; echo end";
    let r = e.same(&[], script);
    assert_eq!(r.out, "chown-ok\nmknod-ok\nno-modules\nend\n");
}

/// Docker's masked paths: a read gives nothing (a /dev/null bind) or an empty directory
/// (a read-only tmpfs), as on dockerd.
#[test]
fn masked_paths_give_nothing_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let script = "for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug \
        /proc/latency_stats /proc/timer_stats /proc/acpi /proc/scsi /proc/asound \
        /sys/firmware /sys/devices/virtual/powercap; do \
          if [ -d $p ]; then echo \"$p dir $(ls -A $p | wc -l)\"; \
          elif [ -e $p ]; then echo \"$p file $(head -c 4096 $p 2>&1 | wc -c)\"; \
          else echo \"$p absent\"; fi; done";
    let r = e.same(&[], script);
    // Every path that shows something on the host shows nothing in the container.
    let mut attacked = 0;
    for l in r.out.lines() {
        let p = l.split_whitespace().next().unwrap();
        let host_has = if Path::new(p).is_dir() {
            std::fs::read_dir(p).is_ok_and(|mut d| d.next().is_some())
        } else {
            std::fs::read(p).is_ok_and(|b| !b.is_empty())
        };
        if host_has {
            attacked += 1;
            assert!(
                l.ends_with(" 0"),
                "masked path shows something: {l}\n{}",
                r.out
            );
        }
    }
    assert!(
        attacked >= 2,
        "nothing masked to read on this host?\n{}",
        r.out
    );
}

/// Docker's read-only paths: /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus and
/// /proc/fs cannot be opened for writing (tried: opened without writing), nor remounted.
#[test]
fn readonly_paths_refuse_writes_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let script = format!(
        "{TRY_OPEN_W}; for f in /proc/sys/kernel/panic /proc/sys/vm/drop_caches \
         /proc/sys/kernel/core_pattern /proc/sysrq-trigger /proc/sys/net/core/somaxconn; do \
         tw $f; done; mount -o remount,rw /proc/sys 2>/dev/null && echo remounted; echo end"
    );
    let r = e.same(&[], &script);
    // /proc/sys/net too, although per network namespace: all of /proc/sys is read-only.
    assert_eq!(
        r.out,
        "/proc/sys/kernel/panic denied\n/proc/sys/vm/drop_caches denied\n\
         /proc/sys/kernel/core_pattern denied\n/proc/sysrq-trigger denied\n\
         /proc/sys/net/core/somaxconn denied\nend\n"
    );
}

/// Major and minor of the block device holding the host's /.
fn root_disk() -> (u64, u64) {
    let dev = std::fs::metadata("/").unwrap().dev();
    (
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
        (dev & 0xff) | ((dev >> 12) & !0xff),
    )
}

/// Opens `$1` for reading (`command exec` so that a failed open does not end the shell).
const TRY_OPEN_R: &str = r#"tr_() { if command exec 4<"$1" 2>/dev/null; then echo "$1 opened"; exec 4<&-; else echo "$1 denied"; fi; }"#;

/// Any device node can be made (`c/b *:* m`), but one outside the default list opens
/// neither for reading nor for writing: the host's root disk, a loop device, /dev/mem,
/// /dev/kmsg. The allowed ones work.
#[test]
fn denied_devices_cannot_be_opened_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let (major, minor) = root_disk();
    let script = format!(
        "{TRY_OPEN_R}; {TRY_OPEN_W}; mknod /disk b {major} {minor} && mknod /loop b 7 0 && \
         mknod /mem c 1 1 && mknod /kmsg c 1 11 && echo made; \
         for f in /disk /loop /mem /kmsg; do tr_ $f; tw $f; done; \
         mknod /nul c 1 3 && echo x > /nul && echo null-ok; head -c 1 /dev/urandom | wc -c"
    );
    let r = e.same(&[], &script);
    assert_eq!(
        r.out,
        "made\n/disk denied\n/disk denied\n/loop denied\n/loop denied\n/mem denied\n\
         /mem denied\n/kmsg denied\n/kmsg denied\nnull-ok\n1\n"
    );
}

/// `--privileged`: every capability the host has, mount works, /proc/sys is writable, the
/// host's device nodes are there and open as they do on the host (a loop device). Compared
/// with dockerd where its runc can start a privileged container at all (it cannot where the
/// host's bounding set lacks a capability it knows: "unable to apply caps").
#[test]
fn privileged_has_it_all_needs_dockerd() {
    let Some(e) = env() else { return };
    let host_opens = |p: &str| {
        if std::fs::File::open(p).is_ok() {
            "opened"
        } else {
            "denied"
        }
    };
    let script = format!(
        "{TRY_OPEN_R}; {TRY_OPEN_W}; grep ^CapEff /proc/self/status; \
         mkdir /m; mount -t tmpfs none /m && echo mounted; tw /proc/sys/kernel/panic; \
         mknod /loop b 7 0; tr_ /loop; tr_ /dev/loop0; ls /dev | grep -qx kmsg && echo has-kmsg"
    );
    let host_caps = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .unwrap()
        .trim_start_matches("CapBnd:")
        .trim()
        .to_string();
    let loop0 = host_opens("/dev/loop0");
    let r = e.ours(&["--privileged"], &script);
    assert_eq!(
        r.out,
        format!(
            "CapEff:\t{host_caps}\nmounted\n/proc/sys/kernel/panic writable\n/loop {loop0}\n\
             /dev/loop0 {loop0}\nhas-kmsg\n"
        )
    );
    // The host's device nodes, with their numbers and modes.
    let list = "find /dev -type b -o -type c | sort | xargs ls -ln | awk '{print $1, $5, $6, $NF}'";
    let ours = e.ours(&["--privileged"], list);
    if let Some(theirs) = e.theirs_opt(&["--privileged"], &script) {
        assert_eq!(r, theirs, "muelle (left) vs dockerd (right)");
        assert_eq!(Some(&ours), e.theirs_opt(&["--privileged"], list).as_ref());
    }
    let host = Command::new("sh").args(["-c", list]).output().expect("sh");
    let host = String::from_utf8_lossy(&host.stdout);
    let skip =
        |l: &&str| l.contains("/dev/pts/") || l.contains("/dev/console") || l.contains("/dev/ptmx");
    let want: Vec<&str> = host.lines().filter(|l| !skip(l)).collect();
    let got: Vec<&str> = ours.out.lines().filter(|l| !skip(l)).collect();
    for w in &want {
        assert!(
            got.contains(w),
            "host device {w} missing in a privileged container:\n{}",
            ours.out
        );
    }
}

#[test]
fn cap_add_and_cap_drop_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let net = "ip link set lo mtu 1300 && ip -o link show lo | grep -o 'mtu [0-9]*'; \
        ip addr add 127.1.2.3/32 dev lo && echo addr-added";
    let r = e.same(&["--cap-add", "NET_ADMIN"], net);
    assert_eq!(r.out, "mtu 1300\naddr-added\n");
    let r = e.same(&[], net);
    assert_eq!(r.out, "");
    let chown = "touch /f; chown 1:1 /f && echo chowned; id -u";
    let r = e.same(&["--cap-drop", "ALL"], chown);
    assert_eq!(r.out, "0\n");
    let r = e.same(&["--cap-drop", "ALL"], "grep ^Cap[EPB] /proc/self/status");
    assert!(
        r.out.lines().all(|l| l.ends_with("0000000000000000")),
        "{}",
        r.out
    );
}

/// A static program that prints its effective uid.
fn euid_program(dir: &Path) -> Option<std::path::PathBuf> {
    let src = dir.join("euid.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"euid=%d\\n\",(int)geteuid());return 0;}\n",
    )
    .unwrap();
    let bin = dir.join("euid");
    let Ok(o) = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
    else {
        missing("gcc (build-essential)");
        return None;
    };
    assert!(o.status.success(), "gcc: {}", text(&o));
    Some(bin)
}

/// `--security-opt no-new-privileges`: a setuid-root binary in the image does not elevate a
/// non-root user (it does without the option).
#[test]
fn no_new_privileges_stops_setuid_needs_dockerd() {
    let Some(e) = env() else { return };
    let Some(bin) = euid_program(e.scratch.path()) else {
        return;
    };
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let u = unique();
    let base = format!("hard-nnp-{u}");
    let image = format!("hard-nnp-{u}:suid");
    e.d.docker_ok(&["create", "--name", &base, "busybox", "true"]);
    e.d.docker_ok(&["cp", bin.to_str().unwrap(), &format!("{base}:/suid")]);
    e.d.docker_ok(&["commit", &base, &image]);
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", "none", "-u", "1000:1000"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&[
            &image,
            "sh",
            "-c",
            "ls -ln /suid | cut -c1-10; /suid; grep ^NoNewPrivs /proc/self/status",
        ]);
        e.d.docker_ok(&a)
    };
    assert_eq!(run(&[]), "-rwsr-xr-x\neuid=0\nNoNewPrivs:\t0\n");
    assert_eq!(
        run(&["--security-opt", "no-new-privileges"]),
        "-rwsr-xr-x\neuid=1000\nNoNewPrivs:\t1\n"
    );
    assert_eq!(
        run(&["--security-opt", "no-new-privileges:true"]),
        "-rwsr-xr-x\neuid=1000\nNoNewPrivs:\t1\n"
    );
    let _ = e.d.docker(&["rmi", "-f", &image]);
}

/// `--read-only`: nothing under / can be created or changed (nor remounted), a `--tmpfs`
/// is writable; as on dockerd.
#[test]
fn read_only_rootfs_with_tmpfs_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let script = "touch /x 2>/dev/null && echo root-writable; \
        echo x >> /etc/passwd 2>/dev/null && echo passwd-writable; \
        mkdir /d 2>/dev/null && echo mkdir-ok; \
        mount -o remount,rw / 2>/dev/null && echo remounted; \
        touch /tmp/x && echo tmp-ok; grep ' /tmp ' /proc/mounts | cut -d' ' -f3";
    let r = e.same(&["--read-only", "--tmpfs", "/tmp"], script);
    assert_eq!(r.out, "tmp-ok\ntmpfs\n");
}

/// `-v host:ctr:ro`: neither writes, nor a remount, nor a rename reach the host file.
#[test]
fn read_only_volume_keeps_the_host_file_needs_dockerd() {
    let Some(e) = env() else { return };
    let dir = e.scratch.path().join("vol");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keep"), "host data\n").unwrap();
    let v = format!("{}:/v:ro", dir.display());
    let script = "echo pwned > /v/keep 2>/dev/null && echo wrote; \
        echo pwned >> /v/keep 2>/dev/null && echo appended; \
        touch /v/new 2>/dev/null && echo created; mv /v/keep /v/moved 2>/dev/null && echo moved; \
        rm -f /v/keep 2>/dev/null; mount -o remount,rw /v 2>/dev/null && echo remounted; \
        cat /v/keep";
    let ours = e.ours(&["-v", &v], script);
    assert_eq!(ours.out, "host data\n");
    // The privileged can remount it, but that is what --privileged means; the default
    // cannot. Same answer as dockerd's.
    let theirs = e.theirs(&["-v", &v], script);
    assert_eq!(ours, theirs);
    assert_eq!(
        std::fs::read_to_string(dir.join("keep")).unwrap(),
        "host data\n"
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

/// `--tmpfs /x:noexec`: a program copied there does not run (and `exec` mode does).
#[test]
fn noexec_tmpfs_refuses_to_run_programs_as_on_dockerd_needs_dockerd() {
    let Some(e) = env() else { return };
    let script = "cp /bin/busybox /x/sh && echo copied; /x/sh -c true 2>/dev/null && echo RAN; \
        grep ' /x ' /proc/mounts | grep -o noexec";
    let r = e.same(&["--tmpfs", "/x:noexec"], script);
    assert_eq!(r.out, "copied\nnoexec\n");
    let r = e.same(
        &["--tmpfs", "/x:exec"],
        "cp /bin/busybox /x/sh && /x/sh -c true && echo RAN",
    );
    assert_eq!(r.out, "RAN\n");
}
