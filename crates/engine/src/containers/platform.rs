//! What this host's cgroups offer for the device, block-I/O, memory and real-time settings
//! (dockerd's `sysinfo`), and dockerd's checks of those settings at create and update: a
//! setting the host lacks is dropped with dockerd's warning, a wrong one refused with its
//! message, Windows-only ones answered as dockerd on Linux answers them.

use std::path::Path;

use muelle_types::container::HostConfig;

use super::ContainerError;

/// dockerd's smallest kernel memory limit.
const MIN_KERNEL_MEMORY: i64 = 6 * 1024 * 1024;

/// The cgroup files (v1) or controllers (v2) the settings need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupCaps {
    pub blkio_weight: bool,
    pub blkio_weight_device: bool,
    pub read_bps: bool,
    pub write_bps: bool,
    pub read_iops: bool,
    pub write_iops: bool,
    pub swappiness: bool,
    pub oom_kill_disable: bool,
    pub kernel_memory: bool,
    pub rt_period: bool,
    pub rt_runtime: bool,
}

impl CgroupCaps {
    /// This host's, from /sys/fs/cgroup, read once (as dockerd reads its sysinfo at start):
    /// the kernel's cgroup files do not come and go while the daemon runs.
    pub fn host() -> &'static Self {
        static HOST: std::sync::OnceLock<CgroupCaps> = std::sync::OnceLock::new();
        HOST.get_or_init(|| Self::detect_at(Path::new("/sys/fs/cgroup")))
    }

    /// Those of the cgroup file system mounted at `root`: v2 when it has
    /// `cgroup.controllers` (only the `io` controller helps; memory swappiness, the OOM
    /// switch, kernel memory and real-time groups have no v2 file), else v1's hierarchies.
    pub fn detect_at(root: &Path) -> Self {
        if let Ok(c) = std::fs::read_to_string(root.join("cgroup.controllers")) {
            let io = c.split_whitespace().any(|c| c == "io");
            return Self {
                blkio_weight: io,
                blkio_weight_device: io,
                read_bps: io,
                write_bps: io,
                read_iops: io,
                write_iops: io,
                ..Self::default()
            };
        }
        let has = |dir: &str, file: &str| root.join(dir).join(file).exists();
        Self {
            // BFQ's weight files (CFQ is gone since Linux 5.0) take the same values.
            blkio_weight: has("blkio", "blkio.weight") || has("blkio", "blkio.bfq.weight"),
            blkio_weight_device: has("blkio", "blkio.weight_device")
                || has("blkio", "blkio.bfq.weight"),
            read_bps: has("blkio", "blkio.throttle.read_bps_device"),
            write_bps: has("blkio", "blkio.throttle.write_bps_device"),
            read_iops: has("blkio", "blkio.throttle.read_iops_device"),
            write_iops: has("blkio", "blkio.throttle.write_iops_device"),
            swappiness: has("memory", "memory.swappiness"),
            oom_kill_disable: has("memory", "memory.oom_control"),
            kernel_memory: has("memory", "memory.kmem.limit_in_bytes"),
            rt_period: has("cpu", "cpu.rt_period_us"),
            rt_runtime: has("cpu", "cpu.rt_runtime_us"),
        }
    }
}

/// The daemon's parent of containers' cgroups (cgroupfs form).
const DEFAULT_CGROUP_PARENT: &str = "/muelle";

/// `linux.cgroupsPath` of a container: its ID under `--cgroup-parent` or the daemon's
/// parent, joined and cleaned as dockerd joins them for the cgroupfs driver (a `.slice`
/// name is a plain directory). The path is always absolute: a relative parent is taken
/// from the cgroup root, where a dockerd outside any cgroup puts it; the runtime would
/// otherwise take it relative to its own cgroup, which is muelled's, wherever that was
/// started.
pub fn cgroups_path(parent: &str, id: &str) -> String {
    let parent = if parent.is_empty() {
        DEFAULT_CGROUP_PARENT
    } else {
        parent
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in parent.split('/').chain(std::iter::once(id)) {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

fn invalid(m: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(m.into())
}

/// dockerd's checks (runconfig's and `verifyPlatformContainerResources`') of these
/// settings in a create request, in its order; `hc` loses what the host cannot apply and
/// gets dockerd's defaults. Returns the warnings.
pub fn check_create(hc: &mut HostConfig, caps: &CgroupCaps) -> Result<Vec<String>, ContainerError> {
    if !(hc.isolation.is_empty() || hc.isolation.eq_ignore_ascii_case("default")) {
        return Err(invalid(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            hc.isolation
        )));
    }
    if hc.io_maximum_bandwidth != 0 {
        return Err(invalid(
            "Invalid QoS settings: linux does not support configuration of maximum bandwidth",
        ));
    }
    if hc.io_maximum_iops != 0 {
        return Err(invalid(
            "Invalid QoS settings: linux does not support configuration of maximum IOPs",
        ));
    }
    check_realtime(hc.cpu_realtime_period, hc.cpu_realtime_runtime, caps)?;

    let mut warnings = Vec::new();
    if hc.memory_swappiness == Some(-1) {
        hc.memory_swappiness = None;
    }
    if hc.memory_swappiness.is_some() && !caps.swappiness {
        warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".to_string());
        hc.memory_swappiness = None;
    }
    if let Some(s) = hc.memory_swappiness {
        if !(0..=100).contains(&s) {
            return Err(invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    check_kernel_memory(&mut hc.kernel_memory, caps, &mut warnings)?;
    if hc.oom_kill_disable.is_some() && !caps.oom_kill_disable {
        if hc.oom_kill_disable == Some(true) {
            warnings.push(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            );
        }
        hc.oom_kill_disable = None;
    }
    if hc.oom_kill_disable == Some(true) && hc.memory == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }
    if hc.cpu_percent > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".into());
        hc.cpu_percent = 0;
    }
    check_blkio_weight(&mut hc.blkio_weight, caps, &mut warnings)?;
    let discard = |list: &mut Option<Vec<_>>, ok: bool, warning: &str, w: &mut Vec<String>| {
        if list.as_ref().is_some_and(|l: &Vec<_>| !l.is_empty()) && !ok {
            w.push(warning.to_string());
            *list = Some(Vec::new());
        }
    };
    if hc
        .blkio_weight_device
        .as_ref()
        .is_some_and(|l| !l.is_empty())
        && !caps.blkio_weight_device
    {
        warnings.push("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.".into());
        hc.blkio_weight_device = Some(Vec::new());
    }
    discard(&mut hc.blkio_device_read_bps, caps.read_bps, "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.", &mut warnings);
    discard(&mut hc.blkio_device_write_bps, caps.write_bps, "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.", &mut warnings);
    discard(&mut hc.blkio_device_read_iops, caps.read_iops, "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.", &mut warnings);
    discard(&mut hc.blkio_device_write_iops, caps.write_iops, "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.", &mut warnings);
    if hc.storage_opt.as_ref().is_some_and(|o| !o.is_empty()) {
        // Both snapshotters lack project quotas, as overlay2 does off xfs with pquota.
        return Err(invalid(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
        ));
    }
    if hc.oom_kill_disable.is_none() {
        hc.oom_kill_disable = Some(false);
    }
    Ok(warnings)
}

/// runconfig's real-time checks (the same at update).
pub fn check_realtime(period: i64, runtime: i64, caps: &CgroupCaps) -> Result<(), ContainerError> {
    if period > 0 && !caps.rt_period {
        return Err(invalid(
            "Your kernel does not support cgroup cpu real-time period",
        ));
    }
    if runtime > 0 && !caps.rt_runtime {
        return Err(invalid(
            "Your kernel does not support cgroup cpu real-time runtime",
        ));
    }
    if period != 0 && runtime != 0 && runtime > period {
        return Err(invalid(
            "cpu real-time runtime cannot be higher than cpu real-time period",
        ));
    }
    Ok(())
}

/// dockerd 20.10's kernel memory rules: deprecated (a warning), dropped where the host
/// lacks the file, at least 6MB. The value is kept for inspect but never written: runc
/// ignores it, and kernels since 6.1 refuse the write.
pub fn check_kernel_memory(
    kmem: &mut i64,
    caps: &CgroupCaps,
    warnings: &mut Vec<String>,
) -> Result<(), ContainerError> {
    if *kmem > 0 {
        warnings.push(
            "Specifying a kernel memory limit is deprecated and will be removed in a future release."
                .into(),
        );
    }
    if *kmem > 0 && !caps.kernel_memory {
        warnings.push("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        *kmem = 0;
    }
    if *kmem > 0 && *kmem < MIN_KERNEL_MEMORY {
        return Err(invalid("Minimum kernel memory limit allowed is 6MB"));
    }
    Ok(())
}

/// The weight is discarded on a host without it before its range is checked, as dockerd.
fn check_blkio_weight(
    weight: &mut u16,
    caps: &CgroupCaps,
    warnings: &mut Vec<String>,
) -> Result<(), ContainerError> {
    if *weight > 0 && !caps.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        *weight = 0;
    }
    if *weight > 0 && !(10..=1000).contains(weight) {
        return Err(invalid("Range of blkio weight is from 10 to 1000"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "platform_tests.rs"]
mod tests;
