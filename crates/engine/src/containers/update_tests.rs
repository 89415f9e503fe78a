//! dockerd's update checks and merge rules.

use super::*;
use muelle_types::container::RestartPolicy;

fn err(u: ContainerUpdate) -> String {
    check_update(&u, vec![0, 1], vec![0])
        .unwrap_err()
        .to_string()
}

#[test]
fn docker_messages_for_bad_values() {
    let u = |f: fn(&mut ContainerUpdate)| {
        let mut u = ContainerUpdate::default();
        f(&mut u);
        u
    };
    assert_eq!(
        err(u(|u| u.memory = 1024)),
        "Minimum memory limit allowed is 6MB"
    );
    assert_eq!(
        err(u(|u| {
            u.memory = 64 << 20;
            u.memory_swap = 32 << 20
        })),
        "Minimum memoryswap limit should be larger than memory limit, see usage"
    );
    assert_eq!(
        err(u(|u| u.nano_cpus = 3_000_000_000)),
        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
    );
    assert_eq!(
        err(u(|u| u.cpuset_cpus = "5".into())),
        "Requested CPUs are not available - requested 5, available: 0-1"
    );
    assert_eq!(
        err(u(|u| u.cpuset_cpus = "x".into())),
        "Invalid value x for cpuset cpus: invalid format: x"
    );
    assert_eq!(
        err(u(|u| u.blkio_weight = 5)),
        "Range of blkio weight is from 10 to 1000"
    );
    assert_eq!(
        err(u(|u| u.restart_policy.name = "sometimes".into())),
        "invalid restart policy 'sometimes'"
    );
    assert!(check_update(&u(|u| u.memory = 64 << 20), vec![0], vec![0]).is_ok());
}

#[test]
fn merge_keeps_what_is_not_asked() {
    let old = HostConfig {
        memory: 64 << 20,
        memory_swap: 256 << 20,
        cpu_shares: 512,
        pids_limit: Some(10),
        ..HostConfig::default()
    };
    let u = ContainerUpdate {
        memory: 128 << 20,
        pids_limit: Some(-1),
        restart_policy: RestartPolicy {
            name: "always".into(),
            maximum_retry_count: 0,
        },
        ..ContainerUpdate::default()
    };
    let h = merge(&old, &u).unwrap();
    assert_eq!(h.memory, 128 << 20);
    assert_eq!(h.cpu_shares, 512);
    assert_eq!(h.pids_limit, Some(0));
    assert_eq!(h.restart_policy.name, "always");

    let swapped = HostConfig {
        memory: 64 << 20,
        memory_swap: 128 << 20,
        ..HostConfig::default()
    };
    let more = ContainerUpdate {
        memory: 256 << 20,
        ..ContainerUpdate::default()
    };
    assert!(merge(&swapped, &more).unwrap_err().contains("memoryswap"));
    let rm = HostConfig {
        auto_remove: true,
        ..HostConfig::default()
    };
    let always = ContainerUpdate {
        restart_policy: RestartPolicy {
            name: "always".into(),
            maximum_retry_count: 0,
        },
        ..ContainerUpdate::default()
    };
    assert!(merge(&rm, &always).unwrap_err().contains("AutoRemove"));
    let no_swap = HostConfig::default();
    assert!(merge(&no_swap, &more).unwrap_err().contains("memoryswap"));
    let nano = HostConfig {
        nano_cpus: 500_000_000,
        ..HostConfig::default()
    };
    let quota = ContainerUpdate {
        cpu_quota: 20_000,
        ..ContainerUpdate::default()
    };
    assert_eq!(
        merge(&nano, &quota).unwrap_err(),
        "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
    );
}

#[test]
fn cpu_lists() {
    assert_eq!(parse_list("0-2,5"), Some(vec![0, 1, 2, 5]));
    assert_eq!(parse_list("a"), None);
    assert_eq!(parse_list("3-1"), None);
    assert_eq!(format_list(&[0, 1, 2, 5]), "0-2,5");
}

#[test]
fn blkio_weight_dropped_with_a_warning_without_the_file() {
    let mut u = ContainerUpdate {
        blkio_weight: 5,
        ..ContainerUpdate::default()
    };
    assert_eq!(adapt(&mut u, false), [NO_BLKIO_WEIGHT]);
    assert_eq!(u.blkio_weight, 0);
    let mut u = ContainerUpdate {
        blkio_weight: 5,
        ..ContainerUpdate::default()
    };
    assert!(adapt(&mut u, true).is_empty());
    assert_eq!(err(u), "Range of blkio weight is from 10 to 1000");
}

#[test]
fn realtime_and_kernel_memory_are_recorded_not_written() {
    let u = ContainerUpdate {
        cpu_realtime_period: 100_000,
        cpu_realtime_runtime: 1000,
        kernel_memory: 64 << 20,
        ..ContainerUpdate::default()
    };
    let h = merge(&HostConfig::default(), &u).unwrap();
    assert_eq!(
        (
            h.cpu_realtime_period,
            h.cpu_realtime_runtime,
            h.kernel_memory
        ),
        (100_000, 1000, 64 << 20)
    );
    let r = linux_resources(&requested(&u), Apply::Update);
    assert!(r.cpu().is_none() && r.memory().is_none());
}
