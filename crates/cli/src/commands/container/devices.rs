//! The device, block-I/O and remaining resource flags of `create`/`run` (`--device`,
//! `--device-cgroup-rule`, `--gpus`, `--blkio-*`, `--device-{read,write}-{bps,iops}`,
//! `--oom-kill-disable`, `--memory-swappiness`, `--kernel-memory`, `--cpu-rt-*`,
//! `--isolation`, `--storage-opt`, `--runtime`, `--cgroup-parent`, and the Windows-only
//! ones), checked and encoded into `HostConfig` as the docker CLI does, with its messages.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use muelle_types::container::{
    DeviceMapping, DeviceRequest, HostConfig, ThrottleDevice, WeightDevice,
};

use super::body::ram_in_bytes;

/// docker's device and resource options beyond the common limits.
#[derive(clap::Args, Debug, Default)]
pub struct DeviceOpts {
    /// Add a host device to the container
    #[arg(long, value_name = "list")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long, value_name = "list")]
    pub device_cgroup_rule: Vec<String>,
    /// GPU devices to add to the container ('all' to pass all GPUs)
    #[arg(long, value_name = "gpu-request")]
    pub gpus: Vec<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long, value_name = "uint16")]
    pub blkio_weight: Option<u16>,
    /// Block IO weight (relative device weight) (default [])
    #[arg(long, value_name = "list")]
    pub blkio_weight_device: Vec<String>,
    /// Limit read rate (bytes per second) from a device (default [])
    #[arg(long, value_name = "list")]
    pub device_read_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (default [])
    #[arg(long, value_name = "list")]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (bytes per second) to a device (default [])
    #[arg(long, value_name = "list")]
    pub device_write_bps: Vec<String>,
    /// Limit write rate (IO per second) to a device (default [])
    #[arg(long, value_name = "list")]
    pub device_write_iops: Vec<String>,
    /// Disable OOM Killer
    #[arg(long)]
    pub oom_kill_disable: bool,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub memory_swappiness: Option<i64>,
    /// Kernel memory limit
    #[arg(long, value_name = "bytes")]
    pub kernel_memory: Option<String>,
    /// Limit CPU real-time period in microseconds
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub cpu_rt_period: Option<i64>,
    /// Limit CPU real-time runtime in microseconds
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// Container isolation technology
    #[arg(long, value_name = "string")]
    pub isolation: Option<String>,
    /// Storage driver options for the container
    #[arg(long, value_name = "list")]
    pub storage_opt: Vec<String>,
    /// Runtime to use for this container
    #[arg(long, value_name = "string")]
    pub runtime: Option<String>,
    /// Optional parent cgroup for the container
    #[arg(long, value_name = "string")]
    pub cgroup_parent: Option<String>,
    /// CPU count (Windows only)
    #[arg(long, value_name = "int", hide = true)]
    pub cpu_count: Option<i64>,
    /// CPU percent (Windows only)
    #[arg(long, value_name = "int", hide = true)]
    pub cpu_percent: Option<i64>,
    /// Maximum IO bandwidth limit for the system drive (Windows only)
    #[arg(long, value_name = "bytes", hide = true)]
    pub io_maxbandwidth: Option<String>,
    /// Maximum IOps limit for the system drive (Windows only)
    #[arg(long, value_name = "uint", hide = true)]
    pub io_maxiops: Option<u64>,
}

fn flag_error(flag: &str, value: &str, why: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("invalid argument {value:?} for \"--{flag}\" flag: {why}")
}

/// docker's `validDeviceMode`: some of `rwm`, each once.
fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.len() <= 3
        && mode.bytes().all(|b| b"rwm".contains(&b))
        && (0..mode.len()).all(|i| !mode[i + 1..].contains(&mode[i..=i]))
}

/// `--device HOST[:CTR][:PERMS]` (docker's `validateLinuxPath` then `parseLinuxDevice`).
pub fn parse_device(s: &str) -> Result<DeviceMapping> {
    let parts: Vec<&str> = s.splitn(3, ':').collect();
    if s.matches(':').count() > 2 || parts[0].is_empty() {
        bail!("bad format for path: {s}");
    }
    let (dst, perms) = match parts.as_slice() {
        [src] => (*src, "rwm"),
        [_, second] if valid_device_mode(second) => (parts[0], *second),
        [_, second] => (*second, "rwm"),
        [_, second, mode] => {
            if !valid_device_mode(mode) {
                bail!("bad mode specified: {mode}");
            }
            (*second, *mode)
        }
        _ => bail!("bad format for path: {s}"),
    };
    if !dst.starts_with('/') {
        bail!("{dst} is not an absolute path");
    }
    Ok(DeviceMapping {
        path_on_host: parts[0].to_owned(),
        path_in_container: dst.to_owned(),
        cgroup_permissions: perms.to_owned(),
    })
}

/// `--device-cgroup-rule` as the docker CLI checks it.
fn check_cgroup_rule(rule: &str) -> Result<()> {
    let bad = || {
        flag_error(
            "device-cgroup-rule",
            rule,
            format!("invalid device cgroup format '{rule}'"),
        )
    };
    let parts: Vec<&str> = rule.split(' ').collect();
    let [typ, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let number = |n: &str| n == "*" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ok = matches!(*typ, "a" | "b" | "c")
        && numbers
            .split_once(':')
            .is_some_and(|(a, b)| number(a) && number(b))
        && (1..=3).contains(&access.len())
        && access.bytes().all(|b| b"rwm".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `PATH:VALUE` with a `/dev/` path, as docker's blkio validators split it.
fn device_value<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str)> {
    let (path, value) = s
        .split_once(':')
        .filter(|(p, _)| !p.is_empty())
        .ok_or_else(|| flag_error(flag, s, format!("bad format: {s}")))?;
    if !path.starts_with("/dev/") {
        return Err(flag_error(
            flag,
            s,
            format!("bad format for device path: {s}"),
        ));
    }
    Ok((path, value))
}

fn weight_device(s: &str) -> Result<WeightDevice> {
    let flag = "blkio-weight-device";
    let (path, value) = device_value(flag, s)?;
    let weight = value
        .parse::<u16>()
        .ok()
        .filter(|w| *w == 0 || (10..=1000).contains(w))
        .ok_or_else(|| flag_error(flag, s, format!("invalid weight for device: {s}")))?;
    Ok(WeightDevice {
        path: path.to_owned(),
        weight,
    })
}

fn bps_device(flag: &str, s: &str) -> Result<ThrottleDevice> {
    let (path, value) = device_value(flag, s)?;
    let rate = ram_in_bytes(value).ok().filter(|r| *r >= 0).ok_or_else(|| {
        flag_error(flag, s, format!("invalid rate for device: {s}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"))
    })?;
    Ok(ThrottleDevice {
        path: path.to_owned(),
        rate: rate as u64,
    })
}

fn iops_device(flag: &str, s: &str) -> Result<ThrottleDevice> {
    let (path, value) = device_value(flag, s)?;
    let rate = value.parse::<u64>().map_err(|_| {
        flag_error(flag, s, format!("invalid rate for device: {s}. The correct format is <device-path>:<number>. Number must be a positive integer"))
    })?;
    Ok(ThrottleDevice {
        path: path.to_owned(),
        rate,
    })
}

/// Splits on commas outside double quotes, dropping the quotes (Go's csv reader).
fn csv_fields(s: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// `--gpus`: docker's `GpuOpts` (`all`, a count, `device=`, `capabilities=`, `driver=`,
/// `options=`).
pub fn parse_gpus(s: &str) -> Result<DeviceRequest> {
    let flag = |why: String| flag_error("gpus", s, why);
    let count = |v: &str| -> Result<i64> {
        if v == "all" {
            return Ok(-1);
        }
        v.parse::<i64>().map_err(|_| {
            flag(format!(
                "invalid count ({v}): value must be either \"all\" or an integer: invalid syntax"
            ))
        })
    };
    let mut req = DeviceRequest::default();
    let mut seen: Vec<String> = Vec::new();
    for field in csv_fields(s) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (field.clone(), None),
        };
        if seen.contains(&key) {
            return Err(flag(format!(
                "gpu request key '{key}' can be specified only once"
            )));
        }
        seen.push(key.clone());
        let Some(value) = value else {
            seen.push("count".into());
            req.count = count(&key)?;
            continue;
        };
        match key.as_str() {
            "driver" => req.driver = value,
            "count" => req.count = count(&value)?,
            "device" => req.device_ids = Some(value.split(',').map(str::to_owned).collect()),
            "capabilities" => {
                let mut caps: Vec<String> = value.split(',').map(str::to_owned).collect();
                caps.push("gpu".into());
                req.capabilities = Some(vec![caps]);
            }
            "options" => {
                req.options = Some(
                    csv_fields(&value)
                        .into_iter()
                        .map(|kv| match kv.split_once('=') {
                            Some((k, v)) => (k.to_owned(), v.to_owned()),
                            None => (kv, String::new()),
                        })
                        .collect(),
                )
            }
            _ => return Err(flag(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if !seen.iter().any(|k| k == "count") && req.device_ids.is_none() {
        req.count = 1;
    }
    req.options.get_or_insert_with(BTreeMap::new);
    req.capabilities
        .get_or_insert_with(|| vec![vec!["gpu".to_string()]]);
    Ok(req)
}

/// The docker CLI's answer to a flag only a Windows daemon takes (it prints it and exits 1).
fn windows_only(flag: &str) -> anyhow::Error {
    eprintln!(
        "\"--{flag}\" is only supported on a Docker daemon running on windows, but the Docker daemon is running on linux"
    );
    crate::Exit(1).into()
}

impl DeviceOpts {
    /// Sets the fields these flags own in `hc`.
    pub fn apply(&self, hc: &mut HostConfig) -> Result<()> {
        for (flag, set) in [
            ("cpu-count", self.cpu_count.is_some()),
            ("cpu-percent", self.cpu_percent.is_some()),
            ("io-maxbandwidth", self.io_maxbandwidth.is_some()),
            ("io-maxiops", self.io_maxiops.is_some()),
        ] {
            if set {
                return Err(windows_only(flag));
            }
        }
        for r in &self.device_cgroup_rule {
            check_cgroup_rule(r)?;
        }
        let some = |v: Vec<ThrottleDevice>| (!v.is_empty()).then_some(v);
        let weights: Vec<WeightDevice> = self
            .blkio_weight_device
            .iter()
            .map(|s| weight_device(s))
            .collect::<Result<_>>()?;
        hc.blkio_weight_device = (!weights.is_empty()).then_some(weights);
        let throttles = |v: &[String], f: &dyn Fn(&str) -> Result<ThrottleDevice>| {
            v.iter().map(|s| f(s)).collect::<Result<Vec<_>>>()
        };
        hc.blkio_device_read_bps = some(throttles(&self.device_read_bps, &|s| {
            bps_device("device-read-bps", s)
        })?);
        hc.blkio_device_write_bps = some(throttles(&self.device_write_bps, &|s| {
            bps_device("device-write-bps", s)
        })?);
        hc.blkio_device_read_iops = some(throttles(&self.device_read_iops, &|s| {
            iops_device("device-read-iops", s)
        })?);
        hc.blkio_device_write_iops = some(throttles(&self.device_write_iops, &|s| {
            iops_device("device-write-iops", s)
        })?);
        hc.kernel_memory = match &self.kernel_memory {
            Some(k) => ram_in_bytes(k).map_err(|e| flag_error("kernel-memory", k, e))?,
            None => 0,
        };
        let gpus = self
            .gpus
            .iter()
            .map(|g| parse_gpus(g))
            .collect::<Result<Vec<_>>>()?;
        if let Some(s) = self.memory_swappiness.filter(|s| *s != -1) {
            if !(0..=100).contains(&s) {
                bail!("invalid value: {s}. Valid memory swappiness range is 0-100");
            }
            hc.memory_swappiness = Some(s);
        }
        let mut storage = BTreeMap::new();
        for o in &self.storage_opt {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| anyhow!("invalid storage option"))?;
            storage.insert(k.to_owned(), v.to_owned());
        }
        hc.storage_opt = (!storage.is_empty()).then_some(storage);
        let devices: Vec<DeviceMapping> = self
            .device
            .iter()
            .map(|d| parse_device(d))
            .collect::<Result<_>>()?;
        // Lists only when given, so that a create without these flags sends what it did.
        hc.devices = (!devices.is_empty()).then_some(devices);
        hc.device_cgroup_rules =
            (!self.device_cgroup_rule.is_empty()).then(|| self.device_cgroup_rule.clone());
        hc.device_requests = (!gpus.is_empty()).then_some(gpus);
        hc.blkio_weight = self.blkio_weight.unwrap_or(0);
        hc.oom_kill_disable = self.oom_kill_disable.then_some(true);
        hc.cpu_realtime_period = self.cpu_rt_period.unwrap_or(0);
        hc.cpu_realtime_runtime = self.cpu_rt_runtime.unwrap_or(0);
        hc.isolation = self.isolation.clone().unwrap_or_default();
        if let Some(r) = &self.runtime {
            hc.runtime = r.clone();
        }
        hc.cgroup_parent = self.cgroup_parent.clone().unwrap_or_default();
        Ok(())
    }
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
