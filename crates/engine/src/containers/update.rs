//! `docker update`: new limits (and restart policy) for a container, checked as dockerd
//! checks them, merged into its `HostConfig` as dockerd merges them (zero leaves a setting
//! as it is), saved, and written to the running container's cgroup. A stopped container
//! takes them at its next start, from the record.

use muelle_types::container::ContainerUpdate;

use super::model::HostConfig;
use super::platform::{self, CgroupCaps};
use super::resources::{linux_resources, Apply};
use super::validate::check_restart_policy;
use super::ContainerError;
use crate::{Engine, Result};

/// dockerd's smallest memory limit and reservation.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

impl Engine {
    /// Applies `u` to the container; the answer's warnings (settings this host cannot
    /// apply and dockerd discards).
    pub async fn update_container(
        &self,
        name_or_id: &str,
        u: &ContainerUpdate,
    ) -> Result<Vec<String>> {
        let mut u = u.clone();
        let caps = CgroupCaps::host();
        let mut warnings = adapt(&mut u, caps.blkio_weight);
        platform::check_kernel_memory(&mut u.kernel_memory, caps, &mut warnings)?;
        check_update(
            &u,
            online_cpus(),
            host_list("/sys/devices/system/node/online"),
        )?;
        let u = &u;
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        let rec = ctr.record();
        let cannot = |why: String| {
            ContainerError::Internal(format!("Cannot update container {}: {why}", rec.id))
        };
        if rec.state.removing() || rec.state.dead() {
            return Err(
                cannot("container is marked for removal and cannot be \"update\"".into()).into(),
            );
        }
        let merged = merge(&rec.host_config, u).map_err(|why| {
            ContainerError::Conflict(format!("Cannot update container {}: {why}", rec.id))
        })?;
        // The in-memory record is changed in place (its state may move meanwhile), then saved.
        let set = |hc: &HostConfig| {
            ctr.update(|r| {
                r.host_config = hc.clone();
                r.clone()
            })
        };
        let new = set(&merged);
        self.containers.save(&new)?;
        if rec.is_running() && !rec.state.restarting() {
            // As dockerd: only what the request names is written to the cgroup.
            let asked = requested(u);
            let applied = muelle_runtime::Container::load(self.containers.runtime_root(), &rec.id)
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    c.update(&linux_resources(&asked, Apply::Update))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = applied {
                // The record goes back to what the cgroup still has.
                self.containers.save(&set(&rec.host_config))?;
                return Err(cannot(e).into());
            }
        }
        self.container_event(&new, "update", &[]);
        Ok(warnings)
    }
}

const NO_BLKIO_WEIGHT: &str =
    "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.";

/// dockerd's adjustments before its checks: a setting the host cannot apply is dropped
/// with a warning.
pub(crate) fn adapt(u: &mut ContainerUpdate, blkio_weight: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    if u.blkio_weight > 0 && !blkio_weight {
        warnings.push(NO_BLKIO_WEIGHT.to_string());
        u.blkio_weight = 0;
    }
    warnings
}

/// The request's own limits as a `HostConfig` (what is written to a running cgroup).
fn requested(u: &ContainerUpdate) -> HostConfig {
    HostConfig {
        memory: u.memory,
        memory_swap: u.memory_swap,
        memory_reservation: u.memory_reservation,
        nano_cpus: u.nano_cpus,
        cpu_shares: u.cpu_shares,
        cpu_period: u.cpu_period,
        cpu_quota: u.cpu_quota,
        cpuset_cpus: u.cpuset_cpus.clone(),
        cpuset_mems: u.cpuset_mems.clone(),
        pids_limit: u.pids_limit,
        blkio_weight: u.blkio_weight,
        // The real-time settings are recorded, not written: dockerd's update does not pass
        // them to the running container either (they apply from its next start).
        ..HostConfig::default()
    }
}

/// dockerd's checks of an update request, with its messages (`cpus`/`mems`: the host's
/// online CPUs and memory nodes).
pub(crate) fn check_update(
    u: &ContainerUpdate,
    cpus: Vec<u32>,
    mems: Vec<u32>,
) -> Result<(), ContainerError> {
    let bad = |m: &str| Err(ContainerError::Invalid(m.to_string()));
    if u.memory != 0 && u.memory < MIN_MEMORY {
        return bad("Minimum memory limit allowed is 6MB");
    }
    if u.memory > 0 && u.memory_swap > 0 && u.memory_swap < u.memory {
        return bad("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if u.memory_reservation > 0 && u.memory_reservation < MIN_MEMORY {
        return bad("Minimum memory reservation allowed is 6MB");
    }
    if u.memory > 0 && u.memory_reservation > 0 && u.memory < u.memory_reservation {
        return bad(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if u.nano_cpus > 0 && u.cpu_period > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if u.nano_cpus > 0 && u.cpu_quota > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    let n = cpus.len() as i64;
    if u.nano_cpus < 0 || u.nano_cpus > n.saturating_mul(1_000_000_000) {
        return Err(ContainerError::Invalid(format!(
            "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
        )));
    }
    if u.cpu_period != 0 && !(1000..=1_000_000).contains(&u.cpu_period) {
        return bad(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if u.cpu_quota > 0 && u.cpu_quota < 1000 {
        return bad("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    check_set(
        &u.cpuset_cpus,
        &cpus,
        "cpuset cpus",
        "Requested CPUs are not available",
    )?;
    check_set(
        &u.cpuset_mems,
        &mems,
        "cpuset mems",
        "Requested memory nodes are not available",
    )?;
    if u.blkio_weight > 0 && !(10..=1000).contains(&u.blkio_weight) {
        return bad("Range of blkio weight is from 10 to 1000");
    }
    match u.restart_policy.name.as_str() {
        "" => {}
        // dockerd words an unknown name differently here than at create.
        "no" | "always" | "unless-stopped" | "on-failure" => {
            check_restart_policy(&u.restart_policy)?
        }
        other => {
            return Err(ContainerError::Invalid(format!(
                "invalid restart policy '{other}'"
            )))
        }
    }
    Ok(())
}

fn check_set(asked: &str, have: &[u32], what: &str, missing: &str) -> Result<(), ContainerError> {
    if asked.is_empty() {
        return Ok(());
    }
    let Some(list) = parse_list(asked) else {
        return Err(ContainerError::Invalid(format!(
            "Invalid value {asked} for {what}: invalid format: {asked}"
        )));
    };
    if list.iter().any(|c| !have.contains(c)) {
        return Err(ContainerError::Invalid(format!(
            "{missing} - requested {asked}, available: {}",
            format_list(have)
        )));
    }
    Ok(())
}

/// dockerd's `UpdateContainer`: non-zero fields replace the record's, with its one check
/// of memory against an earlier memory+swap limit.
pub(crate) fn merge(old: &HostConfig, u: &ContainerUpdate) -> Result<HostConfig, String> {
    let mut h = old.clone();
    if u.blkio_weight != 0 {
        h.blkio_weight = u.blkio_weight;
    }
    if u.cpu_shares != 0 {
        h.cpu_shares = u.cpu_shares;
    }
    if u.cpu_period != 0 {
        h.cpu_period = u.cpu_period;
    }
    if u.cpu_quota != 0 {
        h.cpu_quota = u.cpu_quota;
    }
    if u.cpu_realtime_period != 0 {
        h.cpu_realtime_period = u.cpu_realtime_period;
    }
    if u.cpu_realtime_runtime != 0 {
        h.cpu_realtime_runtime = u.cpu_realtime_runtime;
    }
    if u.kernel_memory != 0 {
        h.kernel_memory = u.kernel_memory;
    }
    let conflict = |what: &str, set: &str| {
        Err(format!(
            "Conflicting options: {what} cannot be updated as {set} has already been set"
        ))
    };
    if u.nano_cpus > 0 && old.cpu_period > 0 {
        return conflict("Nano CPUs", "CPU Period");
    }
    if u.nano_cpus > 0 && old.cpu_quota > 0 {
        return conflict("Nano CPUs", "CPU Quota");
    }
    if u.cpu_period > 0 && old.nano_cpus > 0 {
        return conflict("CPU Period", "NanoCPUs");
    }
    if u.cpu_quota > 0 && old.nano_cpus > 0 {
        return conflict("CPU Quota", "NanoCPUs");
    }
    if u.nano_cpus != 0 {
        h.nano_cpus = u.nano_cpus;
    }
    if !u.cpuset_cpus.is_empty() {
        h.cpuset_cpus = u.cpuset_cpus.clone();
    }
    if !u.cpuset_mems.is_empty() {
        h.cpuset_mems = u.cpuset_mems.clone();
    }
    if u.memory != 0 {
        // As dockerd: also when no swap limit was set (0), so a first memory limit needs
        // --memory-swap with it.
        if u.memory > h.memory_swap && u.memory_swap == 0 {
            return Err("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into());
        }
        h.memory = u.memory;
    }
    if u.memory_swap != 0 {
        h.memory_swap = u.memory_swap;
    }
    if u.memory_reservation != 0 {
        h.memory_reservation = u.memory_reservation;
    }
    if let Some(p) = u.pids_limit {
        // dockerd records "unlimited" as 0.
        h.pids_limit = Some(p.max(0));
    }
    if !u.restart_policy.name.is_empty() {
        if old.auto_remove && !matches!(u.restart_policy.name.as_str(), "no") {
            return Err(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            );
        }
        h.restart_policy = u.restart_policy.clone();
    }
    Ok(h)
}

/// CPUs this host has online (/sys/devices/system/cpu/online), as dockerd checks cpusets.
fn online_cpus() -> Vec<u32> {
    let cpus = host_list("/sys/devices/system/cpu/online");
    if cpus.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        return (0..n).collect();
    }
    cpus
}

/// A kernel list file ("0-3,5"); a host without it has node 0 only.
fn host_list(path: &str) -> Vec<u32> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| parse_list(s.trim()))
        .unwrap_or_else(|| vec![0])
}

/// "0-2,5" → [0, 1, 2, 5]; `None` for anything else, as Docker's `ParseUintList`.
pub(crate) fn parse_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
                if b < a || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse::<u32>().ok()?),
        }
    }
    Some(out)
}

fn format_list(v: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            i += 1;
            end = v[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
