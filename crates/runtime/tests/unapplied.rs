//! Settings the runtime cannot apply on this host are refused, never skipped (a user must
//! not believe a limit or profile is in force when it is not), and what runc does for every
//! network namespace it creates (loopback up) is done here too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{require_root, Ctr};
use serde_json::json;

#[test]
fn network_class_without_its_controller_is_refused() {
    require_root();
    // Where net_cls is mounted (cgroup v1 with it), the setting applies; elsewhere (this
    // workplace's hybrid hosts lack it, cgroup v2 has none) create must fail, naming it.
    let have = Path::new("/sys/fs/cgroup/net_cls/net_cls.classid").exists();
    let mut c = Ctr::new("netcls");
    c.sh("true");
    c.config["linux"]["resources"]["network"] = json!({"classID": 1048577});
    let o = c.run();
    if have {
        assert_eq!(o.code, 0, "{o:?}");
    } else {
        assert_ne!(o.code, 0, "a classID was accepted without net_cls: {o:?}");
        assert!(o.stderr.contains("net_cls"), "{o:?}");
    }
    let have = Path::new("/sys/fs/cgroup/net_prio/net_prio.ifpriomap").exists();
    let mut c = Ctr::new("netprio");
    c.sh("true");
    c.config["linux"]["resources"]["network"] =
        json!({"priorities": [{"name": "lo", "priority": 3}]});
    let o = c.run();
    if have {
        assert_eq!(o.code, 0, "{o:?}");
    } else {
        assert_ne!(
            o.code, 0,
            "priorities were accepted without net_prio: {o:?}"
        );
        assert!(o.stderr.contains("net_prio"), "{o:?}");
    }
}

#[test]
fn apparmor_profile_without_apparmor_is_refused() {
    require_root();
    let enabled = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'));
    let mut c = Ctr::new("aa");
    c.sh("cat /proc/self/attr/current 2>/dev/null; true");
    c.config["process"]["apparmorProfile"] = json!("unconfined");
    let o = c.run();
    if enabled {
        assert_eq!(o.code, 0, "{o:?}");
    } else {
        assert_ne!(
            o.code, 0,
            "an AppArmor profile was accepted without AppArmor: {o:?}"
        );
        assert!(o.stderr.contains("AppArmor"), "{o:?}");
    }
}

#[test]
fn a_new_network_namespace_has_loopback_up() {
    require_root();
    let mut c = Ctr::new("lo");
    // busybox's ip, then a server on 127.0.0.1 reached from the container itself.
    c.sh("ip -o link show lo; ip -o addr show lo; \
          (nc -l -p 8080 -e echo served-on-lo &); sleep 0.3; nc 127.0.0.1 8080 </dev/null");
    let o = c.run();
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.contains("UP") && o.stdout.contains("127.0.0.1"),
        "{o:?}"
    );
    assert!(o.stdout.contains("served-on-lo"), "{o:?}");
}
