//! The stats conversion on fixed counters, /proc/stat and /proc/PID/net/dev.

use super::*;

fn sample(version: CgroupVersion) -> Sample {
    let mut stats = Stats::default();
    stats.cpu.usage.total = 5_000;
    stats.cpu.usage.percpu = vec![2_000, 3_000];
    stats.cpu.usage.kernel = 1_000;
    stats.cpu.usage.user = 4_000;
    stats.memory.usage.usage = 4096;
    stats.memory.usage.max = 8192;
    stats.memory.usage.limit = 9_223_372_036_854_771_712;
    stats.memory.raw.insert("total_inactive_file".into(), 1024);
    stats.memory.raw.insert("not_reported".into(), 1);
    stats.pids.current = 2;
    stats.blkio.io_service_bytes_recursive = vec![muelle_runtime::cgroups::BlkioEntry {
        major: 8,
        minor: 0,
        op: "Read".into(),
        value: 512,
    }];
    Sample {
        version,
        stats,
        read: SystemTime::UNIX_EPOCH,
        system_cpu_usage: 10_000,
        online_cpus: 2,
        machine_memory: 1 << 30,
        name: "/c".into(),
        id: "abc".into(),
        networks: None,
    }
}

#[test]
fn v1_sample_as_dockerd() {
    let r = convert(sample(CgroupVersion::V1));
    assert_eq!(r.cpu_stats.cpu_usage.percpu_usage, [2_000, 3_000]);
    assert_eq!(
        r.memory_stats.limit,
        1 << 30,
        "unlimited becomes the host's memory"
    );
    assert_eq!(r.memory_stats.max_usage, 8192);
    assert_eq!(r.memory_stats.stats["total_inactive_file"], 1024);
    assert_eq!(r.memory_stats.stats.len(), V1_MEMORY_KEYS.len());
    assert!(!r.memory_stats.stats.contains_key("not_reported"));
    let bytes = r.blkio_stats.io_service_bytes_recursive.unwrap();
    assert_eq!(bytes[0].op, "Read");
    assert_eq!(r.blkio_stats.sectors_recursive, Some(vec![]));
    assert_eq!(r.read, "1970-01-01T00:00:00.000000000Z");
    assert_eq!(r.preread, ZERO_READ);
}

#[test]
fn v2_sample_as_dockerd() {
    let r = convert(sample(CgroupVersion::V2));
    assert!(r.cpu_stats.cpu_usage.percpu_usage.is_empty());
    assert_eq!(r.memory_stats.max_usage, 0);
    assert_eq!(r.memory_stats.stats.len(), V2_MEMORY_KEYS.len());
    let bytes = r.blkio_stats.io_service_bytes_recursive.unwrap();
    assert_eq!(bytes[0].op, "read");
    assert_eq!(r.blkio_stats.sectors_recursive, None);
}

#[test]
fn proc_stat_and_net_dev() {
    let stat = "cpu  10 0 10 80 0 0 0 5 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 40 0 0 0 0 0 0\nintr 1\n";
    assert_eq!(parse_proc_stat(stat, 100), (1_000_000_000, 2));
    let dev = "Inter-|   Receive                            |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4    0     0       0          0\n";
    let n = parse_net_dev(dev);
    assert_eq!(n.len(), 1);
    assert_eq!(n["eth0"].rx_bytes, 2000);
    assert_eq!(n["eth0"].tx_dropped, 4);
}
