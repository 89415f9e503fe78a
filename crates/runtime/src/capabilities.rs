//! Linux capabilities of the container's process: the five sets of `process.capabilities`.

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Result, RuntimeError};
use crate::sys;

/// Capability names (without `CAP_`) in kernel bit order.
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Bit number of a capability name, with or without the `CAP_` prefix.
pub fn number(name: &str) -> Option<u32> {
    let n = name.strip_prefix("CAP_").unwrap_or(name);
    NAMES.iter().position(|x| *x == n).map(|i| i as u32)
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Bit mask of a set; capabilities unknown to this kernel are left out, as runc does.
pub fn mask(set: &Option<Capabilities>) -> u64 {
    let last = last_cap();
    let mut m = 0u64;
    for c in set.iter().flatten() {
        if let Some(n) = number(&c.to_string()) {
            if n <= last {
                m |= 1 << n;
            }
        }
    }
    m
}

/// Drops from the bounding set what the spec does not list. Needs CAP_SETPCAP, so it runs
/// before the user switch.
pub fn apply_bounding(caps: &LinuxCapabilities) -> Result<()> {
    let keep = mask(caps.bounding());
    for n in 0..=last_cap() {
        if keep & (1 << n) == 0 {
            match sys::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => {
                    return Err(RuntimeError::sys(
                        format!("drop CAP_{} from the bounding set", NAMES[n as usize]),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable, then raises the ambient ones.
pub fn apply_sets(caps: &LinuxCapabilities) -> Result<()> {
    let eff = mask(caps.effective());
    let perm = mask(caps.permitted());
    let inh = mask(caps.inheritable());
    sys::capset(eff, perm, inh).map_err(|e| RuntimeError::sys("set capabilities", e))?;
    let _ = sys::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    );
    let amb = mask(caps.ambient());
    for n in 0..=last_cap() {
        if amb & (1 << n) != 0 {
            // An ambient capability must also be permitted and inheritable; runc ignores
            // failures here (they mean exactly that), and so do we.
            let _ = sys::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                n as libc::c_ulong,
            );
        }
    }
    Ok(())
}

/// All capability names known to this kernel, as `CAP_…` (for `features`).
pub fn known() -> Vec<String> {
    NAMES
        .iter()
        .take(last_cap() as usize + 1)
        .map(|n| format!("CAP_{n}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("NET_RAW"), Some(13));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_BOGUS"), None);
    }

    #[test]
    fn every_oci_name_maps() {
        let all: Capabilities = serde_json::from_str(
            &serde_json::to_string(&NAMES.iter().map(|n| format!("CAP_{n}")).collect::<Vec<_>>())
                .expect("json"),
        )
        .expect("oci-spec parses all names");
        for c in all {
            assert!(number(&c.to_string()).is_some(), "{c}");
        }
    }
}
