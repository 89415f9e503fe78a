#![allow(clippy::unwrap_used)]

use super::*;
use muelle_types::container::{ThrottleDevice, WeightDevice};

/// This host's kind: v1 with BFQ-less blkio (throttles only), kmem, OOM switch, swappiness
/// and real-time files.
fn v1_no_weight() -> CgroupCaps {
    CgroupCaps {
        read_bps: true,
        write_bps: true,
        read_iops: true,
        write_iops: true,
        swappiness: true,
        oom_kill_disable: true,
        kernel_memory: true,
        rt_period: true,
        rt_runtime: true,
        ..CgroupCaps::default()
    }
}

fn check(
    caps: &CgroupCaps,
    f: impl Fn(&mut HostConfig),
) -> (HostConfig, Result<Vec<String>, String>) {
    let mut hc = HostConfig::default();
    f(&mut hc);
    let r = check_create(&mut hc, caps).map_err(|e| e.to_string());
    (hc, r)
}

#[test]
fn detects_v1_files_and_v2_controllers() {
    let dir = tempfile::tempdir().unwrap();
    for (d, f) in [
        ("blkio", "blkio.throttle.read_bps_device"),
        ("memory", "memory.oom_control"),
        ("cpu", "cpu.rt_runtime_us"),
    ] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
        std::fs::write(dir.path().join(d).join(f), "").unwrap();
    }
    let c = CgroupCaps::detect_at(dir.path());
    assert!(c.read_bps && c.oom_kill_disable && c.rt_runtime);
    assert!(!c.blkio_weight && !c.swappiness && !c.rt_period);
    let v2 = tempfile::tempdir().unwrap();
    std::fs::write(v2.path().join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
    let c = CgroupCaps::detect_at(v2.path());
    assert!(c.blkio_weight && c.write_iops && !c.swappiness && !c.oom_kill_disable && !c.rt_period);
}

#[test]
fn a_missing_weight_is_discarded_before_its_range_is_checked() {
    let (hc, r) = check(&v1_no_weight(), |h| h.blkio_weight = 5);
    assert_eq!(
        r.unwrap(),
        ["Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]
    );
    assert_eq!(hc.blkio_weight, 0);
    let with_weight = CgroupCaps {
        blkio_weight: true,
        ..v1_no_weight()
    };
    let (_, r) = check(&with_weight, |h| h.blkio_weight = 5);
    assert_eq!(r.unwrap_err(), "Range of blkio weight is from 10 to 1000");
    let (hc, r) = check(&with_weight, |h| h.blkio_weight = 500);
    assert!(r.unwrap().is_empty());
    assert_eq!(hc.blkio_weight, 500);
}

#[test]
fn blkio_devices_the_host_lacks_are_dropped() {
    let (hc, r) = check(&v1_no_weight(), |h| {
        h.blkio_weight_device = Some(vec![WeightDevice {
            path: "/dev/vda".into(),
            weight: 300,
        }]);
        h.blkio_device_read_bps = Some(vec![ThrottleDevice {
            path: "/dev/vda".into(),
            rate: 1,
        }]);
    });
    assert_eq!(r.unwrap(), ["Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded."]);
    assert_eq!(hc.blkio_weight_device, Some(vec![]));
    assert_eq!(hc.blkio_device_read_bps.unwrap().len(), 1);
    let (_, r) = check(&CgroupCaps::default(), |h| {
        h.blkio_device_write_iops = Some(vec![ThrottleDevice {
            path: "/dev/vda".into(),
            rate: 1,
        }]);
    });
    assert!(r.unwrap()[0].contains("IOPS Block write limit"));
}

#[test]
fn memory_settings() {
    let caps = v1_no_weight();
    let (hc, r) = check(&caps, |h| h.oom_kill_disable = Some(true));
    assert_eq!(r.unwrap(), ["OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."]);
    assert_eq!(hc.oom_kill_disable, Some(true));
    let (hc, r) = check(&caps, |h| {
        h.oom_kill_disable = Some(true);
        h.memory = 64 << 20;
    });
    assert!(r.unwrap().is_empty());
    assert_eq!(hc.oom_kill_disable, Some(true));
    let (hc, _) = check(&caps, |_| {});
    assert_eq!(hc.oom_kill_disable, Some(false));
    let (_, r) = check(&CgroupCaps::default(), |h| h.oom_kill_disable = Some(true));
    assert_eq!(
        r.unwrap()[0],
        "Your kernel does not support OomKillDisable. OomKillDisable discarded."
    );

    let (_, r) = check(&caps, |h| h.memory_swappiness = Some(101));
    assert_eq!(
        r.unwrap_err(),
        "Invalid value: 101, valid memory swappiness range is 0-100"
    );
    let (hc, r) = check(&caps, |h| h.memory_swappiness = Some(-1));
    assert!(r.unwrap().is_empty());
    assert_eq!(hc.memory_swappiness, None);
    let (hc, r) = check(&CgroupCaps::default(), |h| h.memory_swappiness = Some(30));
    assert!(r.unwrap()[0].contains("Memory swappiness discarded"));
    assert_eq!(hc.memory_swappiness, None);

    let (hc, r) = check(&caps, |h| h.kernel_memory = 64 << 20);
    assert_eq!(r.unwrap(), ["Specifying a kernel memory limit is deprecated and will be removed in a future release."]);
    assert_eq!(hc.kernel_memory, 64 << 20);
    let (_, r) = check(&caps, |h| h.kernel_memory = 1000);
    assert_eq!(r.unwrap_err(), "Minimum kernel memory limit allowed is 6MB");
}

#[test]
fn realtime_windows_only_isolation_and_storage() {
    let caps = v1_no_weight();
    let (_, r) = check(&caps, |h| {
        h.cpu_realtime_period = 1000;
        h.cpu_realtime_runtime = 2000;
    });
    assert_eq!(
        r.unwrap_err(),
        "cpu real-time runtime cannot be higher than cpu real-time period"
    );
    let (_, r) = check(&CgroupCaps::default(), |h| h.cpu_realtime_runtime = 10);
    assert_eq!(
        r.unwrap_err(),
        "Your kernel does not support cgroup cpu real-time runtime"
    );
    let (_, r) = check(&caps, |h| h.io_maximum_bandwidth = 5);
    assert_eq!(
        r.unwrap_err(),
        "Invalid QoS settings: linux does not support configuration of maximum bandwidth"
    );
    let (_, r) = check(&caps, |h| h.io_maximum_iops = 5);
    assert_eq!(
        r.unwrap_err(),
        "Invalid QoS settings: linux does not support configuration of maximum IOPs"
    );
    let (hc, r) = check(&caps, |h| {
        h.cpu_percent = 50;
        h.cpu_count = 2;
    });
    assert_eq!(
        r.unwrap(),
        ["linux does not support CPU percent. Percent discarded."]
    );
    assert_eq!((hc.cpu_percent, hc.cpu_count), (0, 2));
    let (_, r) = check(&caps, |h| h.isolation = "hyperv".into());
    assert_eq!(
        r.unwrap_err(),
        "Invalid isolation: \"hyperv\" - linux only supports 'default'"
    );
    assert!(check(&caps, |h| h.isolation = "Default".into()).1.is_ok());
    let (_, r) = check(&caps, |h| {
        h.storage_opt = Some([("size".to_string(), "1G".to_string())].into());
    });
    assert_eq!(
        r.unwrap_err(),
        "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
    );
}

#[test]
fn cgroup_parents_are_joined_as_go_joins_paths() {
    assert_eq!(cgroups_path("", "c1"), "/muelle/c1");
    assert_eq!(cgroups_path("/mytest", "c1"), "/mytest/c1");
    assert_eq!(cgroups_path("mytest/", "c1"), "/mytest/c1");
    assert_eq!(cgroups_path("foo.slice", "c1"), "/foo.slice/c1");
    assert_eq!(cgroups_path("/a/../../x", "c1"), "/x/c1");
    assert_eq!(cgroups_path("../../x", "c1"), "/x/c1");
}
