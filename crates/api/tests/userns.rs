//! Containers under muelled's `userns-remap`, run for real with the stock docker CLI: root
//! inside is the first subordinate uid of `dockremap` on the host; the rootfs and volumes are
//! idmapped (root-owned inside, unshifted on disk); host binds are not, so the container's
//! root cannot do there what host root can; `--userns host` and dockerd's refusals. The
//! shared dockerd has no remapping: only `--userns host` and the CLI's own checks compare.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};

use support::{
    busybox_tar, kill_shims_and_unmount, remove_all_containers, shim_binary, Daemon, DOCKER,
};

const DOCKERD: &str = "unix:///run/docker.sock";

struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

/// A muelled remapping to `dockremap` (made if missing), through daemon.json or the flag,
/// with busybox loaded.
fn env(through_file: bool) -> Env {
    require!(DOCKER);
    shim_binary();
    let d = if through_file {
        let mut d = Daemon::start();
        std::fs::write(
            d.dir.path().join("daemon.json"),
            r#"{"userns-remap": "default"}"#,
        )
        .unwrap();
        d.restart();
        d
    } else {
        Daemon::start_with(&["--userns-remap=default"])
    };
    let tar = busybox_tar();
    let out = d.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
    assert!(out.status.success(), "docker load: {out:?}\n{}", d.log());
    let scratch = tempfile::Builder::new()
        .prefix("muelle-userns-")
        .tempdir_in("/var/tmp")
        .unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Env { d, scratch }
}

/// `dockremap`'s first subordinate uid and gid and the range size, from /etc/subuid and
/// /etc/subgid.
fn dockremap_ranges() -> ((u32, u32), (u32, u32)) {
    let first = |file: &str| {
        let text = std::fs::read_to_string(file).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("dockremap:"))
            .unwrap_or_else(|| panic!("no dockremap range in {file}:\n{text}"));
        let f: Vec<u32> = line
            .split(':')
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        (f[0], f[1])
    };
    (first("/etc/subuid"), first("/etc/subgid"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn norm(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Env {
    fn run(&self, args: &[&str], script: &str) -> String {
        let mut a = vec!["run", "--rm"];
        a.extend(args);
        a.extend(["busybox", "sh", "-c", script]);
        self.d.docker_ok(&a)
    }

    fn refused(&self, args: &[&str]) -> String {
        let mut a = vec!["run", "--rm"];
        a.extend(args);
        a.extend(["busybox", "true"]);
        self.d.docker_err(&a)
    }
}

#[test]
fn root_inside_is_a_subordinate_uid_on_the_host_needs_docker() {
    let e = env(false);
    let ((uid, size), (gid, gsize)) = dockremap_ranges();
    let out = e.run(
        &[],
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g",
    );
    assert_eq!(norm(&out), format!("0 {uid} {size}\n0 {gid} {gsize}\n0\n0"));
    // Seen from the host, the container's processes run as that uid, exec'd ones too.
    let name = "userns-top";
    e.d.docker_ok(&["run", "-d", "--name", name, "busybox", "sleep", "300"]);
    let pid = e.d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", name]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let host_uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap();
    assert_eq!(host_uid, uid.to_string(), "{status}");
    let exec = e.d.docker_ok(&["exec", name, "cat", "/proc/self/uid_map"]);
    assert_eq!(norm(&exec), format!("0 {uid} {size}"));
    // Inspect shows no mode of its own, as dockerd under remapping.
    let mode =
        e.d.docker_ok(&["inspect", "-f", "[{{.HostConfig.UsernsMode}}]", name]);
    assert_eq!(mode, "[]\n");
    // A container joining the pid and IPC namespaces of a remapped one shares its user
    // namespace too (its /proc and /dev/shm belong to that namespace).
    let donor = "userns-donor";
    e.d.docker_ok(&[
        "run",
        "-d",
        "--name",
        donor,
        "--ipc",
        "shareable",
        "busybox",
        "sh",
        "-c",
        "echo shared > /dev/shm/s; exec sleep 300",
    ]);
    let donor_user =
        e.d.docker_ok(&["exec", donor, "readlink", "/proc/self/ns/user"]);
    let out = e.run(
        &[
            "--pid",
            &format!("container:{donor}"),
            "--ipc",
            &format!("container:{donor}"),
        ],
        "cat /proc/1/comm /dev/shm/s; readlink /proc/self/ns/user",
    );
    assert_eq!(out, format!("sleep\nshared\n{donor_user}"));
    let info =
        e.d.docker_ok(&["info", "--format", "{{json .SecurityOptions}}"]);
    assert!(info.contains("name=userns"), "{info}");
}

#[test]
fn rootfs_and_volumes_are_idmapped_host_binds_are_not_needs_docker() {
    let e = env(true);
    let ((uid, _), (gid, _)) = dockremap_ranges();
    // The image's files are root's inside and root can change them; the image itself is
    // not shifted (a container without remapping sees the same owners).
    let out = e.run(
        &[],
        "stat -c '%u:%g' / /etc/passwd; echo x >> /etc/passwd && echo rootfs-writable",
    );
    assert_eq!(out, "0:0\n0:0\nrootfs-writable\n");
    let out = e.run(&["--userns", "host"], "stat -c '%u:%g' /etc/passwd");
    assert_eq!(out, "0:0\n");

    // A named volume is idmapped: what root writes there is root's on the host too.
    e.run(
        &["-v", "uvol:/v"],
        "touch /v/made-inside; stat -c '%u' /v/made-inside",
    );
    let mountpoint =
        e.d.docker_ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "uvol"]);
    let made = std::fs::metadata(format!("{}/made-inside", mountpoint.trim())).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));

    // A host bind is not: root inside is the subordinate uid there, as under dockerd.
    let dir = e.scratch.path();
    let open = dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let other = dir.join("other-users-file");
    std::fs::write(&other, "theirs\n").unwrap();
    std::os::unix::fs::chown(&other, Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    let roots = dir.join("roots-file");
    std::fs::write(&roots, "root's\n").unwrap();
    std::fs::set_permissions(&roots, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bind = format!("{}:/b", dir.display());
    let out = e.run(
        &["-v", &bind],
        "touch /b/open/made-inside && echo made; \
         for f in other-users-file roots-file; do \
           if echo x 2>/dev/null >> /b/$f; then echo $f writable; else echo $f denied; fi; \
         done; stat -c '%u' /b/other-users-file",
    );
    // Host root could write both files (CAP_DAC_OVERRIDE); the container's root cannot: it
    // has no capability over ids its namespace does not map, which show as nobody.
    assert_eq!(
        out,
        "made\nother-users-file denied\nroots-file denied\n65534\n"
    );
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "theirs\n");
    assert_eq!(std::fs::read_to_string(&roots).unwrap(), "root's\n");
    let made = std::fs::metadata(open.join("made-inside")).unwrap();
    assert_eq!((made.uid(), made.gid()), (uid, gid));
}

#[test]
fn userns_host_and_what_remapping_refuses_needs_dockerd() {
    let e = env(false);
    // --userns host: the host's ids, as on dockerd (which remaps nothing).
    let ours = e.run(&["--userns", "host"], "cat /proc/self/uid_map");
    let theirs = Command::new(DOCKER)
        .args(["-H", DOCKERD, "run", "--rm", "--userns", "host", "busybox"])
        .args(["cat", "/proc/self/uid_map"])
        .output()
        .unwrap();
    assert!(theirs.status.success(), "{theirs:?}");
    assert_eq!(norm(&ours), norm(&stdout(&theirs)));
    assert_eq!(norm(&ours), "0 0 4294967295");
    // dockerd's refusals under remapping, and nothing made.
    for (args, message) in [
        (&["--privileged"][..], "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"),
        (&["--network", "host"], "cannot share the host's network namespace when user namespaces are enabled"),
        (&["--pid", "host"], "cannot share the host PID namespace when user namespaces are enabled"),
    ] {
        let err = e.refused(args);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert_eq!(e.d.docker_ok(&["ps", "-aq"]), "");
    // With --userns host they run, privileged included.
    let out = e.run(
        &["--privileged", "--userns", "host"],
        "cat /proc/self/uid_map; grep CapEff /proc/self/status",
    );
    assert!(out.contains("4294967295"), "{out}");
    e.run(&["--network", "host", "--userns", "host"], "true");
    // The CLI's own check, as against dockerd.
    let err = e.refused(&["--userns", "bogus"]);
    assert!(err.contains("invalid USER mode"), "{err}");
}
