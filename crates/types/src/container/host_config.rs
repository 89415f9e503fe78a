//! Docker's `HostConfig`: the fields the engine acts on (restart policy, logging, limits,
//! security options...), the rest kept (`extra`) so that inspect echoes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::devices::{DeviceMapping, DeviceRequest, ThrottleDevice, WeightDevice};
use crate::serde_util::null_default;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(default, rename = "Type")]
    pub typ: String,
    #[serde(default, deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ulimit {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Soft")]
    pub soft: u64,
    #[serde(rename = "Hard")]
    pub hard: u64,
}

/// Docker's `HostConfig`: the fields the engine acts on, the rest kept for inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub binds: Vec<String>,
    #[serde(default)]
    pub network_mode: String,
    #[serde(default, deserialize_with = "null_default")]
    pub port_bindings: BTreeMap<String, Value>,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    #[serde(default)]
    pub auto_remove: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub readonly_rootfs: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub cap_add: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default)]
    pub log_config: LogConfig,
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub nano_cpus: i64,
    #[serde(default)]
    pub cpu_shares: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// Memory + swap; -1 is unlimited swap.
    #[serde(default, deserialize_with = "null_default")]
    pub memory_swap: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory_reservation: i64,
    /// CFS period and quota in microseconds (`--cpu-period`, `--cpu-quota`).
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_period: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_quota: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_mems: String,
    #[serde(default, deserialize_with = "null_default")]
    pub blkio_weight: u16,
    #[serde(default, deserialize_with = "null_default")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub security_opt: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, deserialize_with = "null_default")]
    pub mounts: Vec<Value>,
    /// `--volumes-from CONTAINER[:ro|:rw]`, as given; `None` shows as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<String>>,
    /// `--volume-driver`: the driver of the volumes `Binds` and `Config.Volumes` make.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_driver: String,
    /// The OCI runtime's name (`--runtime`); the daemon's default when not asked for.
    #[serde(default)]
    pub runtime: String,
    /// `--group-add`: more groups for the process, names resolved in the container's
    /// /etc/group. `None` (shown as null, as dockerd shows it) when not given.
    #[serde(default)]
    pub group_add: Option<Vec<String>>,
    /// `--cgroupns`: "private" (a cgroup namespace of the container's own) or "host"; the
    /// daemon fills in its default at create ("host" on cgroup v1, "private" on v2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroupns_mode: String,
    /// The cgroup the container's own is made under (`--cgroup-parent`); the daemon's
    /// when empty.
    #[serde(default, deserialize_with = "null_default")]
    pub cgroup_parent: String,
    /// `--isolation`: only `default` (or empty) on Linux.
    #[serde(default, deserialize_with = "null_default")]
    pub isolation: String,
    #[serde(default)]
    pub storage_opt: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub devices: Option<Vec<DeviceMapping>>,
    /// `--device-cgroup-rule 'c 1:3 rwm'`: allowed in the device cgroup, no node made.
    #[serde(default)]
    pub device_cgroup_rules: Option<Vec<String>>,
    #[serde(default)]
    pub device_requests: Option<Vec<DeviceRequest>>,
    #[serde(default)]
    pub blkio_weight_device: Option<Vec<WeightDevice>>,
    #[serde(default)]
    pub blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
    #[serde(default)]
    pub blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "BlkioDeviceReadIOps")]
    pub blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "BlkioDeviceWriteIOps")]
    pub blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
    /// Deprecated by Docker; accepted with a warning, never applied (as runc ignores it).
    #[serde(default, deserialize_with = "null_default")]
    pub kernel_memory: i64,
    /// 0..=100; `None` (or -1 from old clients) keeps the kernel's.
    #[serde(default)]
    pub memory_swappiness: Option<i64>,
    #[serde(default)]
    pub oom_kill_disable: Option<bool>,
    /// Real-time scheduler period and runtime in microseconds (`--cpu-rt-*`). docker-py
    /// spells them `CPURealtime…`, which dockerd takes since Go matches JSON keys without
    /// regard to case.
    #[serde(
        default,
        deserialize_with = "null_default",
        alias = "CPURealtimePeriod"
    )]
    pub cpu_realtime_period: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        alias = "CPURealtimeRuntime"
    )]
    pub cpu_realtime_runtime: i64,
    /// Windows-only settings: refused or discarded on Linux, as dockerd does.
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_count: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_percent: i64,
    #[serde(default, deserialize_with = "null_default", rename = "IOMaximumIOps")]
    pub io_maximum_iops: u64,
    #[serde(
        default,
        deserialize_with = "null_default",
        rename = "IOMaximumBandwidth"
    )]
    pub io_maximum_bandwidth: u64,
    /// `--pid`: "" (a namespace of its own), "host" or "container:<name|id>".
    #[serde(default, deserialize_with = "null_default")]
    pub pid_mode: String,
    /// `--ipc`: "none", "private", "shareable", "host" or "container:<name|id>"; the
    /// daemon fills in "private" at create, as dockerd's default-ipc-mode.
    #[serde(default, deserialize_with = "null_default")]
    pub ipc_mode: String,
    /// `--uts`: "" or "host" ("container:<name|id>" through the API).
    #[serde(default, rename = "UTSMode", deserialize_with = "null_default")]
    pub uts_mode: String,
    /// `--userns`: "" (the daemon's remapping, if any) or "host".
    #[serde(default, deserialize_with = "null_default")]
    pub userns_mode: String,
    /// `--shm-size` in bytes; the daemon fills in 64 MiB at create, as dockerd does.
    #[serde(default, deserialize_with = "null_default")]
    pub shm_size: i64,
    /// `--sysctl`: namespaced kernel parameters; left out when empty, as dockerd does.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub sysctls: BTreeMap<String, String>,
    /// `--oom-score-adj`.
    #[serde(default, deserialize_with = "null_default")]
    pub oom_score_adj: i64,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl HostConfig {
    pub fn network_mode(&self) -> &str {
        if self.network_mode.is_empty() {
            "default"
        } else {
            &self.network_mode
        }
    }

    /// What `--security-opt seccomp=...` asks for; the last one counts, as in dockerd. The
    /// docker CLI sends a profile file's content, not its path.
    pub fn seccomp(&self) -> SeccompOpt<'_> {
        let mut choice = SeccompOpt::Default;
        for o in &self.security_opt {
            let Some(v) = o
                .strip_prefix("seccomp=")
                .or_else(|| o.strip_prefix("seccomp:"))
            else {
                continue;
            };
            choice = match v {
                "unconfined" => SeccompOpt::Unconfined,
                "builtin" | "" => SeccompOpt::Default,
                profile => SeccompOpt::Profile(profile),
            };
        }
        choice
    }

    pub fn no_new_privileges(&self) -> bool {
        self.security_opt.iter().any(|o| {
            o == "no-new-privileges"
                || o == "no-new-privileges:true"
                || o == "no-new-privileges=true"
        })
    }
}

/// A container's choice of seccomp filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompOpt<'a> {
    /// Docker's default profile.
    Default,
    /// No filter.
    Unconfined,
    /// A profile in Docker's JSON format.
    Profile(&'a str),
}
