//! The OCI runtime spec of a container: Docker's defaults (namespaces, capabilities, mounts,
//! masked paths, device rules, a seccomp profile) plus what the container's config asks for.
//! Built as JSON, because the supervisor hands `config.json` to the runtime as any OCI
//! runtime would read it.

use std::path::Path;

use serde_json::{json, Value};

use super::model::{ContainerRecord, MountPoint};
use super::seccomp::{self, SeccompError};

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel may know, for `--privileged` and `--cap-add ALL`.
const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// What the spec needs besides the record.
pub struct SpecInput<'a> {
    pub record: &'a ContainerRecord,
    /// Resolved user: uid, gid, additional gids.
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// Env after merging image and container (Docker's order), with HOSTNAME and PATH.
    pub env: Vec<String>,
    pub args: Vec<String>,
    pub cwd: String,
    /// Host files bound over /etc/hosts, /etc/hostname, /etc/resolv.conf.
    pub etc_files: Vec<(String, String)>,
    pub cgroups_path: String,
    /// Path of `muelle-init` on the host, for `--init`.
    pub init_binary: Option<String>,
}

/// Fails only on the seccomp profile (a bad `--security-opt seccomp=<json>`, or a kernel
/// version the default profile cannot read).
pub fn build(input: &SpecInput<'_>) -> Result<Value, SeccompError> {
    let r = input.record;
    let hc = &r.host_config;
    let privileged = hc.privileged;
    let caps = capabilities(privileged, &hc.cap_add, &hc.cap_drop);
    let mut args = input.args.clone();
    let mut mounts = default_mounts(privileged);
    if let (true, Some(init)) = (hc.init.unwrap_or(false), &input.init_binary) {
        args.splice(0..0, ["/sbin/docker-init".to_string(), "--".to_string()]);
        mounts.push(
            json!({"destination": "/sbin/docker-init", "type": "bind", "source": init,
            "options": ["rbind", "ro", "rprivate"]}),
        );
    }
    for (dest, src) in &input.etc_files {
        mounts.push(json!({"destination": dest, "type": "bind", "source": src,
            "options": ["rbind", "rprivate"]}));
    }
    for m in &r.mounts {
        mounts.push(user_mount(m));
    }
    for (dest, opts) in &hc.tmpfs {
        let mut o = vec![
            "nosuid".to_string(),
            "nodev".to_string(),
            "noexec".to_string(),
        ];
        o.extend(opts.split(',').filter(|s| !s.is_empty()).map(String::from));
        mounts.push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if hc.network_mode() != "host" {
        namespaces.push(json!({"type": "network"}));
    }
    let mut resources = json!({
        "devices": device_rules(privileged),
    });
    if hc.memory > 0 {
        resources["memory"] = json!({"limit": hc.memory});
    }
    if hc.nano_cpus > 0 {
        let period: u64 = 100_000;
        resources["cpu"] =
            json!({"quota": hc.nano_cpus as u64 * period / 1_000_000_000, "period": period});
    }
    if hc.cpu_shares > 0 {
        let cpu = resources
            .as_object_mut()
            .and_then(|o| o.get("cpu").cloned())
            .unwrap_or_else(|| json!({}));
        let mut cpu = cpu;
        cpu["shares"] = json!(hc.cpu_shares);
        resources["cpu"] = cpu;
    }
    if let Some(p) = hc.pids_limit.filter(|p| *p > 0) {
        resources["pids"] = json!({"limit": p});
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources,
        "cgroupsPath": input.cgroups_path,
    });
    if privileged {
        // Docker gives a privileged container the host's device nodes, not only access.
        linux["devices"] = json!(host_devices(Path::new("/dev")));
    }
    if hc.network_mode() != "host" && !hc.network_mode().starts_with("container:") {
        // Docker's defaults for a network namespace of the container's own: ping without
        // CAP_NET_RAW and any port without CAP_NET_BIND_SERVICE; both only reach the
        // container's own namespace.
        linux["sysctl"] = json!({
            "net.ipv4.ip_unprivileged_port_start": "0",
            "net.ipv4.ping_group_range": "0 2147483647",
        });
    }
    if !privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
        if let Some(filter) = seccomp::for_container(hc, &caps)? {
            linux["seccomp"] = serde_json::to_value(filter).map_err(SeccompError::Encode)?;
        }
    }
    let mut rlimits = Vec::new();
    for u in &hc.ulimits {
        rlimits.push(
            json!({"type": format!("RLIMIT_{}", u.name.to_ascii_uppercase()),
            "soft": u.soft, "hard": u.hard}),
        );
    }
    let mut process = json!({
        "terminal": r.config.tty,
        "user": {"uid": input.uid, "gid": input.gid},
        "args": args,
        "env": input.env,
        "cwd": input.cwd,
        "capabilities": {
            "bounding": caps, "effective": caps, "permitted": caps,
        },
        "noNewPrivileges": hc.no_new_privileges(),
    });
    if !input.additional_gids.is_empty() {
        process["user"]["additionalGids"] = json!(input.additional_gids);
    }
    if !rlimits.is_empty() {
        process["rlimits"] = json!(rlimits);
    }
    Ok(json!({
        "ociVersion": "1.1.0",
        "process": process,
        "root": {"path": "rootfs", "readonly": hc.readonly_rootfs},
        "hostname": r.config.hostname,
        "mounts": mounts,
        "linux": linux,
    }))
}

/// A capability name as clients write it (`net_admin`, `CAP_NET_ADMIN`, `all`) in the
/// kernel's spelling, `ALL` kept as is.
fn cap_name(c: &str) -> String {
    let up = c.trim().to_ascii_uppercase();
    if up == "ALL" || up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// The capability list after `--privileged`, `--cap-add` and `--cap-drop` (names with or
/// without `CAP_`, any case, `ALL`).
pub fn capabilities(privileged: bool, add: &[String], drop: &[String]) -> Vec<String> {
    if privileged {
        return ALL_CAPS.iter().map(|s| s.to_string()).collect();
    }
    let add: Vec<String> = add.iter().map(|c| cap_name(c)).collect();
    let drop: Vec<String> = drop.iter().map(|c| cap_name(c)).collect();
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        ALL_CAPS.iter().map(|s| s.to_string()).collect()
    } else {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    if drop.iter().any(|c| c == "ALL") {
        caps.clear();
    }
    for c in add {
        if c != "ALL" && !caps.contains(&c) {
            caps.push(c);
        }
    }
    caps.retain(|c| !drop.contains(c));
    caps
}

/// Validates capability names of a create request.
pub fn check_caps(list: &[String]) -> Result<(), String> {
    for c in list {
        let name = cap_name(c);
        if name != "ALL" && !ALL_CAPS.contains(&name.as_str()) {
            return Err(format!("unknown capability: {c:?}"));
        }
    }
    Ok(())
}

fn default_mounts(privileged: bool) -> Vec<Value> {
    let sys_opts = if privileged {
        json!(["nosuid", "noexec", "nodev", "rw"])
    } else {
        json!(["nosuid", "noexec", "nodev", "ro"])
    };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
            "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts}),
        // As in Docker's default spec: the container's own cgroups, read-only unless
        // privileged (the runtime mounts only the container's subtree).
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", if privileged { "rw" } else { "ro" }]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    ]
}

fn user_mount(m: &MountPoint) -> Value {
    let mut options = vec!["rbind".to_string()];
    options.push(if m.rw { "rw" } else { "ro" }.to_string());
    options.push(format!("r{}", m.propagation_or_default()));
    json!({"destination": m.destination, "type": "bind", "source": m.source, "options": options})
}

/// The host's device nodes under `dir`, as `linux.devices` entries (runc's HostDevices, which
/// Docker uses for `--privileged`): character and block devices, recursively, except in the
/// directories that are mounts of their own in a container (pts, shm, mqueue), the fd links
/// and udev's and LXC's private directories; /dev/console is the container's own.
pub fn host_devices(dir: &Path) -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(md) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ft = md.file_type();
        if ft.is_dir() {
            let name = e.file_name();
            if !matches!(
                name.to_str(),
                Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
            ) {
                out.extend(host_devices(&path));
            }
            continue;
        }
        let typ = if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            continue;
        };
        if path == Path::new("/dev/console") {
            continue;
        }
        let rdev = md.rdev();
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        out.push(json!({
            "path": path, "type": typ, "major": major, "minor": minor,
            "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid(),
        }));
    }
    out
}

fn device_rules(privileged: bool) -> Value {
    if privileged {
        return json!([{"allow": true, "access": "rwm"}]);
    }
    let rule = |t: &str, major: i64, minor: Option<i64>, access: &str| {
        let mut v = json!({"allow": true, "type": t, "major": major, "access": access});
        if let Some(m) = minor {
            v["minor"] = json!(m);
        }
        v
    };
    json!([
        {"allow": false, "access": "rwm"},
        // mknod of any device node (using one still needs its own rule), as runc allows.
        {"allow": true, "type": "c", "access": "m"},
        {"allow": true, "type": "b", "access": "m"},
        rule("c", 1, Some(3), "rwm"),   // null
        rule("c", 1, Some(5), "rwm"),   // zero
        rule("c", 1, Some(7), "rwm"),   // full
        rule("c", 1, Some(8), "rwm"),   // random
        rule("c", 1, Some(9), "rwm"),   // urandom
        rule("c", 5, Some(0), "rwm"),   // tty
        rule("c", 5, Some(1), "rwm"),   // console
        rule("c", 5, Some(2), "rwm"),   // ptmx
        rule("c", 136, None, "rwm"),    // pts
        rule("c", 10, Some(200), "rwm"), // tun, as runc allows it under Docker
        // fuse stays denied as in Docker's default spec: a FUSE mount needs
        // CAP_SYS_ADMIN anyway, and /dev/fuse is only given with --device.
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_add_drop_and_all() {
        let c = capabilities(false, &["net_admin".into()], &["CAP_CHOWN".into()]);
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        let none = capabilities(false, &[], &["all".into()]);
        assert!(none.is_empty());
        assert!(check_caps(&["NOPE".into()]).is_err());
        assert!(check_caps(&["sys_admin".into(), "ALL".into()]).is_ok());
    }

    #[test]
    fn host_devices_are_the_nodes_of_dev() {
        let devs = host_devices(Path::new("/dev"));
        let null = devs
            .iter()
            .find(|d| d["path"] == "/dev/null")
            .expect("/dev/null");
        assert_eq!(
            (&null["type"], &null["major"], &null["minor"]),
            (&json!("c"), &json!(1), &json!(3))
        );
        assert_eq!(null["fileMode"], json!(0o666));
        for d in &devs {
            let p = d["path"].as_str().unwrap();
            assert!(
                !p.starts_with("/dev/pts/") && !p.starts_with("/dev/shm/") && p != "/dev/console",
                "{p}"
            );
        }
    }
}
