//! The storage options beyond `-v` and named volumes, through the stock docker CLI against
//! a private muelled and, where dockerd 20.10 has the option, the same commands against the
//! shared dockerd (unix:///run/docker.sock): `--volumes-from` (data written through one
//! container seen through the other, the `ro` override, inspect's `VolumesFrom` and
//! `Mounts`), `--mount type=tmpfs` with size and mode (seen by `df` inside), a bind source
//! that is a symlink, the `local` driver's `type/device/o` (tmpfs and bind; mounted while
//! used, gone after), `volume-subpath`, `docker cp -a`, and the bad inputs (a missing bind
//! source, an unknown mount type, an unknown container, an unknown volume driver, a network
//! filesystem): dockerd's error, and nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";

/// A private muelled with busybox, dockerd beside it, and what each test made on dockerd
/// (removed on drop, failed or not).
struct Env {
    d: Daemon,
    scratch: tempfile::TempDir,
    their_containers: std::cell::RefCell<Vec<String>>,
    their_volumes: std::cell::RefCell<Vec<String>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for n in self.their_containers.borrow().iter() {
            let _ = dockerd(&["rm", "-f", n]);
        }
        for v in self.their_volumes.borrow().iter() {
            let _ = dockerd(&["volume", "rm", "-f", v]);
        }
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn dockerd(args: &[&str]) -> Output {
    Command::new(DOCKER)
        .args(["-H", DOCKERD])
        .args(args)
        .output()
        .expect("run docker")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn unique(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "muelle-st-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn env(with_dockerd: bool) -> Env {
    require!(DOCKER);
    if with_dockerd {
        let ready = dockerd(&["image", "inspect", "busybox"]);
        assert!(
            ready.status.success(),
            "dockerd at /run/docker.sock with the busybox image is needed (scripts/peers.sh up)"
        );
    }
    let scratch = tempfile::Builder::new()
        .prefix("muelle-st-")
        .tempdir_in("/var/tmp")
        .unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Env {
        d: daemon_with_busybox(),
        scratch,
        their_containers: Default::default(),
        their_volumes: Default::default(),
    }
}

/// Which daemon a command goes to.
#[derive(Clone, Copy, Debug)]
enum Side {
    Ours,
    Theirs,
}

impl Env {
    /// `docker ARGS` on one side; the names in `args` are recorded for removal on dockerd.
    fn on(&self, side: Side, args: &[&str]) -> Output {
        match side {
            Side::Ours => self.d.docker(args),
            Side::Theirs => {
                if let Some(i) = args.iter().position(|a| *a == "--name") {
                    self.their_containers
                        .borrow_mut()
                        .push(args[i + 1].to_string());
                }
                if args.starts_with(&["volume", "create"]) {
                    if let Some(v) = args.last() {
                        self.their_volumes.borrow_mut().push(v.to_string());
                    }
                }
                dockerd(args)
            }
        }
    }

    fn ok(&self, side: Side, args: &[&str]) -> String {
        let o = self.on(side, args);
        assert!(
            o.status.success(),
            "{side:?}: docker {args:?} failed: {}\n{}",
            text(&o),
            match side {
                Side::Ours => self.d.log(),
                Side::Theirs => String::new(),
            }
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The same command on both; the same stdout, which it returns.
    fn same_ok(&self, args: &[&str]) -> String {
        let ours = self.ok(Side::Ours, args);
        let theirs = self.ok(Side::Theirs, args);
        assert_eq!(
            ours, theirs,
            "muelled (left) vs dockerd (right) for {args:?}"
        );
        ours
    }

    fn path(&self, name: &str) -> String {
        self.scratch.path().join(name).display().to_string()
    }
}

/// The line of the error a failed `docker run/create` printed (`docker: Error response from
/// daemon: X` → `X`).
fn daemon_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .find_map(|l| l.split_once("Error response from daemon: ").map(|(_, m)| m))
        .unwrap_or_else(|| panic!("no daemon error in {err}"))
        .to_string()
}

/// A container's mounts as comparable between daemons: type, destination, RW, mode and
/// propagation, sorted by destination (sources and volume names differ by daemon).
fn mounts_shape(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} rw={} mode={:?} prop={:?}",
                m["Type"], m["Destination"], m["RW"], m["Mode"], m["Propagation"]
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn volumes_from_shares_every_mount_needs_dockerd() {
    let e = env(true);
    let bind = e.path("bind");
    std::fs::create_dir(&bind).unwrap();
    std::fs::write(Path::new(&bind).join("f"), "from the host\n").unwrap();
    let vol = unique("vol");
    let src = unique("src");
    let dst = unique("dst");
    for side in [Side::Ours, Side::Theirs] {
        e.ok(side, &["volume", "create", &vol]);
        // The source container never runs: its mounts are what counts.
        e.ok(
            side,
            &[
                "create",
                "--name",
                &src,
                "-v",
                &format!("{vol}:/va"),
                "-v",
                &format!("{bind}:/b:ro"),
                "-v",
                "/anon",
                "busybox",
                "true",
            ],
        );
    }
    let script = "echo through-one > /va/x && echo anon > /anon/y && cat /b/f && \
        (touch /b/nope 2>/dev/null && echo b-writable || echo b-read-only)";
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volumes-from",
        &src,
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out, "from the host\nb-read-only\n");
    // Seen through the other container, read-only when asked.
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volumes-from",
        &format!("{src}:ro"),
        "busybox",
        "sh",
        "-c",
        "cat /va/x /anon/y; (touch /va/z 2>/dev/null && echo writable || echo read-only)",
    ]);
    assert_eq!(out, "through-one\nanon\nread-only\n");
    // inspect: VolumesFrom as given; the mounts with the override, the own bind winning.
    let tmp = e.path("other");
    std::fs::create_dir(&tmp).unwrap();
    let mut shapes = Vec::new();
    for side in [Side::Ours, Side::Theirs] {
        e.ok(
            side,
            &[
                "create",
                "--name",
                &dst,
                "--volumes-from",
                &format!("{src}:ro"),
                "-v",
                &format!("{tmp}:/b"),
                "busybox",
                "true",
            ],
        );
        let from = e.ok(
            side,
            &["inspect", "-f", "{{json .HostConfig.VolumesFrom}}", &dst],
        );
        assert_eq!(from.trim(), format!("[\"{src}:ro\"]"), "{side:?}");
        let mounts = e.ok(side, &["inspect", "-f", "{{json .Mounts}}", &dst]);
        shapes.push(mounts_shape(&mounts));
        // The volume is in use by both containers: not removable, and `rm -v` of the
        // borrower keeps the lender's anonymous volume.
        let rm = e.on(side, &["volume", "rm", &vol]);
        assert!(!rm.status.success(), "{side:?}: {}", text(&rm));
        let anon = e.ok(
            side,
            &[
                "inspect",
                "-f",
                "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}",
                &src,
            ],
        );
        e.ok(side, &["rm", "-v", &dst]);
        e.ok(side, &["volume", "inspect", anon.trim()]);
        e.ok(side, &["rm", "-v", &src]);
        let gone = e.on(side, &["volume", "inspect", anon.trim()]);
        assert!(!gone.status.success(), "{side:?}: anonymous volume kept");
        e.ok(side, &["volume", "rm", &vol]);
    }
    assert_eq!(shapes[0], shapes[1], "muelled (left) vs dockerd (right)");
    assert!(
        shapes[0].iter().any(|s| s.contains("\"/va\" rw=false")),
        "{:?}",
        shapes[0]
    );
}

#[test]
fn bad_mounts_fail_clearly_and_leave_nothing_needs_dockerd() {
    let e = env(true);
    let before = e.ok(Side::Ours, &["volume", "ls", "-q"]);
    for args in [
        vec!["--mount", "type=bind,src=/nonexistent-muelle-st,dst=/x"],
        vec!["--mount", "type=bogus,dst=/x"],
        vec!["--volumes-from", "nosuch-muelle-st"],
        vec!["--volumes-from", "nosuch-muelle-st:rshared"],
        vec!["--mount", "type=tmpfs,src=/a,dst=/x"],
        vec!["--mount", "type=volume,dst=/x,readonly"],
    ] {
        let name = unique("bad");
        let mut full = vec!["create", "--name", &name];
        full.extend(&args);
        full.extend(["busybox", "true"]);
        let ours = e.on(Side::Ours, &full);
        let theirs = e.on(Side::Theirs, &full);
        assert!(!ours.status.success(), "{args:?}: {}", text(&ours));
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{args:?}: {} / {}",
            text(&ours),
            text(&theirs)
        );
        assert_eq!(daemon_error(&ours), daemon_error(&theirs), "{args:?}");
        assert_eq!(
            e.ok(
                Side::Ours,
                &["ps", "-aq", "--filter", &format!("name={name}")]
            ),
            "",
            "{args:?} left a container"
        );
    }
    // An unknown volume driver is dockerd's 404 (the CLI would then try a pull), so it is
    // asked for directly; the volume is not made.
    let vol = unique("drv");
    for body in [
        format!(
            r#"{{"Image":"busybox","HostConfig":{{"Mounts":[{{"Type":"volume","Source":"{vol}","Target":"/x","VolumeOptions":{{"DriverConfig":{{"Name":"nosuch"}}}}}}]}}}}"#
        ),
        format!(
            r#"{{"Image":"busybox","HostConfig":{{"VolumeDriver":"nosuch","Binds":["{vol}:/x"]}}}}"#
        ),
    ] {
        let ours =
            e.d.http("POST", "/v1.41/containers/create", body.as_bytes());
        let theirs = support::http(
            Path::new("/run/docker.sock"),
            "POST",
            "/v1.41/containers/create",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(ours.status, 404, "{}", ours.text());
        assert_eq!(theirs.status, 404, "{}", theirs.text());
        assert_eq!(ours.message(), theirs.message());
        assert!(ours.message().contains("plugin \"nosuch\" not found"));
    }
    assert_eq!(e.ok(Side::Ours, &["volume", "ls", "-q"]), before);
    assert_eq!(e.ok(Side::Ours, &["ps", "-aq"]), "");
}

#[test]
fn tmpfs_mounts_and_symlinked_bind_sources_needs_dockerd() {
    let e = env(true);
    let script = "grep ' /t ' /proc/mounts | cut -d' ' -f3,4; df -k /t | tail -1 | \
        awk '{print $2}'; stat -c %a /t";
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(
        out,
        "tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770\n1024\n1770\n"
    );
    // A bind source that is a symlink: Docker binds what it points to, both ways of asking.
    let real = e.path("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(Path::new(&real).join("f"), "target\n").unwrap();
    let link = e.path("link");
    symlink(&real, &link).unwrap();
    for m in [
        vec![
            "--mount".to_string(),
            format!("type=bind,src={link},dst=/x"),
        ],
        vec!["-v".to_string(), format!("{link}:/x")],
    ] {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend(m.iter().map(String::as_str));
        args.extend(["busybox", "cat", "/x/f"]);
        assert_eq!(e.same_ok(&args), "target\n");
    }
    // Shared or slave propagation needs a host mount that propagates: dockerd's check.
    for prop in ["rshared", "slave"] {
        let m = format!("type=bind,src={real},dst=/x,bind-propagation={prop}");
        let args = [
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            &m,
            "busybox",
            "true",
        ];
        let (ours, theirs) = (e.on(Side::Ours, &args), e.on(Side::Theirs, &args));
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{prop}: {}",
            text(&ours)
        );
        if !theirs.status.success() {
            assert_eq!(daemon_error(&ours), daemon_error(&theirs), "{prop}");
            assert!(
                daemon_error(&ours).contains("but it is not a shared"),
                "{prop}"
            );
        }
    }
    assert_eq!(e.ok(Side::Ours, &["ps", "-aq"]), "");
    // `-v` with a missing host directory makes it (dockerd's rule for -v, not --mount).
    let made = e.path("made-by-v");
    e.ok(
        Side::Ours,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{made}/sub:/m"),
            "busybox",
            "true",
        ],
    );
    assert!(Path::new(&made).join("sub").is_dir());
}

#[test]
fn local_driver_options_mount_while_used_needs_dockerd() {
    let e = env(true);
    let tv = unique("tmpfsvol");
    let bv = unique("bindvol");
    let dir = e.path("device");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(Path::new(&dir).join("f"), "on the device\n").unwrap();
    for side in [Side::Ours, Side::Theirs] {
        e.ok(
            side,
            &[
                "volume",
                "create",
                "--driver",
                "local",
                "--opt",
                "type=tmpfs",
                "--opt",
                "device=tmpfs",
                "--opt",
                "o=size=100m,uid=1000",
                &tv,
            ],
        );
        e.ok(
            side,
            &[
                "volume",
                "create",
                "--opt",
                "type=none",
                "--opt",
                "o=bind",
                "--opt",
                &format!("device={dir}"),
                &bv,
            ],
        );
    }
    let opts = e.same_ok(&["volume", "inspect", "-f", "{{json .Options}}", &tv]);
    assert!(opts.contains("size=100m,uid=1000"), "{opts}");
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{tv}:/d"),
        "busybox",
        "sh",
        "-c",
        "df -k /d | tail -1 | awk '{print $2}'; stat -c %u /d; echo x > /d/f",
    ]);
    assert_eq!(out, "102400\n1000\n");
    // Unmounted when the last user stopped: the next container sees a new, empty tmpfs.
    let data = e.d.data_root.join("volumes").join(&tv).join("_data");
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(
        !mounts.contains(data.to_str().unwrap()),
        "the tmpfs stayed mounted"
    );
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{tv}:/d"),
        "busybox",
        "ls",
        "/d",
    ]);
    assert_eq!(out, "");
    let out = e.same_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{bv}:/d"),
        "busybox",
        "cat",
        "/d/f",
    ]);
    assert_eq!(out, "on the device\n");
    // A network filesystem is refused at create on muelled (no network here), and nothing
    // is made.
    let nv = unique("nfsvol");
    let o = e.on(
        Side::Ours,
        &[
            "volume",
            "create",
            "--opt",
            "type=nfs",
            "--opt",
            "device=:/export",
            "--opt",
            "o=addr=10.0.0.1",
            &nv,
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("network filesystems are not supported"),
        "{}",
        text(&o)
    );
    assert!(!e
        .on(Side::Ours, &["volume", "inspect", &nv])
        .status
        .success());
    for side in [Side::Ours, Side::Theirs] {
        e.ok(side, &["volume", "rm", &tv, &bv]);
    }
}

/// The docker CLI 28 (`volume-subpath` is newer than Debian's 20.10 CLI).
const DOCKER_28: &str = "/usr/local/bin/docker";

#[test]
fn volume_subpath_needs_docker() {
    let e = env(false);
    require!(DOCKER_28);
    let new_cli = |args: &[&str]| {
        let c = e.d.docker_command();
        Command::new(DOCKER_28)
            .envs(
                c.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .env_remove("DOCKER_API_VERSION")
            .args(args)
            .output()
            .expect("run docker 28")
    };
    let v = unique("subvol");
    e.ok(Side::Ours, &["volume", "create", &v]);
    e.ok(
        Side::Ours,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            &format!("{v}:/d"),
            "busybox",
            "sh",
            "-c",
            "mkdir -p /d/sub && echo in-sub > /d/sub/f && ln -s / /d/escape",
        ],
    );
    let o = new_cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &format!("type=volume,src={v},dst=/s,volume-subpath=sub"),
        "busybox",
        "cat",
        "/s/f",
    ]);
    assert_eq!(text(&o), "in-sub\n", "{}", e.d.log());
    for (sub, want) in [
        ("nope", "cannot access path"),
        ("escape", "cannot access path"),
    ] {
        let o = new_cli(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--mount",
            &format!("type=volume,src={v},dst=/s,volume-subpath={sub}"),
            "busybox",
            "ls",
            "/s",
        ]);
        assert!(!o.status.success(), "subpath {sub}: {}", text(&o));
        assert!(text(&o).contains(want), "subpath {sub}: {}", text(&o));
    }
    let o = new_cli(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        "type=volume,dst=/s,volume-subpath=sub",
        "busybox",
        "true",
    ]);
    assert!(
        text(&o).contains("must not set Subpath when using anonymous volumes"),
        "{}",
        text(&o)
    );
    assert_eq!(e.ok(Side::Ours, &["ps", "-aq"]), "");
    e.ok(Side::Ours, &["volume", "rm", &v]);
}

#[test]
fn cp_archive_owns_as_dockerd_needs_dockerd() {
    let e = env(true);
    let dir = e.path("owned");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(Path::new(&dir).join("f"), "x\n").unwrap();
    for p in [dir.clone(), format!("{dir}/f")] {
        std::os::unix::fs::chown(&p, Some(1234), Some(5678)).unwrap();
    }
    let mut outs = Vec::new();
    for side in [Side::Ours, Side::Theirs] {
        let mut seen = String::new();
        for user in [None, Some("nobody")] {
            let name = unique("cp");
            let mut args = vec!["create", "--name", &name, "--network", "none"];
            if let Some(u) = user {
                args.extend(["-u", u]);
            }
            args.extend(["busybox", "sleep", "60"]);
            e.ok(side, &args);
            e.ok(side, &["cp", &dir, &format!("{name}:/plain")]);
            e.ok(side, &["cp", "-a", &dir, &format!("{name}:/arch")]);
            e.ok(side, &["start", &name]);
            seen += &e.ok(
                side,
                &[
                    "exec", &name, "stat", "-c", "%n %u:%g", "/plain", "/plain/f", "/arch",
                    "/arch/f",
                ],
            );
            e.ok(side, &["rm", "-f", &name]);
        }
        outs.push(seen);
    }
    assert_eq!(outs[0], outs[1], "muelled (left) vs dockerd (right)");
    assert!(outs[0].contains("/arch/f 65534:65534"), "{}", outs[0]);
    assert!(outs[0].contains("/plain/f 1234:5678"), "{}", outs[0]);
}

/// Unmounts a test's mount even when the test fails.
struct Unmount(String);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-l", &self.0]).status();
    }
}

#[test]
fn bind_recursion_options_needs_docker() {
    let e = env(false);
    require!(DOCKER_28);
    let top = e.path("top");
    let sub = format!("{top}/sub");
    std::fs::create_dir_all(&sub).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs", &sub])
        .status()
        .unwrap();
    assert!(st.success(), "mount a tmpfs on {sub}");
    let _guard = Unmount(sub.clone());
    std::fs::write(format!("{sub}/f"), "in the submount\n").unwrap();
    let run = |mount: &str, script: &str| {
        let c = e.d.docker_command();
        let o = Command::new(DOCKER_28)
            .envs(
                c.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .args(["run", "--rm", "--network", "none", "--mount", mount])
            .args(["busybox", "sh", "-c", script])
            .output()
            .expect("run docker 28");
        assert!(o.status.success(), "{mount}: {}\n{}", text(&o), e.d.log());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let probe = "cat /x/sub/f 2>/dev/null || echo no-submount; \
        (touch /x/sub/w 2>/dev/null && echo sub-writable) || echo sub-read-only";
    // The default: recursive, the submount writable under a read-only bind (as Docker 24).
    assert_eq!(
        run(
            &format!("type=bind,src={top},dst=/x,readonly,bind-recursive=writable"),
            probe
        ),
        "in the submount\nsub-writable\n"
    );
    assert_eq!(
        run(
            &format!("type=bind,src={top},dst=/x,readonly,bind-recursive=readonly,bind-propagation=rprivate"),
            probe
        ),
        "in the submount\nsub-read-only\n"
    );
    assert_eq!(
        run(
            &format!("type=bind,src={top},dst=/x,bind-recursive=disabled"),
            probe
        ),
        "no-submount\nsub-writable\n"
    );
}
