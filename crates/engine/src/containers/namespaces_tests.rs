//! The namespace options' checks and what they set in the OCI spec.

use super::*;
use crate::containers::spec::build;
use crate::containers::spec::tests::{input, record_with as record};
use muelle_types::container::{ContainerConfig, HostConfig};

fn spec_of(host: HostConfig, joined: Joined) -> serde_json::Value {
    let config = ContainerConfig {
        hostname: "h".into(),
        domainname: "example.com".into(),
        ..ContainerConfig::default()
    };
    let r = record(config, host);
    let mut spec = build(&input(&r, Vec::new())).unwrap();
    apply(&mut spec, &r, &joined);
    serde_json::to_value(spec).unwrap()
}

fn invalid(config: ContainerConfig, host: HostConfig) -> String {
    match validate(&config, &host) {
        Err(ContainerError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    }
}

fn ns(v: &serde_json::Value, typ: &str) -> Option<serde_json::Value> {
    v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == typ)
        .cloned()
}

fn shm(v: &serde_json::Value) -> Option<serde_json::Value> {
    v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/dev/shm")
        .cloned()
}

#[test]
fn modes_are_checked_with_dockers_messages() {
    let c = ContainerConfig::default;
    let m = invalid(
        c(),
        HostConfig {
            ipc_mode: "bogus".into(),
            ..HostConfig::default()
        },
    );
    assert_eq!(m, "Invalid IPC mode: bogus");
    let m = invalid(
        c(),
        HostConfig {
            pid_mode: "container:".into(),
            ..HostConfig::default()
        },
    );
    assert_eq!(m, "invalid PID mode: container:");
    let m = invalid(
        ContainerConfig {
            hostname: "x".into(),
            ..c()
        },
        HostConfig {
            uts_mode: "host".into(),
            ..HostConfig::default()
        },
    );
    assert_eq!(m, "conflicting options: hostname and the UTS mode");
    let m = invalid(
        c(),
        HostConfig {
            oom_score_adj: 2000,
            ..HostConfig::default()
        },
    );
    assert_eq!(
        m,
        "Invalid value 2000, range for oom score adj is [-1000, 1000]"
    );
    for ok in ["", "none", "private", "shareable", "host", "container:x"] {
        let h = HostConfig {
            ipc_mode: ok.into(),
            ..HostConfig::default()
        };
        assert!(validate(&c(), &h).is_ok(), "{ok}");
    }
}

#[test]
fn sysctls_only_in_the_containers_own_namespaces() {
    let with = |k: &str, f: fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        h.sysctls.insert(k.into(), "1".into());
        f(&mut h);
        check_sysctls(&h).map_err(|e| e.to_string())
    };
    assert!(with("net.ipv4.ip_forward", |_| {}).is_ok());
    assert!(with("kernel.shmmax", |_| {}).is_ok());
    assert!(with("fs.mqueue.msg_max", |_| {}).is_ok());
    assert!(with("kernel.domainname", |_| {}).is_ok());
    assert_eq!(
        with("net.ipv4.ip_forward", |h| h.network_mode = "host".into()).unwrap_err(),
        "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
    );
    assert_eq!(
        with("kernel.shmmax", |h| h.ipc_mode = "host".into()).unwrap_err(),
        "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"
    );
    assert_eq!(
        with("kernel.domainname", |h| h.uts_mode = "host".into()).unwrap_err(),
        "sysctl \"kernel.domainname\" is not in a separate kernel namespace"
    );
    assert_eq!(
        with("kernel.foo", |_| {}).unwrap_err(),
        "sysctl \"kernel.foo\" is not in a separate kernel namespace"
    );
}

#[test]
fn host_and_joined_namespaces_in_the_spec() {
    let v = spec_of(
        HostConfig {
            pid_mode: "host".into(),
            ipc_mode: "container:x".into(),
            uts_mode: "host".into(),
            ..HostConfig::default()
        },
        Joined {
            ipc: Some(42),
            shm: Some("/run/donor/shm".into()),
            ..Joined::default()
        },
    );
    assert!(ns(&v, "pid").is_none());
    assert!(ns(&v, "uts").is_none());
    assert_eq!(ns(&v, "ipc").unwrap()["path"], "/proc/42/ns/ipc");
    assert_eq!(shm(&v).unwrap()["source"], "/run/donor/shm");
    assert!(v.get("hostname").is_none() && v.get("domainname").is_none());
}

#[test]
fn shm_size_sysctls_oom_and_domainname() {
    let mut h = HostConfig {
        shm_size: 1 << 20,
        oom_score_adj: 500,
        ..HostConfig::default()
    };
    h.sysctls.insert("kernel.shmmax".into(), "4096".into());
    let v = spec_of(h, Joined::default());
    let opts = shm(&v).unwrap()["options"].clone();
    assert!(opts.as_array().unwrap().contains(&"size=1048576".into()));
    assert!(!opts.as_array().unwrap().contains(&"size=65536k".into()));
    assert_eq!(v["linux"]["sysctl"]["kernel.shmmax"], "4096");
    assert_eq!(v["process"]["oomScoreAdj"], 500);
    assert_eq!(v["domainname"], "example.com");
    let none = spec_of(
        HostConfig {
            ipc_mode: "none".into(),
            ..HostConfig::default()
        },
        Joined::default(),
    );
    assert!(shm(&none).is_none());
    assert!(ns(&none, "ipc").unwrap().get("path").is_none());
}
