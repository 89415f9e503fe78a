#![allow(clippy::unwrap_used)]

use super::*;
use muelle_types::container::{DeviceRequest, WeightDevice};

fn mapping(host: &str, ctr: &str, perms: &str) -> DeviceMapping {
    DeviceMapping {
        path_on_host: host.into(),
        path_in_container: ctr.into(),
        cgroup_permissions: perms.into(),
    }
}

#[test]
fn a_device_node_keeps_its_numbers_and_mode() {
    let (d, r) = from_mapping(&mapping("/dev/null", "/dev/n", "r")).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path(), Path::new("/dev/n"));
    assert_eq!(
        (d[0].typ(), d[0].major(), d[0].minor()),
        (LinuxDeviceType::C, 1, 3)
    );
    assert_eq!(d[0].file_mode(), Some(0o666));
    assert_eq!(r[0].access().as_deref(), Some("r"));
    assert_eq!((r[0].major(), r[0].minor()), (Some(1), Some(3)));
}

#[test]
fn a_directory_stands_for_the_devices_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink("/dev/null", sub.join("null")).unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    // No device under it: dockerd's message.
    let e = from_mapping(&mapping(dir.path().to_str().unwrap(), "/d", "rwm")).unwrap_err();
    assert!(e.ends_with(": not a device node"), "{e}");
    // /dev holds devices: each under the container path.
    let (d, _) = from_mapping(&mapping("/dev", "/hostdev", "rwm")).unwrap();
    assert!(d.iter().any(|d| d.path() == Path::new("/hostdev/null")));
    assert!(d.iter().all(|d| d.path().starts_with("/hostdev")));
}

#[test]
fn a_missing_device_is_dockerds_message() {
    let e = from_mapping(&mapping("/nonexistent", "/nonexistent", "rwm")).unwrap_err();
    assert_eq!(
        e,
        "error gathering device information while adding custom device \"/nonexistent\": no such file or directory"
    );
    let e = from_mapping(&mapping("/etc/hostname", "", "rwm")).unwrap_err();
    assert!(e.ends_with("not a device node"), "{e}");
}

#[test]
fn cgroup_rules() {
    let r = cgroup_rule("c 1:3 rwm").unwrap();
    assert_eq!(
        (r.typ(), r.major(), r.minor()),
        (Some(LinuxDeviceType::C), Some(1), Some(3))
    );
    let r = cgroup_rule("a *:* r").unwrap();
    assert_eq!(
        (r.typ(), r.major(), r.minor()),
        (Some(LinuxDeviceType::A), None, None)
    );
    for bad in [
        "bogus",
        "c 1:3",
        "x 1:3 r",
        "c 1:3 rwmr",
        "c 1: r",
        "c a:3 r",
        "c 1:3 q",
        "c  1:3 r",
    ] {
        assert_eq!(
            cgroup_rule(bad).unwrap_err(),
            format!("invalid device cgroup rule format: '{bad}'")
        );
    }
}

#[test]
fn create_refuses_what_could_never_start() {
    let hc = |f: &dyn Fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        f(&mut h);
        check(&h)
    };
    assert!(hc(&|_| {}).is_ok());
    assert!(hc(&|h| h.devices = Some(vec![mapping("/dev/null", "/dev/x", "rw")])).is_ok());
    // Privileged and the same path: the host's node is there anyway, unchecked (dockerd).
    assert!(hc(&|h| {
        h.privileged = true;
        h.devices = Some(vec![mapping("/nonexistent", "/nonexistent", "rwm")]);
    })
    .is_ok());
    assert_eq!(
        hc(&|h| h.devices = Some(vec![mapping("/dev/null", "/dev/x", "rwx")])).unwrap_err(),
        "bad mode specified: rwx"
    );
    assert_eq!(
        hc(&|h| h.devices = Some(vec![mapping("/dev/null", "x", "rw")])).unwrap_err(),
        "x is not an absolute path"
    );
    assert_eq!(
        hc(&|h| {
            h.device_requests = Some(vec![DeviceRequest {
                count: -1,
                capabilities: Some(vec![vec!["gpu".into()]]),
                ..DeviceRequest::default()
            }])
        })
        .unwrap_err(),
        "could not select device driver \"\" with capabilities: [[gpu]]"
    );
    assert_eq!(
        hc(&|h| {
            h.blkio_weight_device = Some(vec![WeightDevice {
                path: "/nonexist".into(),
                weight: 100,
            }])
        })
        .unwrap_err(),
        "stat /nonexist: no such file or directory"
    );
}

#[test]
fn blkio_devices_become_numbers() {
    let hc = HostConfig {
        blkio_device_read_bps: Some(vec![ThrottleDevice {
            path: "/dev/null".into(),
            rate: 1 << 20,
        }]),
        blkio_device_write_iops: Some(vec![ThrottleDevice {
            path: "/dev/zero".into(),
            rate: 10,
        }]),
        ..HostConfig::default()
    };
    let mut r = LinuxResources::default();
    add_blkio(&hc, &mut r).unwrap();
    let b = r.block_io().as_ref().unwrap();
    let rb = b.throttle_read_bps_device().as_ref().unwrap();
    assert_eq!(
        (rb[0].major(), rb[0].minor(), rb[0].rate()),
        (1, 3, 1 << 20)
    );
    let wi = b.throttle_write_iops_device().as_ref().unwrap();
    assert_eq!((wi[0].major(), wi[0].minor(), wi[0].rate()), (1, 5, 10));
    assert!(b.throttle_write_bps_device().is_none());
}

#[test]
fn privileged_keeps_only_renamed_devices_and_no_rules() {
    let hc = HostConfig {
        privileged: true,
        devices: Some(vec![
            mapping("/dev/null", "/dev/null", "r"),
            mapping("/dev/zero", "/dev/z", "r"),
        ]),
        device_cgroup_rules: Some(vec!["c 1:3 r".into()]),
        ..HostConfig::default()
    };
    let (d, r) = for_spec(&hc).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path(), Path::new("/dev/z"));
    assert!(r.is_empty());
}
