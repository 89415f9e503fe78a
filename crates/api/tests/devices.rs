//! `--device` and `--device-cgroup-rule` through muelled with the stock docker CLI, each
//! beside the same command on the shared dockerd: the node made in the container with the
//! host's type, numbers and mode, the access its permissions give (a read-only device cannot
//! be opened for writing), a directory standing for every device under it, a cgroup rule
//! making `mknod` and use of a node work, `--privileged` with a device under another name,
//! and bad input refused with dockerd's messages and nothing left behind.
//!
//! Uses an unbound loop device (/dev/loop7, block 7:7: opened, never read or written) and
//! /dev/net/tun; needs dockerd with busybox (a missing one fails the test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::both::Both;

const LOOP: &str = "/dev/loop7";

fn env() -> Both {
    assert!(
        Path::new(LOOP).exists(),
        "{LOOP} is needed (the loop module)"
    );
    assert!(Path::new("/dev/net/tun").exists(), "/dev/net/tun is needed");
    Both::start()
}

/// Opens `$1` for reading and for writing (never reading or writing a byte) and says which
/// worked.
const OPENS: &str =
    "o() { if (: < \"$1\") 2>/dev/null; then echo \"$1 r-ok\"; else echo \"$1 r-denied\"; fi; \
    if (: >> \"$1\") 2>/dev/null; then echo \"$1 w-ok\"; else echo \"$1 w-denied\"; fi; }";

#[test]
fn a_device_node_has_the_hosts_numbers_and_its_permissions_needs_dockerd() {
    let e = env();
    let script = format!("{OPENS}; stat -c '%F %t:%T %a %u:%g' /dev/l; o /dev/l");
    // Read-only: the write open is refused by the device cgroup.
    let r = e.same(&["--device", "/dev/loop7:/dev/l:r"], &script);
    assert_eq!(
        r.out,
        "block special file 7:7 600 0:0\n/dev/l r-ok\n/dev/l w-denied\n"
    );
    // The default permissions (rwm) give both.
    let r = e.same(&["--device", "/dev/loop7:/dev/l"], &script);
    assert!(r.out.ends_with("/dev/l r-ok\n/dev/l w-ok\n"), "{}", r.out);
    // Same path inside as outside, permissions in the second field.
    let r = e.same(
        &["--device", "/dev/loop7:w"],
        &format!("{OPENS}; o /dev/loop7"),
    );
    assert_eq!(r.out, "/dev/loop7 r-denied\n/dev/loop7 w-ok\n");
    // Without --device the node is not there at all.
    let r = e.same(&[], "ls /dev/loop7 2>&1 || true");
    assert!(r.out.contains("No such file"), "{}", r.out);
}

#[test]
fn a_directory_gives_every_device_under_it_needs_dockerd() {
    let e = env();
    let r = e.same(
        &["--device", "/dev/net"],
        "stat -c '%n %F %t:%T' /dev/net/*",
    );
    assert_eq!(r.out, "/dev/net/tun character special file a:c8\n");
    // A directory of our own: a loop device at the top, /dev/null's numbers in a
    // subdirectory, a plain file (left out).
    let dir = tempfile::Builder::new()
        .prefix("muelle-devdir-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("sub")).unwrap();
    std::fs::write(p.join("file"), "x").unwrap();
    for (path, kind, maj, min) in [("l7", "b", "7", "7"), ("sub/n", "c", "1", "3")] {
        let st = std::process::Command::new("mknod")
            .arg(p.join(path))
            .args([kind, maj, min])
            .status()
            .unwrap();
        assert!(st.success(), "mknod {path}");
    }
    let flag = format!("{}:/dev/mine:r", p.display());
    let r = e.same(
        &["--device", &flag],
        &format!("{OPENS}; find /dev/mine | sort; o /dev/mine/l7"),
    );
    assert_eq!(
        r.out,
        "/dev/mine\n/dev/mine/l7\n/dev/mine/sub\n/dev/mine/sub/n\n/dev/mine/l7 r-ok\n/dev/mine/l7 w-denied\n"
    );
}

#[test]
fn a_cgroup_rule_lets_a_node_made_inside_be_used_needs_dockerd() {
    let e = env();
    let script = format!("{OPENS}; mknod /tmp/l b 7 7 && o /tmp/l");
    // mknod is always allowed; using the node is not, unless a rule says so.
    let r = e.same(&[], &script);
    assert_eq!(r.out, "/tmp/l r-denied\n/tmp/l w-denied\n");
    let r = e.same(&["--device-cgroup-rule", "b 7:7 r"], &script);
    assert_eq!(r.out, "/tmp/l r-ok\n/tmp/l w-denied\n");
    let r = e.same(&["--device-cgroup-rule", "b 7:* rw"], &script);
    assert_eq!(r.out, "/tmp/l r-ok\n/tmp/l w-ok\n");
    // The rule is in the container's device cgroup.
    let r = e.same(
        &["--device-cgroup-rule", "b 7:7 rw"],
        "grep '^b 7:7' /sys/fs/cgroup/devices/devices.list",
    );
    assert_eq!(r.out, "b 7:7 rw\n");
}

#[test]
fn privileged_adds_a_device_under_another_name_needs_dockerd() {
    let e = env();
    let flags = ["--privileged", "--device", "/dev/loop7:/dev/renamed:r"];
    let script = format!("{OPENS}; stat -c '%t:%T' /dev/renamed; o /dev/renamed");
    let (ours, theirs) = e.run(&flags, &script);
    // Privileged: every device is allowed, whatever the mapping's permissions.
    assert_eq!(
        ours.out, "7:7\n/dev/renamed r-ok\n/dev/renamed w-ok\n",
        "{ours:?}"
    );
    // dockerd's runc cannot start a privileged container on some hosts (its capability
    // set is wider than this one's bounding set); compared where it can.
    if theirs.code == 125 && theirs.err.contains("OCI runtime create failed") {
        println!(
            "dockerd cannot run a privileged container here: {}",
            theirs.err
        );
    } else {
        assert_eq!((ours.code, &ours.out), (theirs.code, &theirs.out));
    }
}

#[test]
fn bad_devices_are_refused_with_dockerds_messages_and_nothing_made_needs_dockerd() {
    let e = env();
    for (flags, message) in [
        (
            &["--device", "/nonexistent"][..],
            "docker: Error response from daemon: error gathering device information while adding custom device \"/nonexistent\": no such file or directory",
        ),
        (
            &["--device", "/etc/hostname:/dev/h"][..],
            "docker: Error response from daemon: error gathering device information while adding custom device \"/etc/hostname\": not a device node",
        ),
        (
            &["--gpus", "all"][..],
            "docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]]",
        ),
    ] {
        let (ours, theirs) = e.run(flags, "true");
        assert_eq!(ours.message(), message, "{flags:?}");
        assert_eq!(theirs.message(), message, "{flags:?}");
        assert_eq!(ours.code, theirs.code, "{flags:?}");
    }
    // Refused by the docker CLI before any request.
    for flags in [
        &["--device-cgroup-rule", "bogus"][..],
        &["--device", "/dev/loop7:/dev/l:rwx"][..],
        &["--device", "/dev/loop7:l"][..],
    ] {
        let (ours, theirs) = e.run(flags, "true");
        assert_eq!((ours.code, ours.message()), (theirs.code, theirs.message()));
        assert_eq!(ours.code, 125, "{flags:?}");
    }
    // The API refuses what the CLI would have caught, at create.
    let r = e.d.http(
        "POST",
        "/containers/create",
        br#"{"Image":"busybox","HostConfig":{"DeviceCgroupRules":["bogus"]}}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.message(), "invalid device cgroup rule format: 'bogus'");
    // Nothing was made on muelled, with or without --rm.
    let ((r, _), _) = e.create(&["--device", "/nonexistent"], &["true"]);
    assert_ne!(r.code, 0);
    assert!(e.our_names().is_empty(), "{:?}", e.our_names());
}

#[test]
fn inspect_shows_the_devices_as_given_needs_dockerd() {
    let e = env();
    let flags = [
        "--device",
        "/dev/loop7:/dev/l:r",
        "--device-cgroup-rule",
        "b 7:7 r",
    ];
    let ((o, on), (t, tn)) = e.create(&flags, &["true"]);
    assert_eq!((o.code, t.code), (0, 0), "{o:?} {t:?}");
    let f = "{{json .HostConfig.Devices}} {{json .HostConfig.DeviceCgroupRules}}";
    let ours = e.ours(&["inspect", "-f", f, &on]);
    let theirs = e.theirs(&["inspect", "-f", f, &tn]);
    assert_eq!(ours.out, theirs.out);
    assert_eq!(
        ours.out,
        "[{\"PathOnHost\":\"/dev/loop7\",\"PathInContainer\":\"/dev/l\",\"CgroupPermissions\":\"r\"}] [\"b 7:7 r\"]\n"
    );
}
