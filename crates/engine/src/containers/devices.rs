//! A container's host devices as dockerd gives them: `--device` (a node made in the
//! container and allowed in its device cgroup, a directory standing for every device under
//! it), `--device-cgroup-rule` (allowed without a node), device requests (`--gpus`, which no
//! driver here serves), and the per-device block-I/O weights and throttles, whose paths are
//! host devices too. Checked at create, so that a container that could never start is not
//! made, and resolved again at start, where a device may have gone.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use muelle_types::container::{DeviceMapping, HostConfig, ThrottleDevice};
use oci_spec::runtime::{
    LinuxBlockIo, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources,
    LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};

/// Why a path is no device.
enum NotDevice {
    /// Not a character or block device (a directory, a file).
    NotADevice,
    Io(std::io::Error),
}

/// A host device node as a spec device, with `perms` (runc's `DeviceFromPath`); symlinks
/// are not followed here (the caller resolves the top-level one, as dockerd).
fn device_from_path(
    path: &Path,
    perms: &str,
) -> Result<(LinuxDevice, LinuxDeviceCgroup), NotDevice> {
    let md = std::fs::symlink_metadata(path).map_err(NotDevice::Io)?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(NotDevice::NotADevice);
    };
    let major = rustix::fs::major(md.rdev()) as i64;
    let minor = rustix::fs::minor(md.rdev()) as i64;
    let mut d = LinuxDevice::default();
    d.set_path(path.to_path_buf())
        .set_typ(typ)
        .set_major(major)
        .set_minor(minor)
        .set_file_mode(Some(md.mode() & 0o7777))
        .set_uid(Some(md.uid()))
        .set_gid(Some(md.gid()));
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(true)
        .set_typ(Some(typ))
        .set_major(Some(major))
        .set_minor(Some(minor))
        .set_access(Some(perms.to_string()));
    Ok((d, rule))
}

/// The nodes and cgroup rules of one `--device` (moby's `DevicesFromPath`): a device node,
/// or every device under a directory, placed under `PathInContainer`.
pub fn from_mapping(
    m: &DeviceMapping,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), String> {
    let perms = if m.cgroup_permissions.is_empty() {
        "rwm"
    } else {
        m.cgroup_permissions.as_str()
    };
    let on_host = Path::new(&m.path_on_host);
    let in_ctr = if m.path_in_container.is_empty() {
        on_host
    } else {
        Path::new(&m.path_in_container)
    };
    let resolved = match std::fs::symlink_metadata(on_host) {
        Ok(md) if md.file_type().is_symlink() => {
            std::fs::canonicalize(on_host).unwrap_or_else(|_| on_host.to_path_buf())
        }
        _ => on_host.to_path_buf(),
    };
    let gathering = |why: &dyn std::fmt::Display| {
        format!(
            "error gathering device information while adding custom device {:?}: {why}",
            m.path_on_host
        )
    };
    let first_err = match device_from_path(&resolved, perms) {
        Ok((mut d, rule)) => {
            d.set_path(in_ctr.to_path_buf());
            return Ok((vec![d], vec![rule]));
        }
        Err(NotDevice::Io(e)) => return Err(gathering(&errno_text(&e))),
        Err(NotDevice::NotADevice) => "not a device node",
    };
    let (mut devs, mut rules) = (Vec::new(), Vec::new());
    if resolved.is_dir() {
        walk(&resolved, &mut |p| {
            if let Ok((mut d, rule)) = device_from_path(p, perms) {
                let rel = p.strip_prefix(&resolved).unwrap_or(p);
                d.set_path(in_ctr.join(rel));
                devs.push(d);
                rules.push(rule);
            }
        });
    }
    if devs.is_empty() {
        return Err(gathering(&first_err));
    }
    Ok((devs, rules))
}

/// Every path under `dir` in lexical order, not following symlinks (Go's `filepath.Walk`).
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        f(&p);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            walk(&p, f);
        }
    }
}

/// An errno's text as Go prints it ("no such file or directory"), without Rust's suffix.
fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// `--device-cgroup-rule`: `TYPE MAJOR:MINOR ACCESS` with `*` for any number (moby's
/// `AppendDevicePermissionsFromCgroupRules`).
pub fn cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, String> {
    let bad = || format!("invalid device cgroup rule format: '{rule}'");
    let parts: Vec<&str> = rule.split(' ').collect();
    let [typ, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let typ = match *typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |s: &str| -> Result<Option<i64>, String> {
        if s == "*" {
            return Ok(None);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map(Some).map_err(|_| bad())
    };
    let (major, minor) = (number(major)?, number(minor)?);
    if access.is_empty() || access.len() > 3 || !access.bytes().all(|b| b"rwm".contains(&b)) {
        return Err(bad());
    }
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(true)
        .set_typ(Some(typ))
        .set_major(major)
        .set_minor(minor)
        .set_access(Some(access.to_string()));
    Ok(r)
}

/// The docker CLI's checks of a device's container path and permissions, which dockerd
/// leaves to the runtime: here they fail the create instead of the start.
fn check_mapping(m: &DeviceMapping) -> Result<(), String> {
    let p = &m.cgroup_permissions;
    let valid = !p.is_empty()
        && p.len() <= 3
        && p.bytes().all(|b| b"rwm".contains(&b))
        && (0..p.len()).all(|i| !p[i + 1..].contains(&p[i..=i]));
    if !p.is_empty() && !valid {
        return Err(format!("bad mode specified: {p}"));
    }
    if !m.path_in_container.is_empty() && !m.path_in_container.starts_with('/') {
        return Err(format!("{} is not an absolute path", m.path_in_container));
    }
    Ok(())
}

/// What create checks: every device can be gathered, every rule read, every blkio device
/// path exists, and no device request is made (no device driver is installed).
pub fn check(hc: &HostConfig) -> Result<(), String> {
    for m in hc.devices.iter().flatten() {
        check_mapping(m)?;
        // A privileged container has the host's node at the same path already.
        if !(hc.privileged && m.path_on_host == m.path_in_container) {
            from_mapping(m)?;
        }
    }
    for r in hc.device_cgroup_rules.iter().flatten() {
        cgroup_rule(r)?;
    }
    if let Some(req) = hc.device_requests.iter().flatten().next() {
        return Err(format!(
            "could not select device driver {:?} with capabilities: {}",
            req.driver,
            req.capabilities_go()
        ));
    }
    for w in hc.blkio_weight_device.iter().flatten() {
        major_minor(&w.path)?;
    }
    for t in throttles(hc).into_iter().flat_map(|(_, l)| l) {
        major_minor(&t.path)?;
    }
    Ok(())
}

/// The device nodes and cgroup rules the spec gets beyond Docker's defaults. A privileged
/// container has every host device already; a mapping to another path is added (dockerd's
/// rule), with full permissions.
pub fn for_spec(hc: &HostConfig) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), String> {
    let (mut devs, mut rules) = (Vec::new(), Vec::new());
    for m in hc.devices.iter().flatten() {
        if hc.privileged {
            if m.path_on_host == m.path_in_container {
                continue;
            }
            let full = DeviceMapping {
                cgroup_permissions: "rwm".into(),
                ..m.clone()
            };
            devs.extend(from_mapping(&full)?.0);
            continue;
        }
        let (d, r) = from_mapping(m)?;
        devs.extend(d);
        rules.extend(r);
    }
    if !hc.privileged {
        for r in hc.device_cgroup_rules.iter().flatten() {
            rules.push(cgroup_rule(r)?);
        }
    }
    Ok((devs, rules))
}

/// The four throttle lists with the names the spec's `LinuxBlockIo` gives them.
fn throttles(hc: &HostConfig) -> [(&'static str, &[ThrottleDevice]); 4] {
    fn l(v: &Option<Vec<ThrottleDevice>>) -> &[ThrottleDevice] {
        v.as_deref().unwrap_or(&[])
    }
    [
        ("read_bps", l(&hc.blkio_device_read_bps)),
        ("write_bps", l(&hc.blkio_device_write_bps)),
        ("read_iops", l(&hc.blkio_device_read_iops)),
        ("write_iops", l(&hc.blkio_device_write_iops)),
    ]
}

/// A device path's numbers (dockerd stats it; the message is Go's `stat PATH: ERR`).
fn major_minor(path: &str) -> Result<(i64, i64), String> {
    let md = std::fs::metadata(path).map_err(|e| format!("stat {path}: {}", errno_text(&e)))?;
    Ok((
        rustix::fs::major(md.rdev()) as i64,
        rustix::fs::minor(md.rdev()) as i64,
    ))
}

/// Adds the per-device weights and throttles to `r`'s block I/O.
pub fn add_blkio(hc: &HostConfig, r: &mut LinuxResources) -> Result<(), String> {
    let mut b: LinuxBlockIo = r.block_io().clone().unwrap_or_default();
    let mut any = false;
    let mut weights = Vec::new();
    for w in hc.blkio_weight_device.iter().flatten() {
        let (major, minor) = major_minor(&w.path)?;
        let d = LinuxWeightDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .weight(w.weight)
            .build()
            .map_err(|e| e.to_string())?;
        weights.push(d);
    }
    if !weights.is_empty() {
        b.set_weight_device(Some(weights));
        any = true;
    }
    for (name, list) in throttles(hc) {
        if list.is_empty() {
            continue;
        }
        let mut out = Vec::new();
        for t in list {
            let (major, minor) = major_minor(&t.path)?;
            let d = LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(t.rate)
                .build()
                .map_err(|e| e.to_string())?;
            out.push(d);
        }
        match name {
            "read_bps" => b.set_throttle_read_bps_device(Some(out)),
            "write_bps" => b.set_throttle_write_bps_device(Some(out)),
            "read_iops" => b.set_throttle_read_iops_device(Some(out)),
            _ => b.set_throttle_write_iops_device(Some(out)),
        };
        any = true;
    }
    if any {
        r.set_block_io(Some(b));
    }
    Ok(())
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
