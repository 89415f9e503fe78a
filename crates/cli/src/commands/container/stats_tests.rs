//! The docker CLI's figures and cells from fixed samples.

use super::*;

fn sample() -> StatsResponse {
    let mut s = StatsResponse::empty("/web", "0123456789abcdef0123");
    s.read = "2026-12-07T10:00:01Z".into();
    s.cpu_stats.cpu_usage.total_usage = 3_000;
    s.cpu_stats.system_cpu_usage = 20_000;
    s.cpu_stats.online_cpus = 2;
    s.precpu_stats.cpu_usage.total_usage = 1_000;
    s.precpu_stats.system_cpu_usage = 10_000;
    s.memory_stats.usage = 10 << 20;
    s.memory_stats.limit = 100 << 20;
    s.memory_stats
        .stats
        .insert("total_inactive_file".into(), 5 << 20);
    s.pids_stats.current = 3;
    s.blkio_stats.io_service_bytes_recursive = Some(vec![
        muelle_types::container::BlkioStatEntry {
            major: 8,
            minor: 0,
            op: "Read".into(),
            value: 2_000_000,
        },
        muelle_types::container::BlkioStatEntry {
            major: 8,
            minor: 0,
            op: "Write".into(),
            value: 1_000,
        },
    ]);
    s
}

#[test]
fn figures_as_the_docker_cli() {
    let e = entry("web", &sample());
    assert_eq!(e.cpu_percentage, 40.0);
    assert_eq!(e.memory, (5 << 20) as f64);
    assert_eq!(e.memory_percentage, 5.0);
    assert_eq!((e.block_read, e.block_write), (2_000_000.0, 1_000.0));
    let r = row(&e, true);
    assert_eq!(r.get("CPUPerc").and_then(Value::as_str), Some("40.00%"));
    assert_eq!(
        r.get("MemUsage").and_then(Value::as_str),
        Some("5MiB / 100MiB")
    );
    assert_eq!(r.get("MemPerc").and_then(Value::as_str), Some("5.00%"));
    assert_eq!(r.get("BlockIO").and_then(Value::as_str), Some("2MB / 1kB"));
    assert_eq!(r.get("NetIO").and_then(Value::as_str), Some("0B / 0B"));
    assert_eq!(r.get("ID").and_then(Value::as_str), Some("0123456789ab"));
    assert_eq!(r.get("Name").and_then(Value::as_str), Some("web"));
    assert_eq!(r.get("PIDs").and_then(Value::as_str), Some("3"));
}

#[test]
fn stopped_container_is_all_zero() {
    let e = entry("c", &StatsResponse::empty("/c", "abc"));
    let r = row(&e, true);
    assert_eq!(r.get("CPUPerc").and_then(Value::as_str), Some("0.00%"));
    assert_eq!(r.get("MemUsage").and_then(Value::as_str), Some("0B / 0B"));
    assert_eq!(r.get("PIDs").and_then(Value::as_str), Some("0"));
}
