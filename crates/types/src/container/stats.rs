//! `GET /containers/{id}/stats`: Docker's `StatsResponse`, in dockerd's field names, order
//! and omissions (Go's `omitempty` on the counters that cgroup v1 or v2 lacks), so the docker
//! CLI and other clients compute the same percentages from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::null_default;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero32(v: &u32) -> bool {
    *v == 0
}

/// Go's zero `time.Time`, which dockerd sends as `read`/`preread` of an empty sample.
pub const ZERO_READ: &str = "0001-01-01T00:00:00Z";

/// One sample of a container's resource use.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatsResponse {
    pub read: String,
    pub preread: String,
    #[serde(default)]
    pub pids_stats: PidsStats,
    #[serde(default)]
    pub blkio_stats: BlkioStats,
    #[serde(default)]
    pub num_procs: u32,
    #[serde(default)]
    pub storage_stats: StorageStats,
    #[serde(default)]
    pub cpu_stats: CpuStats,
    #[serde(default)]
    pub precpu_stats: CpuStats,
    #[serde(default)]
    pub memory_stats: MemoryStats,
    /// `/name`, as dockerd's container names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// By interface name; absent without a network interface (`--network none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

impl StatsResponse {
    /// The zeroed sample dockerd answers for a container that is not running.
    pub fn empty(name: &str, id: &str) -> Self {
        StatsResponse {
            read: ZERO_READ.into(),
            preread: ZERO_READ.into(),
            pids_stats: PidsStats::default(),
            blkio_stats: BlkioStats::default(),
            num_procs: 0,
            storage_stats: StorageStats::default(),
            cpu_stats: CpuStats::default(),
            precpu_stats: CpuStats::default(),
            memory_stats: MemoryStats::default(),
            name: name.into(),
            id: id.into(),
            networks: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PidsStats {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlkioStatEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Each list is `null` when the cgroup has no such counter, as dockerd sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlkioStats {
    #[serde(default)]
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    #[serde(default)]
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// Windows-only counters; always empty here.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageStats {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read_count_normalized: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read_size_bytes: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub write_count_normalized: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub write_size_bytes: u64,
}

/// Nanoseconds of CPU time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuUsage {
    #[serde(default)]
    pub total_usage: u64,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_usage: Vec<u64>,
    #[serde(default)]
    pub usage_in_kernelmode: u64,
    #[serde(default)]
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ThrottlingData {
    #[serde(default)]
    pub periods: u64,
    #[serde(default)]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(default)]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuStats {
    #[serde(default)]
    pub cpu_usage: CpuUsage,
    /// The host's CPU time (all CPUs, nanoseconds since boot), /proc/stat as dockerd reads it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub online_cpus: u32,
    #[serde(default)]
    pub throttling_data: ThrottlingData,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryStats {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// cgroup v1 only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    /// memory.stat's counters (dockerd's selection of them).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub stats: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_sample_has_dockerds_keys_and_nulls() {
        let v = serde_json::to_value(StatsResponse::empty("/a", "abc")).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "blkio_stats",
                "cpu_stats",
                "id",
                "memory_stats",
                "name",
                "num_procs",
                "pids_stats",
                "precpu_stats",
                "preread",
                "read",
                "storage_stats"
            ]
        );
        assert!(v["blkio_stats"]["io_service_bytes_recursive"].is_null());
        assert_eq!(v["memory_stats"], serde_json::json!({}));
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(v["cpu_stats"].get("system_cpu_usage").is_none());
        let text = serde_json::to_string(&StatsResponse::empty("/a", "abc")).unwrap();
        assert!(text.starts_with(r#"{"read":"0001-01-01T00:00:00Z","preread""#));
    }
}
