//! A container's seccomp filter: Docker's default profile (`seccomp_default.json`, an
//! allow-list whose rules depend on the container's capabilities, the architecture and the
//! kernel) or the profile a client sent with `--security-opt seccomp=<json>`, reduced to the
//! runtime-spec `linux.seccomp` object for one container the way moby's
//! `profiles/seccomp` does it, so that a container gets the answers it would get from dockerd.
//!
//! Rules are kept or dropped here, not in the runtime: the runtime-spec has no conditions, and
//! the daemon is the one that knows the capability set the container will have.

use serde::{Deserialize, Deserializer, Serialize};

use muelle_types::serde_util::null_default;

use super::model::{HostConfig, SeccompOpt};

/// moby's default profile; which Docker version it follows is in its `comment`.
const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// What can be wrong with a profile, or with the host when a profile is applied.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// moby's wording, which clients show as is.
    #[error("Decoding seccomp profile failed: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")]
    ArchitecturesAndArchMap,
    #[error("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")]
    NameAndNames,
    #[error("seccomp profile: syscalls[{0}] names no syscall")]
    NoNames(usize),
    #[error("seccomp profile: syscalls are listed but defaultAction is missing")]
    NoDefaultAction,
    #[error("seccomp profile: kernel version {0:?} is not of the form <major>.<minor>")]
    KernelVersion(String),
    #[error("cannot tell the running kernel's version from {0:?}")]
    HostKernel(String),
    #[error("encoding the seccomp filter: {0}")]
    Encode(serde_json::Error),
}

/// The filter a (non-privileged) container gets: none with `seccomp=unconfined`, else its
/// own profile or Docker's, reduced for its capabilities and this machine.
pub fn for_container(
    hc: &HostConfig,
    caps: &[String],
) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let profile = match hc.seccomp() {
        SeccompOpt::Unconfined => return Ok(None),
        SeccompOpt::Default => Profile::docker_default()?,
        SeccompOpt::Profile(json) => Profile::from_json(json)?,
    };
    profile.for_container(caps, &Host::current()?)
}

/// A seccomp action, in the spelling profiles and the runtime-spec share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "SCMP_ACT_KILL")]
    Kill,
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    #[serde(rename = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
}

/// How an argument is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    #[serde(rename = "SCMP_CMP_NE")]
    NotEqual,
    #[serde(rename = "SCMP_CMP_LT")]
    Less,
    #[serde(rename = "SCMP_CMP_LE")]
    LessOrEqual,
    #[serde(rename = "SCMP_CMP_EQ")]
    Equal,
    #[serde(rename = "SCMP_CMP_GE")]
    GreaterOrEqual,
    #[serde(rename = "SCMP_CMP_GT")]
    Greater,
    /// `value` is the mask, `valueTwo` what the masked argument must equal.
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEqual,
}

/// A condition on one syscall argument; the same object in profiles and in the runtime-spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: Operator,
}

/// `major.minor` of a kernel, as `minKernel` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    /// Reads the leading `major.minor` of a version (`4.8`, `6.1.0-18-amd64`).
    pub fn parse(text: &str) -> Option<KernelVersion> {
        let mut parts = text.splitn(3, '.');
        let major = parts.next()?.parse().ok()?;
        let minor_text = parts.next()?;
        let digits = minor_text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(minor_text.len());
        let minor = minor_text.get(..digits)?.parse().ok()?;
        Some(KernelVersion { major, minor })
    }
}

impl<'de> Deserialize<'de> for KernelVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KernelVersion::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(SeccompError::KernelVersion(text.clone()).to_string())
        })
    }
}

/// When a rule applies (`includes`: all of it must hold) or does not (`excludes`: any of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Architectures in moby's names (`amd64`, `arm64`, `s390x`...).
    #[serde(default, deserialize_with = "null_default")]
    pub arches: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub caps: Vec<String>,
    #[serde(default)]
    pub min_kernel: Option<KernelVersion>,
}

/// One entry of a profile's `syscalls`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The format before `names` (one syscall per entry); still accepted by Docker.
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub names: Vec<String>,
    pub action: Action,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    pub args: Vec<Arg>,
    #[serde(default)]
    pub comment: String,
    #[serde(default, deserialize_with = "null_default")]
    pub includes: Condition,
    #[serde(default, deserialize_with = "null_default")]
    pub excludes: Condition,
}

/// An architecture and the ones its processes can also make syscalls as (x86_64 runs i386
/// and x32 code).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default, deserialize_with = "null_default")]
    pub sub_architectures: Vec<String>,
}

/// A profile in Docker's format: the runtime-spec object plus `archMap` and conditional rules.
/// Unknown fields are ignored, as dockerd ignores them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Where the profile comes from (only the built-in one has it).
    #[serde(default)]
    pub comment: String,
    /// `None` (absent or empty) with no syscalls means no filter at all, as in dockerd.
    #[serde(default, deserialize_with = "optional_action")]
    pub default_action: Option<Action>,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    pub architectures: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default, deserialize_with = "null_default")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub syscalls: Vec<Rule>,
}

fn optional_action<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Action>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => Action::deserialize(serde::de::value::StrDeserializer::new(text)).map(Some),
    }
}

/// The runtime-spec `linux.seccomp` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxSeccomp {
    pub default_action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub syscalls: Vec<Syscall>,
}

/// One rule of the runtime-spec object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall {
    pub names: Vec<String>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

/// What of the machine a profile's conditions look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// moby's name of the architecture (`amd64`), as `includes.arches` writes it.
    pub arch: &'static str,
    /// Its libseccomp name (`SCMP_ARCH_X86_64`), to find it in `archMap`; `None` when moby
    /// has none, and then the runtime's native architecture is all the filter covers.
    pub scmp_arch: Option<&'static str>,
    pub kernel: KernelVersion,
}

impl Host {
    /// This machine: the architecture muelled was built for and the running kernel.
    pub fn current() -> Result<Host, SeccompError> {
        let uname = rustix::system::uname();
        let release = uname.release().to_string_lossy().into_owned();
        let kernel = KernelVersion::parse(&release).ok_or(SeccompError::HostKernel(release))?;
        let (arch, scmp_arch) = native_arch();
        Ok(Host {
            arch,
            scmp_arch,
            kernel,
        })
    }
}

/// moby's and libseccomp's names of the architecture this binary runs on.
fn native_arch() -> (&'static str, Option<&'static str>) {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", Some("SCMP_ARCH_X86_64")),
        "x86" => ("x86", Some("SCMP_ARCH_X86")),
        "aarch64" => ("arm64", Some("SCMP_ARCH_AARCH64")),
        "arm" => ("arm", Some("SCMP_ARCH_ARM")),
        "riscv64" => ("riscv64", Some("SCMP_ARCH_RISCV64")),
        "s390x" => ("s390x", Some("SCMP_ARCH_S390X")),
        "loongarch64" => ("loong64", Some("SCMP_ARCH_LOONGARCH64")),
        "powerpc64" if little => ("ppc64le", Some("SCMP_ARCH_PPC64LE")),
        "powerpc64" => ("ppc64", Some("SCMP_ARCH_PPC64")),
        "mips64" if little => ("mipsel64", Some("SCMP_ARCH_MIPSEL64")),
        "mips64" => ("mips64", Some("SCMP_ARCH_MIPS64")),
        other => (other, None),
    }
}

impl Profile {
    /// Docker's default profile.
    pub fn docker_default() -> Result<Profile, SeccompError> {
        Profile::from_json(DEFAULT_PROFILE)
    }

    /// A profile as `docker run --security-opt seccomp=<file>` sends it (the file's content).
    pub fn from_json(text: &str) -> Result<Profile, SeccompError> {
        Ok(serde_json::from_str(text)?)
    }

    /// The filter of a container with these capabilities (its bounding set, as moby checks)
    /// on `host`; `None` when the profile asks for no filter.
    pub fn for_container(
        &self,
        caps: &[String],
        host: &Host,
    ) -> Result<Option<LinuxSeccomp>, SeccompError> {
        let Some(default_action) = self.default_action else {
            return if self.syscalls.is_empty() {
                Ok(None)
            } else {
                Err(SeccompError::NoDefaultAction)
            };
        };
        if !self.architectures.is_empty() && !self.arch_map.is_empty() {
            return Err(SeccompError::ArchitecturesAndArchMap);
        }
        let mut architectures = self.architectures.clone();
        if let Some(native) = host.scmp_arch {
            if let Some(m) = self.arch_map.iter().find(|m| m.architecture == native) {
                architectures.push(m.architecture.clone());
                architectures.extend(m.sub_architectures.iter().cloned());
            }
        }
        let mut syscalls = Vec::new();
        for (index, rule) in self.syscalls.iter().enumerate() {
            let names = match (rule.name.is_empty(), rule.names.is_empty()) {
                (false, false) => return Err(SeccompError::NameAndNames),
                (false, true) => vec![rule.name.clone()],
                (true, false) => rule.names.clone(),
                (true, true) => return Err(SeccompError::NoNames(index)),
            };
            if rule.applies(caps, host) {
                syscalls.push(Syscall {
                    names,
                    action: rule.action,
                    errno_ret: rule.errno_ret,
                    args: rule.args.clone(),
                });
            }
        }
        Ok(Some(LinuxSeccomp {
            default_action,
            default_errno_ret: self.default_errno_ret,
            architectures,
            flags: self.flags.clone(),
            listener_path: self.listener_path.clone(),
            listener_metadata: self.listener_metadata.clone(),
            syscalls,
        }))
    }
}

impl Rule {
    /// moby's reading: one excluded arch or capability or a kernel at least `minKernel`
    /// drops the rule; otherwise every included arch list, capability and minimum kernel
    /// must hold.
    fn applies(&self, caps: &[String], host: &Host) -> bool {
        let has = |cap: &String| caps.contains(cap);
        let ex = &self.excludes;
        if ex.arches.iter().any(|a| a == host.arch)
            || ex.caps.iter().any(has)
            || ex.min_kernel.is_some_and(|k| host.kernel >= k)
        {
            return false;
        }
        let inc = &self.includes;
        (inc.arches.is_empty() || inc.arches.iter().any(|a| a == host.arch))
            && inc.caps.iter().all(has)
            && inc.min_kernel.is_none_or(|k| host.kernel >= k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::spec::capabilities;

    const AMD64: Host = Host {
        arch: "amd64",
        scmp_arch: Some("SCMP_ARCH_X86_64"),
        kernel: KernelVersion { major: 6, minor: 1 },
    };

    fn default_filter(cap_add: &[&str]) -> LinuxSeccomp {
        let add: Vec<String> = cap_add.iter().map(|c| c.to_string()).collect();
        let caps = capabilities(false, &add, &[]);
        Profile::docker_default()
            .unwrap()
            .for_container(&caps, &AMD64)
            .unwrap()
            .unwrap()
    }

    /// What the filter does with a syscall whose arguments match no condition, and which
    /// argument conditions let it through: the rules naming it, in order.
    fn rules_for<'a>(f: &'a LinuxSeccomp, name: &str) -> Vec<&'a Syscall> {
        f.syscalls
            .iter()
            .filter(|s| s.names.iter().any(|n| n == name))
            .collect()
    }

    /// Allowed whatever the arguments.
    fn allowed(f: &LinuxSeccomp, name: &str) -> bool {
        rules_for(f, name)
            .iter()
            .any(|s| s.action == Action::Allow && s.args.is_empty())
    }

    /// No rule at all: the default action (EPERM) answers.
    fn refused(f: &LinuxSeccomp, name: &str) -> bool {
        rules_for(f, name).is_empty()
    }

    #[test]
    fn the_profile_parses_and_says_what_it_follows() {
        let p = Profile::docker_default().unwrap();
        assert!(p.comment.contains("Docker Engine 28"), "{}", p.comment);
        assert_eq!(p.default_action, Some(Action::Errno));
        assert_eq!(p.default_errno_ret, Some(1));
        assert!(p.syscalls.len() > 20);
        assert!(p.syscalls[0].names.len() > 300);
    }

    #[test]
    fn default_caps_allow_and_refuse_as_docker() {
        let f = default_filter(&[]);
        assert_eq!(f.default_action, Action::Errno);
        assert_eq!(f.default_errno_ret, Some(1));
        assert_eq!(
            f.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        for name in [
            "clock_adjtime",
            "read",
            "arch_prctl",
            "modify_ldt",
            "ptrace",
            "process_vm_readv",
            "fchmodat2",
            "mseal",
        ] {
            assert!(allowed(&f, name), "{name} should be allowed");
        }
        for name in [
            "pidfd_getfd",
            "syslog",
            "vhangup",
            "fanotify_init",
            "migrate_pages",
            "process_madvise",
            "quotactl_fd",
            "set_mempolicy_home_node",
            "mount",
            "unshare",
            "setns",
            "kcmp",
            "bpf",
            "keyctl",
            "userfaultfd",
            "io_uring_setup",
            "clock_settime",
            "reboot",
            "acct",
            "open_by_handle_at",
            "s390_runtime_instr",
            "cacheflush",
        ] {
            assert!(refused(&f, name), "{name} should be refused");
        }
        // Docker 28 allows pkey_* (20.10 did not).
        assert!(allowed(&f, "pkey_alloc"));
    }

    #[test]
    fn argument_rules_survive() {
        let f = default_filter(&[]);
        let personality: Vec<u64> = rules_for(&f, "personality")
            .iter()
            .map(|s| {
                assert_eq!(s.action, Action::Allow);
                assert_eq!(s.args.len(), 1);
                assert_eq!(s.args[0].op, Operator::Equal);
                s.args[0].value
            })
            .collect();
        // PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, the query 0xffffffff: never
        // ADDR_NO_RANDOMIZE (0x0040000) or READ_IMPLIES_EXEC (0x0400000).
        assert_eq!(personality, [0, 8, 0x20000, 0x20008, 0xffff_ffff]);

        let clone = rules_for(&f, "clone");
        assert_eq!(clone.len(), 1, "{clone:?}");
        assert_eq!(
            clone[0].args,
            [Arg {
                index: 0,
                value: 0x7E02_0000,
                value_two: 0,
                op: Operator::MaskedEqual
            }]
        );
        let clone3 = rules_for(&f, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(
            (clone3[0].action, clone3[0].errno_ret),
            (Action::Errno, Some(38))
        );
        let socket = rules_for(&f, "socket");
        assert_eq!(socket.len(), 1);
        assert_eq!(socket[0].args[0].op, Operator::NotEqual);
        assert_eq!(socket[0].args[0].value, 40, "AF_VSOCK");
    }

    #[test]
    fn sys_admin_lifts_its_rules_and_drops_the_clone_guards() {
        let f = default_filter(&["SYS_ADMIN"]);
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "clone",
            "clone3",
            "fanotify_init",
            "syslog",
            "bpf",
            "perf_event_open",
            "quotactl_fd",
            "sethostname",
            "lsm_list_modules",
        ] {
            assert!(allowed(&f, name), "{name} should be allowed with SYS_ADMIN");
        }
        assert!(
            rules_for(&f, "clone3")
                .iter()
                .all(|s| s.action == Action::Allow),
            "no ENOSYS for clone3 with SYS_ADMIN"
        );
        assert!(rules_for(&f, "clone").iter().all(|s| s.args.is_empty()));
        assert!(refused(&f, "pidfd_getfd"));
        assert!(refused(&f, "open_by_handle_at"));
    }

    #[test]
    fn sys_ptrace_lifts_its_rules() {
        let f = default_filter(&["SYS_PTRACE"]);
        for name in [
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
        ] {
            assert!(
                allowed(&f, name),
                "{name} should be allowed with SYS_PTRACE"
            );
        }
        assert!(refused(&f, "mount"));
    }

    #[test]
    fn other_capabilities_lift_one_family_each() {
        for (cap, names) in [
            ("SYS_TIME", &["clock_settime", "settimeofday"][..]),
            ("SYS_NICE", &["mbind", "set_mempolicy_home_node"]),
            ("SYS_TTY_CONFIG", &["vhangup"]),
            ("SYSLOG", &["syslog"]),
            ("SYS_BOOT", &["reboot"]),
            ("SYS_MODULE", &["init_module", "finit_module"]),
            ("SYS_RAWIO", &["iopl", "ioperm"]),
            ("SYS_PACCT", &["acct"]),
            ("DAC_READ_SEARCH", &["open_by_handle_at"]),
            ("BPF", &["bpf"]),
            ("PERFMON", &["perf_event_open"]),
        ] {
            let f = default_filter(&[cap]);
            for name in names {
                assert!(allowed(&f, name), "{name} should be allowed with {cap}");
            }
        }
        // Dropping SYS_CHROOT (a default capability) takes chroot away.
        let caps = capabilities(false, &[], &["SYS_CHROOT".into()]);
        let f = Profile::docker_default()
            .unwrap()
            .for_container(&caps, &AMD64)
            .unwrap()
            .unwrap();
        assert!(refused(&f, "chroot"));
        assert!(allowed(&default_filter(&[]), "chroot"));
    }

    #[test]
    fn architecture_and_kernel_conditions() {
        let arm64 = Host {
            arch: "arm64",
            scmp_arch: Some("SCMP_ARCH_AARCH64"),
            kernel: KernelVersion { major: 4, minor: 4 },
        };
        let caps = capabilities(false, &[], &[]);
        let f = Profile::docker_default()
            .unwrap()
            .for_container(&caps, &arm64)
            .unwrap()
            .unwrap();
        assert_eq!(f.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
        assert!(allowed(&f, "cacheflush"));
        assert!(refused(&f, "arch_prctl"));
        // Before 4.8 ptrace could bypass seccomp: only CAP_SYS_PTRACE gets it then.
        assert!(refused(&f, "ptrace"));

        let s390x = Host {
            arch: "s390x",
            scmp_arch: Some("SCMP_ARCH_S390X"),
            kernel: AMD64.kernel,
        };
        let f = Profile::docker_default()
            .unwrap()
            .for_container(&caps, &s390x)
            .unwrap()
            .unwrap();
        let clone = rules_for(&f, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].args[0].index, 1, "s390 passes the flags second");

        let unknown = Host {
            arch: "sparc64",
            scmp_arch: None,
            kernel: AMD64.kernel,
        };
        let f = Profile::docker_default()
            .unwrap()
            .for_container(&caps, &unknown)
            .unwrap()
            .unwrap();
        assert!(f.architectures.is_empty());
    }

    /// The filter goes through the runtime's reading of the spec and libseccomp as is, for
    /// every capability set the tests use; syscalls the profile names above what libseccomp
    /// knows end up behind the runtime's ENOSYS stub.
    #[test]
    fn the_runtime_compiles_every_filter() {
        for add in [&[][..], &["SYS_ADMIN"], &["SYS_PTRACE"], &["ALL"]] {
            let f = default_filter(add);
            let spec: oci_spec::runtime::LinuxSeccomp =
                serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
            muelle_runtime::seccomp::build_filter(&spec).unwrap_or_else(|e| panic!("{add:?}: {e}"));
            assert!(muelle_runtime::seccomp::enosys_stub(&spec).is_some());
        }
    }

    #[test]
    fn security_opt_picks_the_filter() {
        let hc = |opts: &[&str]| HostConfig {
            security_opt: opts.iter().map(|o| o.to_string()).collect(),
            ..HostConfig::default()
        };
        let caps = capabilities(false, &[], &[]);
        let filter = |opts: &[&str]| for_container(&hc(opts), &caps).unwrap();
        let default = filter(&[]).unwrap();
        assert_eq!(default.default_action, Action::Errno);
        assert_eq!(filter(&["seccomp=unconfined"]), None);
        assert_eq!(filter(&["seccomp:unconfined"]), None);
        assert_eq!(filter(&["seccomp=builtin"]), Some(default.clone()));
        // The last one counts.
        assert_eq!(
            filter(&["seccomp=unconfined", "seccomp=builtin"]),
            Some(default)
        );
        let own = filter(&[r#"seccomp={"defaultAction": "SCMP_ACT_LOG"}"#]).unwrap();
        assert_eq!(own.default_action, Action::Log);
        assert!(own.syscalls.is_empty());
        let err = for_container(&hc(&["seccomp=/etc/profile.json"]), &caps).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Decoding seccomp profile failed"),
            "{err}"
        );
    }

    #[test]
    fn kernel_versions() {
        let v = |t: &str| KernelVersion::parse(t);
        assert_eq!(v("4.8"), Some(KernelVersion { major: 4, minor: 8 }));
        assert_eq!(
            v("6.18.44-fc-v1300"),
            Some(KernelVersion {
                major: 6,
                minor: 18
            })
        );
        assert_eq!(
            v("5.10-rc1"),
            Some(KernelVersion {
                major: 5,
                minor: 10
            })
        );
        assert_eq!(v("6"), None);
        assert_eq!(v("x.1"), None);
        assert!(
            KernelVersion {
                major: 4,
                minor: 10
            } > KernelVersion { major: 4, minor: 8 }
        );
        assert!(Host::current().is_ok());
    }

    #[test]
    fn custom_profiles() {
        let caps = capabilities(false, &[], &[]);
        let apply = |text: &str| Profile::from_json(text)?.for_container(&caps, &AMD64);

        // Nothing asked: no filter, as dockerd.
        assert_eq!(apply("{}").unwrap(), None);
        assert_eq!(apply(r#"{"defaultAction": ""}"#).unwrap(), None);

        // The old one-name format, null lists, the plain architectures list.
        let f = apply(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"name": "chmod", "action": "SCMP_ACT_ERRNO", "args": null,
                              "includes": {}, "excludes": null}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.architectures, ["SCMP_ARCH_X86_64"]);
        assert_eq!(f.syscalls[0].names, ["chmod"]);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})
        );

        for (text, want) in [
            ("not json", "Decoding seccomp profile failed"),
            (
                r#"{"defaultAction": "SCMP_ACT_NOPE"}"#,
                "Decoding seccomp profile failed",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
                    "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
                "both 'architectures' and 'archMap'",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a",
                    "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#,
                "both 'name' and 'names'",
            ),
            (
                r#"{"syscalls": [{"names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#,
                "defaultAction is missing",
            ),
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["b"],
                    "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "four"}}]}"#,
                "not of the form",
            ),
        ] {
            let err = apply(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
