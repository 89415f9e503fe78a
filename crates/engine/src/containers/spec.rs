//! The OCI runtime spec of a container: Docker's defaults (namespaces, capabilities, mounts,
//! masked paths, device rules, a seccomp profile) plus what the container's config asks for.
//! Built as `oci_spec` types, the ones the runtime reads `config.json` into; every field is
//! set here, since those types' `Default`s are another runtime's defaults, not Docker's.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{
    Capabilities, Capability, Linux, LinuxCapabilities, LinuxDevice, LinuxDeviceCgroup,
    LinuxDeviceType, LinuxNamespace, LinuxNamespaceType, LinuxSeccomp, Mount, PosixRlimitBuilder,
    PosixRlimitType, Process, Root, Spec, User,
};
use serde::de::IntoDeserializer;
use serde::Deserialize;

use super::model::ContainerRecord;
use super::seccomp::{self, SeccompError};
use super::{devices, resources};

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

/// What can make a container's spec impossible to build.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A bad `--security-opt seccomp=<json>`, or a kernel version the default profile
    /// cannot read.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// A `--device`, device cgroup rule or block-I/O device that cannot be given.
    #[error("{0}")]
    Device(String),
    /// A name the runtime spec has no value for (a ulimit, a capability).
    #[error("{what} {name:?}: {reason}")]
    Name {
        what: &'static str,
        name: String,
        reason: String,
    },
}

impl SpecError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        muelle_types::ErrorKind::InvalidParameter
    }
}

/// A value of one of the runtime spec's string enums (capabilities, rlimit types) from its
/// spelling in `config.json`.
fn spec_enum<T: for<'de> Deserialize<'de>>(what: &'static str, name: &str) -> Result<T, SpecError> {
    T::deserialize(name.into_deserializer()).map_err(|e: serde::de::value::Error| SpecError::Name {
        what,
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// The runtime spec's capability set of a capability list.
pub fn capability_set(caps: &[String]) -> Result<Capabilities, SpecError> {
    caps.iter()
        .map(|c| spec_enum::<Capability>("capability", c))
        .collect::<Result<HashSet<_>, _>>()
}

/// `process.capabilities` as Docker sets them: bounding, effective and permitted alike.
pub fn process_capabilities(caps: &[String]) -> Result<LinuxCapabilities, SpecError> {
    let set = capability_set(caps)?;
    let mut c = LinuxCapabilities::default();
    c.set_bounding(Some(set.clone()))
        .set_effective(Some(set.clone()))
        .set_permitted(Some(set))
        .set_inheritable(None)
        .set_ambient(None);
    Ok(c)
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into())
        .set_typ(Some(typ.into()))
        .set_source(Some(source.into()))
        .set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

fn namespace(typ: LinuxNamespaceType) -> LinuxNamespace {
    let mut n = LinuxNamespace::default();
    n.set_typ(typ);
    n
}

/// The container's seccomp filter in the runtime spec's types. The filter is already in
/// the runtime spec's JSON shape (`seccomp` keeps it so, as moby does), so the conversion
/// is through that shape, field for field.
fn seccomp_filter(filter: &seccomp::LinuxSeccomp) -> Result<LinuxSeccomp, SpecError> {
    let value = serde_json::to_value(filter).map_err(SeccompError::Encode)?;
    serde_json::from_value(value).map_err(|e| SpecError::Seccomp(SeccompError::Encode(e)))
}

/// Fails on the seccomp profile (a bad `--security-opt seccomp=<json>`, or a kernel
/// version the default profile cannot read), or on a name the runtime spec does not know.
pub fn build(input: &SpecInput<'_>) -> Result<Spec, SpecError> {
    let r = input.record;
    let hc = &r.host_config;
    let privileged = hc.privileged;
    let caps = capabilities(privileged, &hc.cap_add, &hc.cap_drop);
    let mut args = input.args.clone();
    let mut mounts = default_mounts(privileged);
    if let (true, Some(init)) = (hc.init.unwrap_or(false), &input.init_binary) {
        args.splice(0..0, ["/sbin/docker-init".to_string(), "--".to_string()]);
        mounts.push(mount(
            "/sbin/docker-init",
            "bind",
            init,
            &["rbind", "ro", "rprivate"],
        ));
    }
    for (dest, src) in &input.etc_files {
        mounts.push(mount(dest, "bind", src, &["rbind", "rprivate"]));
    }
    for m in &r.mounts {
        mounts.push(crate::volumes::oci_mount(
            m,
            r.mount_extras.get(&m.destination),
        ));
    }
    for (dest, opts) in &hc.tmpfs {
        let mut o = vec!["nosuid", "nodev", "noexec"];
        o.extend(opts.split(',').filter(|s| !s.is_empty()));
        mounts.push(mount(dest, "tmpfs", "tmpfs", &o));
    }
    let mut namespaces = vec![
        namespace(LinuxNamespaceType::Pid),
        namespace(LinuxNamespaceType::Ipc),
        namespace(LinuxNamespaceType::Uts),
        namespace(LinuxNamespaceType::Mount),
    ];
    if hc.network_mode() != "host" {
        namespaces.push(namespace(LinuxNamespaceType::Network));
    }
    if hc.cgroupns_mode == "private" {
        namespaces.push(namespace(LinuxNamespaceType::Cgroup));
    }
    let mut resources = resources::linux_resources(hc, resources::Apply::Start);
    let (user_devices, user_rules) = devices::for_spec(hc).map_err(SpecError::Device)?;
    let mut rules = device_rules(privileged);
    rules.extend(user_rules);
    resources.set_devices(Some(rules));
    devices::add_blkio(hc, &mut resources).map_err(SpecError::Device)?;
    let mut linux = Linux::default();
    linux
        .set_namespaces(Some(namespaces))
        .set_resources(Some(resources))
        .set_cgroups_path(Some(input.cgroups_path.clone().into()))
        .set_uid_mappings(None)
        .set_gid_mappings(None)
        .set_net_devices(None)
        .set_rootfs_propagation(None)
        .set_mount_label(None)
        .set_intel_rdt(None)
        .set_memory_policy(None)
        .set_personality(None)
        .set_time_offsets(None)
        // Docker gives a privileged container the host's device nodes, not only access.
        .set_devices(linux_devices(privileged, user_devices))
        .set_sysctl(None)
        .set_masked_paths(None)
        .set_readonly_paths(None)
        .set_seccomp(None);
    if hc.network_mode() != "host" && !hc.network_mode().starts_with("container:") {
        // Docker's defaults for a network namespace of the container's own (a namespace
        // the datapath makes gets them from the daemon instead).
        linux.set_sysctl(Some(
            crate::networks::datapath::NETNS_SYSCTLS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
    }
    if !privileged {
        let strings = |l: &[&str]| l.iter().map(|p| p.to_string()).collect();
        linux
            .set_masked_paths(Some(strings(MASKED_PATHS)))
            .set_readonly_paths(Some(strings(READONLY_PATHS)));
        if let Some(filter) = seccomp::for_container(hc, &caps)? {
            linux.set_seccomp(Some(seccomp_filter(&filter)?));
        }
    }
    let mut rlimits = Vec::new();
    for u in &hc.ulimits {
        let typ = format!("RLIMIT_{}", u.name.to_ascii_uppercase());
        let limit = PosixRlimitBuilder::default()
            .typ(spec_enum::<PosixRlimitType>("ulimit", &typ)?)
            .soft(u.soft)
            .hard(u.hard)
            .build()
            .map_err(|e| SpecError::Name {
                what: "ulimit",
                name: u.name.clone(),
                reason: e.to_string(),
            })?;
        rlimits.push(limit);
    }
    let mut user = User::default();
    user.set_uid(input.uid)
        .set_gid(input.gid)
        .set_additional_gids(
            (!input.additional_gids.is_empty()).then(|| input.additional_gids.clone()),
        );
    let mut process = Process::default();
    process
        .set_terminal(Some(r.config.tty))
        .set_console_size(None)
        .set_user(user)
        .set_args(Some(args))
        .set_command_line(None)
        .set_env(Some(input.env.clone()))
        .set_cwd(input.cwd.clone().into())
        .set_capabilities(Some(process_capabilities(&caps)?))
        .set_rlimits((!rlimits.is_empty()).then_some(rlimits))
        .set_no_new_privileges(Some(hc.no_new_privileges()))
        .set_apparmor_profile(None)
        .set_oom_score_adj(None)
        .set_selinux_label(None)
        .set_io_priority(None)
        .set_scheduler(None)
        .set_exec_cpu_affinity(None);
    let mut root = Root::default();
    root.set_path("rootfs".into())
        .set_readonly(Some(hc.readonly_rootfs));
    let mut spec = Spec::default();
    spec.set_version("1.1.0".into())
        .set_process(Some(process))
        .set_root(Some(root))
        .set_hostname(Some(r.config.hostname.clone()))
        .set_domainname(None)
        .set_mounts(Some(mounts))
        .set_annotations(super::network_opts::annotations(hc))
        .set_hooks(None)
        .set_linux(Some(linux))
        .set_solaris(None)
        .set_windows(None)
        .set_vm(None)
        .set_zos(None)
        .set_uid_mappings(None)
        .set_gid_mappings(None);
    Ok(spec)
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

fn default_mounts(privileged: bool) -> Vec<Mount> {
    let rw = if privileged { "rw" } else { "ro" };
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", rw]),
        // As in Docker's default spec: the container's own cgroups, read-only unless
        // privileged (the runtime mounts only the container's subtree).
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", rw],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
    ]
}

/// The host's device nodes under `dir`, as `linux.devices` entries (runc's HostDevices, which
/// Docker uses for `--privileged`): character and block devices, recursively, except in the
/// directories that are mounts of their own in a container (pts, shm, mqueue), the fd links
/// and udev's and LXC's private directories; /dev/console is the container's own.
pub fn host_devices(dir: &Path) -> Vec<LinuxDevice> {
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
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        if path == Path::new("/dev/console") {
            continue;
        }
        let rdev = md.rdev();
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        let mut d = LinuxDevice::default();
        d.set_path(path)
            .set_typ(typ)
            .set_major(major as i64)
            .set_minor(minor as i64)
            .set_file_mode(Some(md.mode() & 0o7777))
            .set_uid(Some(md.uid()))
            .set_gid(Some(md.gid()));
        out.push(d);
    }
    out
}

/// `linux.devices`: a privileged container's host devices, then the `--device` ones.
fn linux_devices(privileged: bool, user: Vec<LinuxDevice>) -> Option<Vec<LinuxDevice>> {
    let mut all = if privileged {
        host_devices(Path::new("/dev"))
    } else {
        Vec::new()
    };
    all.extend(user);
    (privileged || !all.is_empty()).then_some(all)
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow)
        .set_typ(typ)
        .set_major(major)
        .set_minor(minor)
        .set_access(Some(access.into()));
    r
}

fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    if privileged {
        return vec![device_rule(true, None, None, None, "rwm")];
    }
    let c = Some(LinuxDeviceType::C);
    let rule = |major: i64, minor: Option<i64>| device_rule(true, c, Some(major), minor, "rwm");
    vec![
        device_rule(false, None, None, None, "rwm"),
        // mknod of any device node (using one still needs its own rule), as runc allows.
        device_rule(true, c, None, None, "m"),
        device_rule(true, Some(LinuxDeviceType::B), None, None, "m"),
        rule(1, Some(3)), // null
        rule(1, Some(5)), // zero
        rule(1, Some(7)), // full
        rule(1, Some(8)), // random
        rule(1, Some(9)), // urandom
        rule(5, Some(0)), // tty
        rule(5, Some(1)), // console
        rule(5, Some(2)), // ptmx
        rule(136, None),  // pts
        rule(10, Some(200)), // tun, as runc allows it under Docker
                          // fuse stays denied as in Docker's default spec: a FUSE mount needs
                          // CAP_SYS_ADMIN anyway, and /dev/fuse is only given with --device.
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::containers::model::State;
    use muelle_types::container::{ContainerConfig, HostConfig};

    /// A record of a created container with `config` and `host_config` (other tests of
    /// the spec use it too).
    pub(crate) fn record_with(config: ContainerConfig, host_config: HostConfig) -> ContainerRecord {
        ContainerRecord {
            id: "c".into(),
            name: "n".into(),
            created: String::new(),
            image_id: String::new(),
            path: "sh".into(),
            args: Vec::new(),
            config,
            host_config,
            mounts: Vec::new(),
            copy_up: Vec::new(),
            mount_extras: Default::default(),
            state: State::created(),
            restart_count: 0,
            stopped_by_user: false,
            driver: String::new(),
            log_path: String::new(),
            hosts_path: String::new(),
            hostname_path: String::new(),
            resolv_conf_path: String::new(),
            networks: Default::default(),
            published: Vec::new(),
        }
    }

    fn record(host_config: HostConfig) -> ContainerRecord {
        let config = ContainerConfig {
            hostname: "h".into(),
            ..ContainerConfig::default()
        };
        record_with(config, host_config)
    }

    /// The spec input of `r` running `sh` as root in `/`, with `env`.
    pub(crate) fn input(r: &ContainerRecord, env: Vec<String>) -> SpecInput<'_> {
        SpecInput {
            record: r,
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            env,
            args: vec!["sh".into()],
            cwd: "/".into(),
            etc_files: Vec::new(),
            cgroups_path: "/muelle/c".into(),
            init_binary: None,
        }
    }

    fn config_json(hc: HostConfig) -> serde_json::Value {
        let r = record(hc);
        let input = input(&r, vec!["PATH=/bin".into()]);
        let spec = build(&input).map_err(|e| e.to_string());
        serde_json::to_value(spec.unwrap()).unwrap()
    }

    /// The runtime spec types' own defaults (another runtime's) must not leak into a
    /// container: only what Docker's spec has.
    #[test]
    fn config_json_has_dockers_fields_only() {
        let v = config_json(HostConfig::default());
        assert_eq!(v["ociVersion"], "1.1.0");
        let top: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            top,
            [
                "hostname",
                "linux",
                "mounts",
                "ociVersion",
                "process",
                "root"
            ]
        );
        let p = &v["process"];
        let keys: Vec<&str> = p.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "args",
                "capabilities",
                "cwd",
                "env",
                "noNewPrivileges",
                "terminal",
                "user"
            ]
        );
        let caps = p["capabilities"].as_object().unwrap();
        assert_eq!(
            caps.keys().collect::<Vec<_>>(),
            ["bounding", "effective", "permitted"]
        );
        assert_eq!(
            caps["bounding"].as_array().unwrap().len(),
            DEFAULT_CAPS.len()
        );
        assert_eq!(p["user"], serde_json::json!({"uid": 0, "gid": 0}));
        let l = &v["linux"];
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cgroupsPath",
                "maskedPaths",
                "namespaces",
                "readonlyPaths",
                "resources",
                "seccomp",
                "sysctl"
            ]
        );
        assert_eq!(
            l["resources"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["devices"]
        );
        assert_eq!(
            v["root"],
            serde_json::json!({"path": "rootfs", "readonly": false})
        );
    }

    #[test]
    fn unknown_ulimit_is_refused() {
        let r = record(HostConfig {
            ulimits: vec![muelle_types::container::Ulimit {
                name: "bogus".into(),
                soft: 1,
                hard: 1,
            }],
            ..HostConfig::default()
        });
        let input = input(&r, Vec::new());
        assert!(build(&input).is_err_and(|e| e.to_string().contains("RLIMIT_BOGUS")));
    }

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
            .find(|d| d.path() == Path::new("/dev/null"))
            .expect("/dev/null");
        assert_eq!(
            (null.typ(), null.major(), null.minor()),
            (LinuxDeviceType::C, 1, 3)
        );
        assert_eq!(null.file_mode(), Some(0o666));
        for d in &devs {
            let p = d.path().to_str().unwrap();
            assert!(
                !p.starts_with("/dev/pts/") && !p.starts_with("/dev/shm/") && p != "/dev/console",
                "{p}"
            );
        }
    }

    #[test]
    fn cgroupns_private_asks_for_a_cgroup_namespace() {
        let has_cgroupns = |mode: &str| {
            let hc = HostConfig {
                cgroupns_mode: mode.into(),
                ..HostConfig::default()
            };
            config_json(hc)["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["type"] == "cgroup")
        };
        assert!(has_cgroupns("private"));
        assert!(!has_cgroupns("host"));
        assert!(!has_cgroupns(""));
    }
}
