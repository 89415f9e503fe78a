//! Facts about the host for `/info` and `/version`, read from /proc, /sys and /etc each time
//! they are asked for. A fact that cannot be read is reported empty (or 0), never invented.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// `uname -r`.
    pub kernel_version: String,
    /// `PRETTY_NAME` of /etc/os-release.
    pub operating_system: String,
    /// `VERSION_ID` of /etc/os-release.
    pub os_version: String,
    /// `uname -m` spelling (`x86_64`), as Docker's `Architecture`.
    pub architecture: String,
    pub hostname: String,
    /// CPUs this process may run on.
    pub ncpu: usize,
    /// Bytes of RAM (`MemTotal` of /proc/meminfo).
    pub mem_total: u64,
    /// `"1"` or `"2"`.
    pub cgroup_version: &'static str,
}

impl HostInfo {
    pub fn read() -> Self {
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        HostInfo {
            kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
            operating_system: os_release_field(&os_release, "PRETTY_NAME"),
            os_version: os_release_field(&os_release, "VERSION_ID"),
            architecture: std::env::consts::ARCH.to_string(),
            hostname: read_trimmed("/proc/sys/kernel/hostname"),
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            mem_total: mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
            cgroup_version: cgroup_version(Path::new("/sys/fs/cgroup")),
        }
    }
}

/// Go's `GOARCH` spelling of this machine's architecture, which Docker clients expect in
/// `/version` (`amd64`, `arm64`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_release_field(text: &str, key: &str) -> String {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"').trim_matches('\'').to_string())
        .unwrap_or_default()
}

pub(crate) fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A unified hierarchy mounted at /sys/fs/cgroup itself means v2; anything else (v1 or the
/// hybrid layout with v2 under `unified/`) is v1 for containers.
pub fn cgroup_version(root: &Path) -> &'static str {
    if root.join("cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

/// Docker's `CgroupnsMode` when a container asks for none: a namespace of its own where the
/// host has cgroup v2, the host's on v1 (as dockerd decides).
pub fn default_cgroupns_mode() -> &'static str {
    if cgroup_version(Path::new("/sys/fs/cgroup")) == "2" {
        "private"
    } else {
        "host"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_and_meminfo() {
        let osr = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n";
        assert_eq!(
            os_release_field(osr, "PRETTY_NAME"),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(os_release_field(osr, "VERSION_ID"), "12");
        assert_eq!(os_release_field(osr, "MISSING"), "");
        assert_eq!(
            mem_total("MemTotal:       24592000 kB\nMemFree: 1 kB\n"),
            24592000 * 1024
        );
        assert_eq!(mem_total("garbage"), 0);
    }

    #[test]
    fn reads_this_host() {
        let h = HostInfo::read();
        assert!(!h.kernel_version.is_empty());
        assert!(h.ncpu >= 1);
        assert!(h.mem_total > 0);
    }
}
