//! A container's cgroup limits from its `HostConfig`, as dockerd turns `Resources` into the
//! OCI spec's: at start (the spec) and for `docker update` (the running cgroup). Zero means
//! "not set" for every field, as in Docker.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::model::HostConfig;

/// The CFS period `--cpus` uses (100 ms, in microseconds), as dockerd.
const NANO_CPUS_PERIOD: u64 = 100_000;

/// When the limits are applied: a new cgroup leaves a zero or negative pids limit out (the
/// default is unlimited already); an update writes it, so it lifts an earlier limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Start,
    Update,
}

/// The OCI resources (without device rules) a container's `HostConfig` asks for.
pub fn linux_resources(hc: &HostConfig, apply: Apply) -> LinuxResources {
    let mut r = LinuxResources::default();
    let mut mem = LinuxMemory::default();
    let mut any_mem = false;
    if hc.memory > 0 {
        mem.set_limit(Some(hc.memory));
        any_mem = true;
    }
    // -1 (unlimited swap) is written too; 0 leaves the kernel's default.
    if hc.memory_swap != 0 {
        mem.set_swap(Some(hc.memory_swap));
        any_mem = true;
    }
    if hc.memory_reservation > 0 {
        mem.set_reservation(Some(hc.memory_reservation));
        any_mem = true;
    }
    if any_mem {
        r.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    let mut any_cpu = false;
    if hc.cpu_shares > 0 {
        cpu.set_shares(Some(hc.cpu_shares as u64));
        any_cpu = true;
    }
    let (mut period, mut quota) = (0u64, 0i64);
    if hc.nano_cpus > 0 {
        period = NANO_CPUS_PERIOD;
        let q = (hc.nano_cpus as u128 * NANO_CPUS_PERIOD as u128) / 1_000_000_000;
        quota = i64::try_from(q).unwrap_or(i64::MAX);
    }
    if quota == 0 && hc.cpu_quota != 0 {
        quota = hc.cpu_quota;
    }
    if period == 0 && hc.cpu_period > 0 {
        period = hc.cpu_period as u64;
    }
    if period != 0 {
        cpu.set_period(Some(period));
        any_cpu = true;
    }
    if quota != 0 {
        cpu.set_quota(Some(quota));
        any_cpu = true;
    }
    if !hc.cpuset_cpus.is_empty() {
        cpu.set_cpus(Some(hc.cpuset_cpus.clone()));
        any_cpu = true;
    }
    if !hc.cpuset_mems.is_empty() {
        cpu.set_mems(Some(hc.cpuset_mems.clone()));
        any_cpu = true;
    }
    if any_cpu {
        r.set_cpu(Some(cpu));
    }

    match (hc.pids_limit, apply) {
        (Some(p), _) if p > 0 => {
            r.set_pids(Some(pids(p)));
        }
        (Some(_), Apply::Update) => {
            r.set_pids(Some(pids(-1)));
        }
        _ => {}
    }

    if hc.blkio_weight > 0 {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(hc.blkio_weight));
        r.set_block_io(Some(b));
    }
    add_tuning(hc, &mut r);
    r
}

/// Memory swappiness, the OOM switch and the real-time CPU settings. Kernel memory is never
/// written: runc ignores it (dockerd's behaviour comes from there) and kernels since 6.1
/// refuse it.
fn add_tuning(hc: &HostConfig, r: &mut LinuxResources) {
    let swappiness = hc.memory_swappiness.filter(|s| *s >= 0);
    if swappiness.is_some() || hc.oom_kill_disable == Some(true) {
        let mut mem = r.memory().unwrap_or_default();
        if let Some(s) = swappiness {
            mem.set_swappiness(Some(s as u64));
        }
        if hc.oom_kill_disable == Some(true) {
            mem.set_disable_oom_killer(Some(true));
        }
        r.set_memory(Some(mem));
    }
    if hc.cpu_realtime_period > 0 || hc.cpu_realtime_runtime != 0 {
        let mut cpu = r.cpu().clone().unwrap_or_default();
        if hc.cpu_realtime_period > 0 {
            cpu.set_realtime_period(Some(hc.cpu_realtime_period as u64));
        }
        if hc.cpu_realtime_runtime != 0 {
            cpu.set_realtime_runtime(Some(hc.cpu_realtime_runtime));
        }
        r.set_cpu(Some(cpu));
    }
}

fn pids(limit: i64) -> LinuxPids {
    let mut p = LinuxPids::default();
    p.set_limit(limit);
    p
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn docker_flags_become_oci_resources() {
        let hc = HostConfig {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            nano_cpus: 1_500_000_000,
            cpu_shares: 512,
            pids_limit: Some(20),
            cpuset_cpus: "0".into(),
            blkio_weight: 300,
            ..HostConfig::default()
        };
        let r = linux_resources(&hc, Apply::Start);
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(128 << 20));
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.period(), Some(100_000));
        assert_eq!(c.quota(), Some(150_000));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 20);
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
    }

    #[test]
    fn swappiness_oom_and_realtime() {
        let hc = HostConfig {
            memory_swappiness: Some(30),
            oom_kill_disable: Some(true),
            kernel_memory: 64 << 20,
            cpu_realtime_period: 100_000,
            cpu_realtime_runtime: 5000,
            ..HostConfig::default()
        };
        let r = linux_resources(&hc, Apply::Start);
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.swappiness(), Some(30));
        assert_eq!(m.disable_oom_killer(), Some(true));
        assert_eq!(m.kernel(), None);
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(c.realtime_period(), Some(100_000));
        assert_eq!(c.realtime_runtime(), Some(5000));
        let off = HostConfig {
            oom_kill_disable: Some(false),
            memory_swappiness: None,
            ..HostConfig::default()
        };
        assert!(linux_resources(&off, Apply::Start).memory().is_none());
    }

    #[test]
    fn nothing_asked_nothing_set_and_update_lifts_pids() {
        let r = linux_resources(&HostConfig::default(), Apply::Start);
        assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
        let hc = HostConfig {
            pids_limit: Some(0),
            cpu_quota: 50_000,
            cpu_period: 200_000,
            ..HostConfig::default()
        };
        assert!(linux_resources(&hc, Apply::Start).pids().is_none());
        let r = linux_resources(&hc, Apply::Update);
        assert_eq!(r.pids().as_ref().unwrap().limit(), -1);
        let c = r.cpu().as_ref().unwrap();
        assert_eq!((c.period(), c.quota()), (Some(200_000), Some(50_000)));
    }
}
