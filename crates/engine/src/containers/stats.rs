//! `docker stats`: one sample of a container's resource use in Docker's `StatsResponse`
//! shape, from its cgroup's counters (v1 or v2, through the runtime library), the host's CPU
//! time and the container's network interfaces, converted as dockerd converts them. The
//! caller pairs samples (`precpu_stats`) and paces the stream.

use std::collections::BTreeMap;
use std::time::SystemTime;

use muelle_runtime::cgroups::{CgroupVersion, Stats};
use muelle_types::container::{
    BlkioStatEntry, BlkioStats, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats,
    StatsResponse, StorageStats, ThrottlingData, ZERO_READ,
};

use super::ContainerError;
use crate::{Engine, Result};

/// The memory.stat counters dockerd reports on cgroup v1 (every one, 0 when absent).
const V1_MEMORY_KEYS: &[&str] = &[
    "active_anon",
    "active_file",
    "cache",
    "dirty",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "inactive_anon",
    "inactive_file",
    "mapped_file",
    "pgfault",
    "pgmajfault",
    "pgpgin",
    "pgpgout",
    "rss",
    "rss_huge",
    "total_active_anon",
    "total_active_file",
    "total_cache",
    "total_dirty",
    "total_inactive_anon",
    "total_inactive_file",
    "total_mapped_file",
    "total_pgfault",
    "total_pgmajfault",
    "total_pgpgin",
    "total_pgpgout",
    "total_rss",
    "total_rss_huge",
    "total_unevictable",
    "total_writeback",
    "unevictable",
    "writeback",
];

/// The memory.stat counters dockerd reports on cgroup v2.
const V2_MEMORY_KEYS: &[&str] = &[
    "active_anon",
    "active_file",
    "anon",
    "anon_thp",
    "file",
    "file_dirty",
    "file_mapped",
    "file_writeback",
    "inactive_anon",
    "inactive_file",
    "kernel_stack",
    "pgactivate",
    "pgdeactivate",
    "pgfault",
    "pglazyfree",
    "pglazyfreed",
    "pgmajfault",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "shmem",
    "slab",
    "slab_reclaimable",
    "slab_unreclaimable",
    "sock",
    "thp_collapse_alloc",
    "thp_fault_alloc",
    "unevictable",
    "workingset_activate",
    "workingset_nodereclaim",
    "workingset_refault",
];

impl Engine {
    /// One sample of the container's use, with `precpu_stats` and `preread` empty. A
    /// container that is not running (or is restarting) gives dockerd's zeroed sample.
    pub fn container_stats(&self, name_or_id: &str) -> Result<StatsResponse> {
        let rec = self.container(name_or_id)?;
        let name = format!("/{}", rec.name);
        if !rec.is_running() || rec.state.restarting() {
            return Ok(StatsResponse::empty(&name, &rec.id));
        }
        let loaded = muelle_runtime::Container::load(self.containers.runtime_root(), &rec.id);
        let c = match loaded {
            Ok(c) if c.status() != muelle_runtime::state::Status::Stopped => c,
            // It ended since the record was read: not running, as dockerd answers then.
            _ => return Ok(StatsResponse::empty(&name, &rec.id)),
        };
        let read = SystemTime::now();
        let cg = c
            .cgroup()
            .map_err(|e| ContainerError::Internal(format!("stats of {}: {e}", rec.id)))?;
        let stats = cg
            .stats()
            .map_err(|e| ContainerError::Internal(format!("stats of {}: {e}", rec.id)))?;
        let (system_cpu_usage, online_cpus) = host_cpu();
        let networks = match rec.host_config.network_mode() {
            "host" | "none" => None,
            _ => networks(rec.state.pid()),
        };
        Ok(convert(Sample {
            version: cg.version(),
            stats,
            read,
            system_cpu_usage,
            online_cpus,
            machine_memory: machine_memory(),
            name,
            id: rec.id.clone(),
            networks,
        }))
    }
}

/// What one sample is made of, so that the conversion is a pure function.
pub(crate) struct Sample {
    pub version: CgroupVersion,
    pub stats: Stats,
    pub read: SystemTime,
    pub system_cpu_usage: u64,
    pub online_cpus: u32,
    pub machine_memory: u64,
    pub name: String,
    pub id: String,
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

/// The runtime's counters as dockerd reports them for the cgroup version.
pub(crate) fn convert(s: Sample) -> StatsResponse {
    let v1 = s.version == CgroupVersion::V1;
    let st = &s.stats;
    let cpu_stats = CpuStats {
        cpu_usage: CpuUsage {
            total_usage: st.cpu.usage.total,
            percpu_usage: if v1 {
                st.cpu.usage.percpu.clone()
            } else {
                Vec::new()
            },
            usage_in_kernelmode: st.cpu.usage.kernel,
            usage_in_usermode: st.cpu.usage.user,
        },
        system_cpu_usage: s.system_cpu_usage,
        online_cpus: s.online_cpus,
        throttling_data: ThrottlingData {
            periods: st.cpu.throttling.periods,
            throttled_periods: st.cpu.throttling.throttled_periods,
            throttled_time: st.cpu.throttling.throttled_time,
        },
    };
    let keys = if v1 { V1_MEMORY_KEYS } else { V2_MEMORY_KEYS };
    let raw = &st.memory.raw;
    let mut limit = st.memory.usage.limit;
    // No limit: the kernel's "unlimited" becomes the host's memory, as in dockerd.
    if s.machine_memory > 0 && limit > s.machine_memory {
        limit = s.machine_memory;
    }
    let memory_stats = MemoryStats {
        usage: st.memory.usage.usage,
        max_usage: if v1 { st.memory.usage.max } else { 0 },
        stats: keys
            .iter()
            .map(|k| (k.to_string(), raw.get(*k).copied().unwrap_or(0)))
            .collect(),
        failcnt: if v1 { st.memory.usage.failcnt } else { 0 },
        limit,
    };
    let entries = |list: &[muelle_runtime::cgroups::BlkioEntry], lower: bool| {
        list.iter()
            .map(|e| BlkioStatEntry {
                major: e.major,
                minor: e.minor,
                op: if lower {
                    e.op.to_lowercase()
                } else {
                    e.op.clone()
                },
                value: e.value,
            })
            .collect::<Vec<_>>()
    };
    let b = &st.blkio;
    let blkio_stats = if v1 {
        BlkioStats {
            io_service_bytes_recursive: Some(entries(&b.io_service_bytes_recursive, false)),
            io_serviced_recursive: Some(entries(&b.io_serviced_recursive, false)),
            io_queue_recursive: Some(entries(&b.io_queued_recursive, false)),
            io_service_time_recursive: Some(entries(&b.io_service_time_recursive, false)),
            io_wait_time_recursive: Some(entries(&b.io_wait_time_recursive, false)),
            io_merged_recursive: Some(entries(&b.io_merged_recursive, false)),
            io_time_recursive: Some(entries(&b.io_time_recursive, false)),
            sectors_recursive: Some(entries(&b.sectors_recursive, false)),
        }
    } else {
        // dockerd reports only io.stat's bytes on v2, with lower-case operations.
        let bytes = entries(&b.io_service_bytes_recursive, true);
        BlkioStats {
            io_service_bytes_recursive: (!bytes.is_empty()).then_some(bytes),
            ..BlkioStats::default()
        }
    };
    StatsResponse {
        read: muelle_types::time::rfc3339_nanos(s.read),
        preread: ZERO_READ.into(),
        pids_stats: PidsStats {
            current: st.pids.current,
            limit: st.pids.limit,
        },
        blkio_stats,
        num_procs: 0,
        storage_stats: StorageStats::default(),
        cpu_stats,
        precpu_stats: CpuStats::default(),
        memory_stats,
        name: s.name,
        id: s.id,
        networks: s.networks,
    }
}

/// The host's CPU time in nanoseconds (the first seven fields of /proc/stat's `cpu` line, as
/// dockerd sums them) and the number of online CPUs (its `cpuN` lines).
fn host_cpu() -> (u64, u32) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks = rustix::param::clock_ticks_per_second().max(1);
    parse_proc_stat(&text, ticks)
}

pub(crate) fn parse_proc_stat(text: &str, ticks: u64) -> (u64, u32) {
    let mut total = 0u64;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("cpu") => {
                let t: u64 = fields.take(7).filter_map(|f| f.parse::<u64>().ok()).sum();
                total = t.saturating_mul(1_000_000_000) / ticks;
            }
            Some(f) if f.len() > 3 && f.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus)
}

fn machine_memory() -> u64 {
    crate::host::mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default())
}

/// The container's interfaces but the loopback, from /proc/PID/net/dev; `None` when it has
/// none (dockerd leaves `networks` out then).
fn networks(pid: i64) -> Option<BTreeMap<String, NetworkStats>> {
    if pid <= 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    let nets = parse_net_dev(&text);
    (!nets.is_empty()).then_some(nets)
}

pub(crate) fn parse_net_dev(text: &str) -> BTreeMap<String, NetworkStats> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" || name.contains('|') {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0))
            .collect();
        if v.len() < 12 {
            continue;
        }
        out.insert(
            name.to_string(),
            NetworkStats {
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_dropped: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_dropped: v[11],
            },
        );
    }
    out
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
