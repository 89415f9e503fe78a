#![allow(clippy::unwrap_used)]

use super::*;
use clap::Parser;
use serde_json::json;

use crate::commands::container::opts::CreateOpts;

#[derive(Parser)]
struct P {
    #[command(flatten)]
    o: CreateOpts,
}

fn host_config(args: &[&str]) -> Result<serde_json::Value> {
    let p = P::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
    Ok(p.o.body(false, false)?["HostConfig"].clone())
}

#[test]
fn devices_as_the_docker_cli_reads_them() {
    let d = parse_device("/dev/loop7:/dev/l:r").unwrap();
    assert_eq!(
        (
            d.path_on_host.as_str(),
            d.path_in_container.as_str(),
            d.cgroup_permissions.as_str()
        ),
        ("/dev/loop7", "/dev/l", "r")
    );
    let d = parse_device("/dev/loop7:rw").unwrap();
    assert_eq!(
        (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
        ("/dev/loop7", "rw")
    );
    let d = parse_device("/dev/net").unwrap();
    assert_eq!(
        (d.path_in_container.as_str(), d.cgroup_permissions.as_str()),
        ("/dev/net", "rwm")
    );
    let err = |s: &str| parse_device(s).unwrap_err().to_string();
    assert_eq!(err("/dev/loop7:/dev/l:rwx"), "bad mode specified: rwx");
    assert_eq!(err("/dev/loop7:l"), "l is not an absolute path");
    assert_eq!(err("a"), "a is not an absolute path");
    assert_eq!(err("/a:/b:/c:d"), "bad format for path: /a:/b:/c:d");
    assert_eq!(err("/dev/null:rwm:r"), "rwm is not an absolute path");
}

#[test]
fn flags_become_the_host_config() {
    let h = host_config(&[
        "--device",
        "/dev/loop7:/dev/l:r",
        "--device-cgroup-rule",
        "c 1:3 rwm",
        "--blkio-weight",
        "300",
        "--blkio-weight-device",
        "/dev/vda:200",
        "--device-read-bps",
        "/dev/vda:1mb",
        "--device-write-iops",
        "/dev/vda:10",
        "--oom-kill-disable",
        "--memory-swappiness",
        "30",
        "--kernel-memory",
        "64m",
        "--cpu-rt-period",
        "1000",
        "--cpu-rt-runtime",
        "500",
        "--gpus",
        "all",
        "--isolation",
        "default",
        "--storage-opt",
        "size=1G",
        "--runtime",
        "runc",
        "--cgroup-parent",
        "foo",
        "busybox",
    ])
    .unwrap();
    assert_eq!(
        h["Devices"],
        json!([{"PathOnHost":"/dev/loop7","PathInContainer":"/dev/l","CgroupPermissions":"r"}])
    );
    assert_eq!(h["DeviceCgroupRules"], json!(["c 1:3 rwm"]));
    assert_eq!(h["BlkioWeight"], json!(300));
    assert_eq!(
        h["BlkioWeightDevice"],
        json!([{"Path":"/dev/vda","Weight":200}])
    );
    assert_eq!(
        h["BlkioDeviceReadBps"],
        json!([{"Path":"/dev/vda","Rate":1048576}])
    );
    assert_eq!(
        h["BlkioDeviceWriteIOps"],
        json!([{"Path":"/dev/vda","Rate":10}])
    );
    assert_eq!(h["OomKillDisable"], json!(true));
    assert_eq!(h["MemorySwappiness"], json!(30));
    assert_eq!(h["KernelMemory"], json!(64 << 20));
    assert_eq!(
        (
            h["CpuRealtimePeriod"].clone(),
            h["CpuRealtimeRuntime"].clone()
        ),
        (json!(1000), json!(500))
    );
    assert_eq!(
        h["DeviceRequests"],
        json!([{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}])
    );
    assert_eq!(h["Isolation"], json!("default"));
    assert_eq!(h["StorageOpt"], json!({"size": "1G"}));
    assert_eq!(h["Runtime"], json!("runc"));
    assert_eq!(h["CgroupParent"], json!("foo"));
    // Nothing given, nothing sent.
    let h = host_config(&["busybox"]).unwrap();
    for k in [
        "Devices",
        "DeviceRequests",
        "OomKillDisable",
        "MemorySwappiness",
        "KernelMemory",
        "CgroupParent",
    ] {
        assert!(h.get(k).is_none(), "{k}: {h}");
    }
}

#[test]
fn bad_values_get_the_docker_clis_messages() {
    let err = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("busybox");
        host_config(&a).unwrap_err().to_string()
    };
    assert_eq!(
        err(&["--device-cgroup-rule", "bogus"]),
        "invalid argument \"bogus\" for \"--device-cgroup-rule\" flag: invalid device cgroup format 'bogus'"
    );
    assert_eq!(
        err(&["--device-read-bps", "vda:1"]),
        "invalid argument \"vda:1\" for \"--device-read-bps\" flag: bad format for device path: vda:1"
    );
    assert_eq!(
        err(&["--device-read-bps", "/dev/vda"]),
        "invalid argument \"/dev/vda\" for \"--device-read-bps\" flag: bad format: /dev/vda"
    );
    assert!(err(&["--device-read-iops", "/dev/vda:1k"]).ends_with(
        "The correct format is <device-path>:<number>. Number must be a positive integer"
    ));
    assert_eq!(
        err(&["--blkio-weight-device", "/dev/vda:5"]),
        "invalid argument \"/dev/vda:5\" for \"--blkio-weight-device\" flag: invalid weight for device: /dev/vda:5"
    );
    assert_eq!(
        err(&["--memory-swappiness", "101"]),
        "invalid value: 101. Valid memory swappiness range is 0-100"
    );
    assert_eq!(err(&["--storage-opt", "size"]), "invalid storage option");
    assert_eq!(
        err(&["--gpus", "bogus=1"]),
        "invalid argument \"bogus=1\" for \"--gpus\" flag: unexpected key 'bogus' in 'bogus=1'"
    );
    assert_eq!(err(&["--device", "a"]), "a is not an absolute path");
}

#[test]
fn gpu_requests() {
    let r = parse_gpus("2").unwrap();
    assert_eq!(r.count, 2);
    let r = parse_gpus("\"device=1,2\",capabilities=utility").unwrap();
    assert_eq!(r.device_ids, Some(vec!["1".to_string(), "2".to_string()]));
    assert_eq!(r.count, 0);
    assert_eq!(
        r.capabilities,
        Some(vec![vec!["utility".to_string(), "gpu".to_string()]])
    );
    assert!(parse_gpus("x").is_err());
}
