//! seccomp: compiles the runtime-spec `linux.seccomp` object into a libseccomp filter and
//! loads it.
//!
//! The semantics follow `config-linux.md` of the runtime-spec and what runc does:
//!
//! * the default action applies to every syscall no rule matches; `defaultErrnoRet` (or
//!   `EPERM`) is the errno of a default `SCMP_ACT_ERRNO`;
//! * the native architecture is always part of the filter, `architectures` are added to it;
//! * each name of each `syscalls` entry becomes one libseccomp rule. Names libseccomp does not
//!   know on this architecture are skipped silently (the profile may name syscalls of newer
//!   kernels or other architectures); everything else that is wrong is an error naming the
//!   entry;
//! * rules whose action equals the default action are skipped (libseccomp refuses them);
//! * argument conditions of one entry are AND-ed into one rule, unless the same argument index
//!   appears more than once: then, like runc, every condition becomes a rule of its own (so they
//!   are effectively OR-ed);
//! * `SCMP_CMP_MASKED_EQ` uses `value` as the mask and `valueTwo` as the datum.
//!
//! [`build_filter`] only validates and compiles (it is meant to run at `create`, before
//! anything is forked); [`load`] installs the compiled filter in the calling process.
//!
//! With a default `SCMP_ACT_ERRNO`, syscalls numbered above every syscall the profile names get
//! `ENOSYS` rather than the default errno, as runc's "enosys stub" gives them ([`enosys_stub`],
//! [`load_enosys_stub`]): a profile cannot know the syscalls of kernels newer than itself, and a
//! libc falls back to an older syscall on `ENOSYS` (glibc tries `fchmodat2` and `clone3` before
//! `fchmodat` and `clone`) but gives up on `EPERM`.

use std::os::fd::{OwnedFd, RawFd};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
use serde::Serialize;

/// Error type of the low-level libseccomp binding, kept in the variants below.
pub type LibseccompError = libseccomp::error::SeccompError;

/// Syscalls take at most six arguments (indices 0 to 5).
const MAX_SYSCALL_ARGS: usize = 6;

/// The errno of `SCMP_ACT_ERRNO` / `SCMP_ACT_TRACE` when no `errnoRet` is given.
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// Everything that can be wrong with a `linux.seccomp` object, or with compiling / loading it.
///
/// Messages name the offending field (`linux.seccomp.syscalls[3]` and its syscall names, a flag,
/// an architecture...). They do not start with "seccomp": the crate error adds that prefix.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// A `syscalls` entry has an empty `names` list.
    #[error("linux.seccomp.syscalls[{index}]: `names` is empty")]
    EmptyNames { index: usize },

    /// A `syscalls` entry contains an empty string as a syscall name.
    #[error("linux.seccomp.syscalls[{index}]: `names` contains an empty syscall name")]
    EmptySyscallName { index: usize },

    /// An argument condition refers to an argument index above 5.
    #[error(
        "linux.seccomp.syscalls[{index}] ({syscalls}): args[{arg}].index is {arg_index}, \
         but syscall arguments are numbered 0 to 5"
    )]
    InvalidArgIndex {
        index: usize,
        syscalls: String,
        arg: usize,
        arg_index: usize,
    },

    /// `errnoRet` / `defaultErrnoRet` given with an action that has no errno.
    #[error("{field}: an errno return value ({errno}) is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not with {action}")]
    ErrnoRetNotAllowed {
        field: String,
        action: String,
        errno: u32,
    },

    /// `errnoRet` / `defaultErrnoRet` does not fit the 16 bits seccomp has for it.
    #[error("{field}: errno return value {errno} is out of range (0 to 65535)")]
    ErrnoRetOutOfRange { field: String, errno: u32 },

    /// `SCMP_ACT_NOTIFY` is used but there is nowhere to send the notify fd.
    #[error("SCMP_ACT_NOTIFY is used but linux.seccomp.listenerPath is not set")]
    MissingListenerPath,

    /// `SCMP_ACT_NOTIFY` as default action (runc refuses it: the runtime itself could not
    /// even write to the agent any more).
    #[error("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action")]
    NotifyAsDefaultAction,

    /// `SCMP_ACT_NOTIFY` on `write` (refused like runc does: the runtime needs `write` after the
    /// filter is loaded, and so may the agent's handling of the container).
    #[error(
        "linux.seccomp.syscalls[{index}]: SCMP_ACT_NOTIFY cannot be used for the write syscall"
    )]
    NotifyOnWrite { index: usize },

    /// A stored program (crate::seccomp_cache) the kernel refused.
    #[error("loading the stored seccomp program: {0}")]
    RawLoad(String),

    /// The action exists in the spec but libseccomp or the kernel cannot do it.
    #[error("{field}: action {action} is not supported by this kernel and libseccomp: {reason}")]
    UnsupportedAction {
        field: String,
        action: String,
        reason: String,
    },

    /// A filter flag libseccomp or the running kernel does not support.
    #[error("linux.seccomp.flags: {flag} is not supported by this kernel and libseccomp: {cause}")]
    UnsupportedFlag {
        flag: String,
        cause: LibseccompError,
    },

    /// An architecture that cannot be added to the filter (unknown to this libseccomp, or not
    /// combinable with the others).
    #[error("linux.seccomp.architectures: cannot add {arch} to the filter{hint}: {cause}")]
    UnsupportedArch {
        arch: String,
        hint: &'static str,
        cause: LibseccompError,
    },

    /// libseccomp refused a rule.
    #[error("linux.seccomp.syscalls[{index}]: cannot add the rule for syscall {syscall} ({action}): {cause}")]
    AddRule {
        index: usize,
        syscall: String,
        action: String,
        cause: LibseccompError,
    },

    /// libseccomp could not create the filter context with the default action.
    #[error(
        "linux.seccomp.defaultAction: cannot create a filter with default action {action}: {cause}"
    )]
    Init {
        action: String,
        cause: LibseccompError,
    },

    /// libseccomp refused a filter attribute the runtime always sets.
    #[error("cannot set the seccomp filter attribute {attr}: {cause}")]
    Attribute {
        attr: &'static str,
        cause: LibseccompError,
    },

    /// The kernel refused the filter.
    #[error("loading the filter into the kernel failed{hint}: {cause}")]
    Load {
        hint: &'static str,
        cause: LibseccompError,
    },

    /// The filter was loaded and uses SCMP_ACT_NOTIFY, but its listener fd could not be taken.
    #[error("the filter is loaded but its notify fd could not be obtained: {reason}")]
    NotifyFd { reason: String },
}

/// The `linux.seccomp` part of `muelle-runtime features` (runtime-spec `features.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompFeatures {
    /// Whether seccomp support is compiled in and libseccomp is usable.
    pub enabled: bool,
    /// Supported actions (`SCMP_ACT_*`), sorted.
    pub actions: Vec<String>,
    /// Supported argument operators (`SCMP_CMP_*`), sorted.
    pub operators: Vec<String>,
    /// Architectures the linked libseccomp can add to a filter (`SCMP_ARCH_*`), sorted.
    pub archs: Vec<String>,
    /// Filter flags the runtime knows (`SECCOMP_FILTER_FLAG_*`), sorted.
    pub known_flags: Vec<String>,
    /// Known flags that libseccomp and the running kernel actually support, sorted.
    pub supported_flags: Vec<String>,
}

/// True if the spec uses `SCMP_ACT_NOTIFY` as default action or in any rule
/// (then `listenerPath` is required).
pub fn uses_notify(seccomp: &LinuxSeccomp) -> bool {
    seccomp.default_action() == LinuxSeccompAction::ScmpActNotify
        || seccomp.syscalls().as_ref().is_some_and(|calls| {
            calls
                .iter()
                .any(|call| call.action() == LinuxSeccompAction::ScmpActNotify)
        })
}

/// Validate and compile; does not load. Called early (at `create`, before forking) so a bad
/// profile fails with a clear error and leaves nothing behind.
///
/// The filter has `no_new_privs` handling switched off (the runtime sets it from
/// `process.noNewPrivileges`), the binary-tree optimisation on when libseccomp has it, and the
/// requested `flags` applied as filter attributes (an unsupported flag is an error here already).
pub fn build_filter(seccomp: &LinuxSeccomp) -> Result<ScmpFilterContext, SeccompError> {
    // Everything that depends only on the spec is checked first, for all entries, so that a
    // profile is refused the same way on every architecture.
    let default_action = convert_action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        "linux.seccomp.defaultAction",
    )?;
    if default_action == ScmpAction::Notify {
        return Err(SeccompError::NotifyAsDefaultAction);
    }
    let syscalls: &[LinuxSyscall] = seccomp.syscalls().as_deref().unwrap_or(&[]);
    let mut rules = Vec::with_capacity(syscalls.len());
    for (index, call) in syscalls.iter().enumerate() {
        rules.push(validate_rule(index, call)?);
    }
    if uses_notify(seccomp) {
        if seccomp.listener_path().is_none() {
            return Err(SeccompError::MissingListenerPath);
        }
        ensure_notify_supported(syscalls)?;
    }

    let mut filter =
        ScmpFilterContext::new(default_action).map_err(|cause| SeccompError::Init {
            action: seccomp.default_action().to_string(),
            cause,
        })?;

    // The runtime decides about no_new_privs itself.
    filter
        .set_ctl_nnp(false)
        .map_err(|cause| SeccompError::Attribute {
            attr: "SCMP_FLTATR_CTL_NNP",
            cause,
        })?;
    // Optional niceties: binary-tree filter layout (libseccomp >= 2.5) and the kernel's own
    // errno on a failed load (so that `load` can say what is wrong). Older libseccomp versions
    // just lack them.
    let _ = filter.set_ctl_optimize(2);
    let _ = filter.set_api_sysrawrc(true);

    for flag in seccomp.flags().as_deref().unwrap_or(&[]) {
        apply_flag(&mut filter, *flag).map_err(|cause| SeccompError::UnsupportedFlag {
            flag: flag_name(*flag).to_string(),
            cause,
        })?;
    }

    for arch in seccomp.architectures().as_deref().unwrap_or(&[]) {
        filter
            .add_arch(scmp_arch(*arch))
            .map_err(|cause| SeccompError::UnsupportedArch {
                arch: arch_name(*arch).to_string(),
                hint: if arch_supported(scmp_arch(*arch)) {
                    " (one filter cannot mix architectures of different byte order)"
                } else {
                    " (unknown to the libseccomp this runtime is linked with)"
                },
                cause,
            })?;
    }

    for rule in &rules {
        add_rule(&mut filter, rule, default_action)?;
    }
    Ok(filter)
}

/// Load a compiled filter into the calling process.
///
/// Without `SECCOMP_FILTER_FLAG_TSYNC` the filter applies to the calling thread (and what it
/// forks/execs) only. The caller must either have `no_new_privs` set or `CAP_SYS_ADMIN`.
///
/// If the filter uses `SCMP_ACT_NOTIFY`, the listener fd is returned (close-on-exec). It is a
/// duplicate of the fd libseccomp keeps in its global state (that one is close-on-exec too and
/// goes away at `execve`); taking the duplicate costs a `pidfd_getfd` and a `close` after the
/// filter is active, so a notify profile must allow those (as it must allow the `sendmsg` used
/// to pass the fd on).
pub fn load(filter: &ScmpFilterContext) -> Result<Option<OwnedFd>, SeccompError> {
    // Opened before the filter is active so that only pidfd_getfd is needed afterwards.
    // Failure only matters if the filter turns out to use notify.
    let self_pidfd = pidfd_open(getpid(), PidfdFlags::empty());

    filter.load().map_err(|cause| SeccompError::Load {
        hint: load_hint(&cause),
        cause,
    })?;

    let Some(raw) = loaded_notify_fd(filter) else {
        return Ok(None);
    };
    let pidfd = self_pidfd.map_err(|e| SeccompError::NotifyFd {
        reason: format!("pidfd_open of the runtime process failed: {e}"),
    })?;
    let fd =
        pidfd_getfd(&pidfd, raw, PidfdGetfdFlags::empty()).map_err(|e| SeccompError::NotifyFd {
            reason: format!(
                "pidfd_getfd({raw}) failed: {e} (the profile must allow pidfd_getfd so that the \
                 runtime can take the listener fd)"
            ),
        })?;
    Ok(Some(fd))
}

/// For `muelle-runtime features`: what this runtime, libseccomp and the kernel support.
pub fn features() -> SeccompFeatures {
    let enabled = ScmpFilterContext::new(ScmpAction::Allow).is_ok();

    let mut actions: Vec<String> = ALL_ACTIONS.iter().map(|a| a.to_string()).collect();
    actions.sort();
    let mut operators: Vec<String> = ALL_OPERATORS
        .iter()
        .map(|op| operator_name(*op).to_string())
        .collect();
    operators.sort();

    let mut archs: Vec<String> = ALL_ARCHS
        .iter()
        .filter(|arch| **arch != Arch::ScmpArchNative)
        .filter(|arch| arch_supported(scmp_arch(**arch)))
        .map(|arch| arch_name(*arch).to_string())
        .collect();
    archs.sort();

    let mut known_flags: Vec<String> = ALL_FLAGS
        .iter()
        .map(|f| flag_name(*f).to_string())
        .collect();
    known_flags.sort();
    let mut supported_flags: Vec<String> = ALL_FLAGS
        .iter()
        .filter(|flag| {
            ScmpFilterContext::new(ScmpAction::Allow)
                .and_then(|mut ctx| apply_flag(&mut ctx, **flag))
                .is_ok()
        })
        .map(|f| flag_name(*f).to_string())
        .collect();
    supported_flags.sort();

    SeccompFeatures {
        enabled,
        actions,
        operators,
        archs,
        known_flags,
        supported_flags,
    }
}

// ---------------------------------------------------------------------------------------------
// Validation and conversion

/// One `syscalls` entry, validated and converted.
struct Rule<'a> {
    index: usize,
    names: &'a [String],
    spec_action: LinuxSeccompAction,
    action: ScmpAction,
    /// Each inner list is one libseccomp rule (per syscall name).
    condition_sets: Vec<Vec<ScmpArgCompare>>,
}

fn validate_rule(index: usize, call: &LinuxSyscall) -> Result<Rule<'_>, SeccompError> {
    let names = call.names().as_slice();
    if names.is_empty() {
        return Err(SeccompError::EmptyNames { index });
    }
    if names.iter().any(|n| n.is_empty()) {
        return Err(SeccompError::EmptySyscallName { index });
    }
    let field = format!("linux.seccomp.syscalls[{index}] ({})", names.join(", "));
    let action = convert_action(call.action(), call.errno_ret(), &field)?;
    if action == ScmpAction::Notify && names.iter().any(|n| n == "write") {
        return Err(SeccompError::NotifyOnWrite { index });
    }

    let args: &[LinuxSeccompArg] = call.args().as_deref().unwrap_or(&[]);
    let mut conditions = Vec::with_capacity(args.len());
    let mut per_index = [0usize; MAX_SYSCALL_ARGS];
    for (arg_pos, arg) in args.iter().enumerate() {
        let arg_index = arg.index();
        let (slot, arg_u32) = match (per_index.get_mut(arg_index), u32::try_from(arg_index)) {
            (Some(slot), Ok(i)) => (slot, i),
            _ => {
                return Err(SeccompError::InvalidArgIndex {
                    index,
                    syscalls: names.join(", "),
                    arg: arg_pos,
                    arg_index,
                })
            }
        };
        *slot += 1;
        conditions.push(convert_arg(arg_u32, arg));
    }
    // Same index more than once: one rule per condition (runc's behaviour); otherwise one rule
    // with all conditions AND-ed. No args: one unconditional rule.
    let condition_sets = if per_index.iter().any(|&n| n > 1) {
        conditions.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conditions]
    };

    Ok(Rule {
        index,
        names,
        spec_action: call.action(),
        action,
        condition_sets,
    })
}

fn convert_arg(arg_index: u32, arg: &LinuxSeccompArg) -> ScmpArgCompare {
    let value = arg.value();
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // value is the mask, valueTwo the datum.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return ScmpArgCompare::new(
                arg_index,
                ScmpCompareOp::MaskedEqual(value),
                arg.value_two().unwrap_or(0),
            )
        }
    };
    ScmpArgCompare::new(arg_index, op, value)
}

/// Spec action (+ errno) to libseccomp action. `field` names the place for errors.
fn convert_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<ScmpAction, SeccompError> {
    let errno = |errno_ret: Option<u32>| -> Result<u16, SeccompError> {
        let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
        u16::try_from(errno).map_err(|_| SeccompError::ErrnoRetOutOfRange {
            field: field.to_string(),
            errno,
        })
    };
    let no_errno = |scmp: ScmpAction| -> Result<ScmpAction, SeccompError> {
        match errno_ret {
            None => Ok(scmp),
            Some(errno) => Err(SeccompError::ErrnoRetNotAllowed {
                field: field.to_string(),
                action: action.to_string(),
                errno,
            }),
        }
    };
    match action {
        LinuxSeccompAction::ScmpActErrno => Ok(ScmpAction::Errno(i32::from(errno(errno_ret)?))),
        LinuxSeccompAction::ScmpActTrace => Ok(ScmpAction::Trace(errno(errno_ret)?)),
        LinuxSeccompAction::ScmpActAllow => no_errno(ScmpAction::Allow),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            no_errno(ScmpAction::KillThread)
        }
        LinuxSeccompAction::ScmpActKillProcess => no_errno(ScmpAction::KillProcess),
        LinuxSeccompAction::ScmpActTrap => no_errno(ScmpAction::Trap),
        LinuxSeccompAction::ScmpActLog => no_errno(ScmpAction::Log),
        LinuxSeccompAction::ScmpActNotify => no_errno(ScmpAction::Notify),
    }
}

/// runc requires libseccomp API level 6 (libseccomp >= 2.5, Linux >= 5.7) for notify.
fn ensure_notify_supported(syscalls: &[LinuxSyscall]) -> Result<(), SeccompError> {
    let level = libseccomp::get_api();
    if level >= 6 {
        return Ok(());
    }
    let field = syscalls
        .iter()
        .position(|c| c.action() == LinuxSeccompAction::ScmpActNotify)
        .map(|i| format!("linux.seccomp.syscalls[{i}]"))
        .unwrap_or_else(|| "linux.seccomp.defaultAction".to_string());
    Err(SeccompError::UnsupportedAction {
        field,
        action: LinuxSeccompAction::ScmpActNotify.to_string(),
        reason: format!(
            "libseccomp API level is {level}, at least 6 is needed (libseccomp >= 2.5.0 and Linux >= 5.7)"
        ),
    })
}

fn add_rule(
    filter: &mut ScmpFilterContext,
    rule: &Rule<'_>,
    default_action: ScmpAction,
) -> Result<(), SeccompError> {
    if rule.action == default_action {
        // Redundant, and libseccomp refuses it.
        return Ok(());
    }
    for name in rule.names {
        // Unknown to libseccomp on this architecture: skipped, like runc does.
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            continue;
        };
        for conditions in &rule.condition_sets {
            filter
                .add_rule_conditional(rule.action, syscall, conditions)
                .map_err(|cause| SeccompError::AddRule {
                    index: rule.index,
                    syscall: name.clone(),
                    action: rule.spec_action.to_string(),
                    cause,
                })?;
        }
    }
    Ok(())
}

/// Whether the linked libseccomp knows `arch`. Probed on a filter without the native
/// architecture, as one filter cannot mix byte orders.
fn arch_supported(arch: ScmpArch) -> bool {
    ScmpFilterContext::new(ScmpAction::Allow)
        .and_then(|mut ctx| {
            ctx.remove_arch(ScmpArch::Native)?;
            ctx.add_arch(arch)?;
            Ok(())
        })
        .is_ok()
}

/// Sets the filter attribute that corresponds to a `flags` entry.
fn apply_flag(
    filter: &mut ScmpFilterContext,
    flag: LinuxSeccompFilterFlag,
) -> Result<(), LibseccompError> {
    match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => filter.set_ctl_tsync(true),
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => filter.set_ctl_log(true),
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => filter.set_ctl_ssb(true),
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => filter.set_ctl_waitkill(true),
    }
    .map(|_| ())
}

/// The listener fd libseccomp got when loading `filter`, if it uses notify.
fn loaded_notify_fd(filter: &ScmpFilterContext) -> Option<RawFd> {
    // Without notify support in libseccomp/kernel no filter with notify can have been built.
    if libseccomp::get_api() < 6 {
        return None;
    }
    // libseccomp keeps the fd of the last load that used notify in global state and reports
    // an error when there is none.
    filter.get_notify_fd().ok().filter(|fd| *fd >= 0)
}

fn load_hint(cause: &LibseccompError) -> &'static str {
    match cause.sysrawrc().map(|rc| -rc) {
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (the process needs no_new_privs or CAP_SYS_ADMIN to load a filter)"
        }
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
            " (the running kernel does not support a requested flag or action)"
        }
        Some(libc::ESRCH) => " (another thread could not be synchronised: TSYNC failed)",
        Some(libc::EBUSY) => " (a notify listener is already installed)",
        _ => "",
    }
}

// ---------------------------------------------------------------------------------------------
// ENOSYS for syscalls newer than the profile

/// x32 syscalls have x86_64's audit arch; their numbers carry this bit.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl From<Insn> for libc::sock_filter {
    fn from(i: Insn) -> libc::sock_filter {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

/// A filter of its own that answers `ENOSYS` for syscalls above the highest one the profile
/// names (per architecture, as libseccomp numbers them) and lets everything else through to the
/// profile's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnosysStub {
    pub program: Vec<Insn>,
}

/// The highest syscall numbers a profile names on one audit architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Highest {
    audit_arch: u32,
    native: Option<u32>,
    /// x86_64's x32 ABI, told apart by [`X32_SYSCALL_BIT`].
    x32: Option<u32>,
}

/// The stub for `seccomp`, or `None` when its default action is not an errno (the stub only
/// changes which errno the default gives) or libseccomp knows none of its syscalls.
pub fn enosys_stub(seccomp: &LinuxSeccomp) -> Option<EnosysStub> {
    if seccomp.default_action() != LinuxSeccompAction::ScmpActErrno
        || seccomp.default_errno_ret() == Some(libc::ENOSYS as u32)
    {
        return None;
    }
    let mut archs = vec![ScmpArch::native()];
    for arch in seccomp.architectures().as_deref().unwrap_or(&[]) {
        let arch = scmp_arch(*arch);
        if arch != ScmpArch::Native && !archs.contains(&arch) {
            archs.push(arch);
        }
    }
    let names: Vec<&str> = seccomp
        .syscalls()
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .flat_map(|call| call.names().iter().map(String::as_str))
        .collect();
    let mut highest: Vec<Highest> = Vec::new();
    for arch in archs {
        let Some(audit_arch) = audit_arch(arch) else {
            continue;
        };
        let top = names
            .iter()
            .filter_map(|name| ScmpSyscall::from_name_by_arch(name, arch).ok())
            .filter_map(|nr| u32::try_from(nr.as_raw_syscall()).ok())
            .max();
        let at = match highest.iter().position(|h| h.audit_arch == audit_arch) {
            Some(at) => at,
            None => {
                highest.push(Highest {
                    audit_arch,
                    native: None,
                    x32: None,
                });
                highest.len() - 1
            }
        };
        let entry = &mut highest[at];
        if arch == ScmpArch::X32 {
            entry.x32 = top;
        } else {
            entry.native = top;
        }
    }
    highest.retain(|h| h.native.is_some() || h.x32.is_some());
    stub_program(&highest).map(|program| EnosysStub { program })
}

/// `ld arch`, then per architecture `jeq arch / ld nr / jgt highest`, jumping to `ret ALLOW` or
/// `ret ERRNO(ENOSYS)`; x86_64 first splits x32 numbers off with `jset`. `None` if a jump would
/// not fit the 8-bit offsets (it cannot with the architectures libseccomp has).
fn stub_program(highest: &[Highest]) -> Option<Vec<Insn>> {
    if highest.is_empty() {
        return None;
    }
    let block_len = |h: &Highest| {
        if h.audit_arch == AUDIT_ARCH_X86_64 {
            5
        } else {
            3
        }
    };
    let total = 1 + highest.iter().map(block_len).sum::<usize>() + 2;
    let (allow, enosys) = (total - 2, total - 1);
    let stmt = |code: u32, k: u32| Insn {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let mut program = vec![stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, DATA_ARCH)];
    let jump = |program: &Vec<Insn>, op: u32, k: u32, jt: usize, jf: usize| {
        let next = program.len() + 1;
        Some(Insn {
            code: (libc::BPF_JMP | op | libc::BPF_K) as u16,
            jt: u8::try_from(jt.checked_sub(next)?).ok()?,
            jf: u8::try_from(jf.checked_sub(next)?).ok()?,
            k,
        })
    };
    // Above an unknown highest number nothing is: compare with the largest value.
    let above = |program: &Vec<Insn>, highest: Option<u32>| {
        jump(
            program,
            libc::BPF_JGT,
            highest.unwrap_or(u32::MAX),
            enosys,
            allow,
        )
    };
    for h in highest {
        let end = program.len() + block_len(h);
        let here = program.len();
        program.push(jump(&program, libc::BPF_JEQ, h.audit_arch, here + 1, end)?);
        program.push(stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, DATA_NR));
        if h.audit_arch == AUDIT_ARCH_X86_64 {
            let here = program.len();
            program.push(jump(
                &program,
                libc::BPF_JSET,
                X32_SYSCALL_BIT,
                here + 2,
                here + 1,
            )?);
            program.push(above(&program, h.native)?);
            program.push(above(&program, h.x32)?);
        } else {
            program.push(above(&program, h.native)?);
        }
    }
    program.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    program.push(stmt(
        libc::BPF_RET | libc::BPF_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    ));
    Some(program)
}

/// Adds the stub on top of the filter [`load`] installed. When two filters give the same kind
/// of answer the kernel takes the most recent one's, so the stub's `ENOSYS` wins over the
/// profile's default errno, while its "allow" leaves every other answer to the profile.
///
/// It fails when the profile itself refuses `prctl`; the caller then goes on without it, as
/// before the stub existed (such a profile answers its default errno to newer syscalls).
pub fn load_enosys_stub(stub: &EnosysStub) -> std::io::Result<()> {
    let program: Vec<libc::sock_filter> = stub.program.iter().map(|i| (*i).into()).collect();
    crate::sys::seccomp_filter(&program)
}

/// AUDIT_ARCH_* of the architectures the stub knows (x32 shares x86_64's).
fn audit_arch(arch: ScmpArch) -> Option<u32> {
    Some(match arch {
        ScmpArch::Native => return audit_arch(ScmpArch::native()),
        ScmpArch::X8664 | ScmpArch::X32 => AUDIT_ARCH_X86_64,
        ScmpArch::X86 => 0x4000_0003,
        ScmpArch::Aarch64 => 0xC000_00B7,
        ScmpArch::Arm => 0x4000_0028,
        ScmpArch::Riscv64 => 0xC000_00F3,
        ScmpArch::S390X => 0x8000_0016,
        ScmpArch::S390 => 0x0000_0016,
        ScmpArch::Ppc64Le => 0xC000_0015,
        ScmpArch::Ppc64 => 0x8000_0015,
        ScmpArch::Ppc => 0x0000_0014,
        ScmpArch::Mips => 0x0000_0008,
        ScmpArch::Mipsel => 0x4000_0008,
        ScmpArch::Mips64 => 0x8000_0008,
        ScmpArch::Mipsel64 => 0xC000_0008,
        ScmpArch::Mips64N32 => 0xA000_0008,
        ScmpArch::Mipsel64N32 => 0xE000_0008,
        ScmpArch::Loongarch64 => 0xC000_0102,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Name tables

const ALL_ACTIONS: [LinuxSeccompAction; 9] = [
    LinuxSeccompAction::ScmpActKill,
    LinuxSeccompAction::ScmpActKillThread,
    LinuxSeccompAction::ScmpActKillProcess,
    LinuxSeccompAction::ScmpActTrap,
    LinuxSeccompAction::ScmpActErrno,
    LinuxSeccompAction::ScmpActNotify,
    LinuxSeccompAction::ScmpActTrace,
    LinuxSeccompAction::ScmpActLog,
    LinuxSeccompAction::ScmpActAllow,
];

const ALL_OPERATORS: [LinuxSeccompOperator; 7] = [
    LinuxSeccompOperator::ScmpCmpNe,
    LinuxSeccompOperator::ScmpCmpLt,
    LinuxSeccompOperator::ScmpCmpLe,
    LinuxSeccompOperator::ScmpCmpEq,
    LinuxSeccompOperator::ScmpCmpGe,
    LinuxSeccompOperator::ScmpCmpGt,
    LinuxSeccompOperator::ScmpCmpMaskedEq,
];

const ALL_FLAGS: [LinuxSeccompFilterFlag; 4] = [
    LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
    LinuxSeccompFilterFlag::SeccompFilterFlagLog,
    LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
    LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv,
];

const ALL_ARCHS: [Arch; 24] = [
    Arch::ScmpArchNative,
    Arch::ScmpArchX86,
    Arch::ScmpArchX86_64,
    Arch::ScmpArchX32,
    Arch::ScmpArchArm,
    Arch::ScmpArchAarch64,
    Arch::ScmpArchMips,
    Arch::ScmpArchMips64,
    Arch::ScmpArchMips64n32,
    Arch::ScmpArchMipsel,
    Arch::ScmpArchMipsel64,
    Arch::ScmpArchMipsel64n32,
    Arch::ScmpArchPpc,
    Arch::ScmpArchPpc64,
    Arch::ScmpArchPpc64le,
    Arch::ScmpArchS390,
    Arch::ScmpArchS390x,
    Arch::ScmpArchParisc,
    Arch::ScmpArchParisc64,
    Arch::ScmpArchRiscv64,
    Arch::ScmpArchLoongarch64,
    Arch::ScmpArchM68k,
    Arch::ScmpArchSh,
    Arch::ScmpArchSheb,
];

fn operator_name(op: LinuxSeccompOperator) -> &'static str {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => "SCMP_CMP_NE",
        LinuxSeccompOperator::ScmpCmpLt => "SCMP_CMP_LT",
        LinuxSeccompOperator::ScmpCmpLe => "SCMP_CMP_LE",
        LinuxSeccompOperator::ScmpCmpEq => "SCMP_CMP_EQ",
        LinuxSeccompOperator::ScmpCmpGe => "SCMP_CMP_GE",
        LinuxSeccompOperator::ScmpCmpGt => "SCMP_CMP_GT",
        LinuxSeccompOperator::ScmpCmpMaskedEq => "SCMP_CMP_MASKED_EQ",
    }
}

fn flag_name(flag: LinuxSeccompFilterFlag) -> &'static str {
    match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => "SECCOMP_FILTER_FLAG_TSYNC",
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => "SECCOMP_FILTER_FLAG_LOG",
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        }
    }
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::ScmpArchNative => "SCMP_ARCH_NATIVE",
        Arch::ScmpArchX86 => "SCMP_ARCH_X86",
        Arch::ScmpArchX86_64 => "SCMP_ARCH_X86_64",
        Arch::ScmpArchX32 => "SCMP_ARCH_X32",
        Arch::ScmpArchArm => "SCMP_ARCH_ARM",
        Arch::ScmpArchAarch64 => "SCMP_ARCH_AARCH64",
        Arch::ScmpArchMips => "SCMP_ARCH_MIPS",
        Arch::ScmpArchMips64 => "SCMP_ARCH_MIPS64",
        Arch::ScmpArchMips64n32 => "SCMP_ARCH_MIPS64N32",
        Arch::ScmpArchMipsel => "SCMP_ARCH_MIPSEL",
        Arch::ScmpArchMipsel64 => "SCMP_ARCH_MIPSEL64",
        Arch::ScmpArchMipsel64n32 => "SCMP_ARCH_MIPSEL64N32",
        Arch::ScmpArchPpc => "SCMP_ARCH_PPC",
        Arch::ScmpArchPpc64 => "SCMP_ARCH_PPC64",
        Arch::ScmpArchPpc64le => "SCMP_ARCH_PPC64LE",
        Arch::ScmpArchS390 => "SCMP_ARCH_S390",
        Arch::ScmpArchS390x => "SCMP_ARCH_S390X",
        Arch::ScmpArchParisc => "SCMP_ARCH_PARISC",
        Arch::ScmpArchParisc64 => "SCMP_ARCH_PARISC64",
        Arch::ScmpArchRiscv64 => "SCMP_ARCH_RISCV64",
        Arch::ScmpArchLoongarch64 => "SCMP_ARCH_LOONGARCH64",
        Arch::ScmpArchM68k => "SCMP_ARCH_M68K",
        Arch::ScmpArchSh => "SCMP_ARCH_SH",
        Arch::ScmpArchSheb => "SCMP_ARCH_SHEB",
    }
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::{Read, Seek};

    /// Runs a stub program the way the kernel would, for one syscall: its return value.
    fn run_stub(program: &[Insn], arch: u32, nr: u32) -> u32 {
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let i = program[pc];
            let class = u32::from(i.code) & 0x07;
            let op = u32::from(i.code) & 0xf0;
            match class {
                c if c == libc::BPF_LD => {
                    acc = if i.k == DATA_ARCH { arch } else { nr };
                    pc += 1;
                }
                c if c == libc::BPF_RET => return i.k,
                c if c == libc::BPF_JMP => {
                    let taken = match op {
                        o if o == libc::BPF_JEQ => acc == i.k,
                        o if o == libc::BPF_JGT => acc > i.k,
                        o if o == libc::BPF_JSET => acc & i.k != 0,
                        o => panic!("unexpected jump {o:#x}"),
                    };
                    pc += 1 + usize::from(if taken { i.jt } else { i.jf });
                }
                c => panic!("unexpected class {c:#x}"),
            }
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

    #[test]
    fn enosys_stub_answers_above_the_highest_named_syscall(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let stub = enosys_stub(&spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            // futex_waitv is 449 on x86_64 and i386 and 0x40000000|449 on x32; the other
            // names are older.
            "syscalls": [{"names": ["read", "futex_waitv", "no_such_syscall"],
                          "action": "SCMP_ACT_ALLOW"},
                         {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        }))?)
        .ok_or("no stub")?;
        let p = &stub.program;
        const I386: u32 = 0x4000_0003;
        for (arch, nr, want) in [
            (AUDIT_ARCH_X86_64, 0, ALLOW),
            (AUDIT_ARCH_X86_64, 449, ALLOW),
            (AUDIT_ARCH_X86_64, 450, ENOSYS),
            (AUDIT_ARCH_X86_64, 1000, ENOSYS),
            (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 449, ALLOW),
            (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 450, ENOSYS),
            (I386, 449, ALLOW),
            (I386, 450, ENOSYS),
            // An architecture the filter does not have: the profile's filter decides.
            (0xC000_00B7, 5000, ALLOW),
        ] {
            assert_eq!(run_stub(p, arch, nr), want, "arch {arch:#x} nr {nr}");
        }
        Ok(())
    }

    #[test]
    fn no_enosys_stub_unless_the_default_is_an_errno() -> Result<(), Box<dyn std::error::Error>> {
        let calls = json!([{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]);
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG"] {
            let s = spec(json!({"defaultAction": default, "syscalls": calls}))?;
            assert_eq!(enosys_stub(&s), None, "{default}");
        }
        let s = spec(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}),
        )?;
        assert_eq!(enosys_stub(&s), None, "ENOSYS already");
        let s = spec(json!({"defaultAction": "SCMP_ACT_ERRNO",
                            "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ALLOW"}]}))?;
        assert_eq!(enosys_stub(&s), None, "no known syscall");
        Ok(())
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn spec(value: serde_json::Value) -> Result<LinuxSeccomp, serde_json::Error> {
        serde_json::from_value(value)
    }

    /// The filter in libseccomp's pseudo-filter-code text form.
    fn pfc(filter: &ScmpFilterContext) -> Result<String, Box<dyn std::error::Error>> {
        let mut file = tempfile::tempfile()?;
        filter.export_pfc(&file)?;
        file.rewind()?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    }

    fn build_err(value: serde_json::Value) -> Result<SeccompError, Box<dyn std::error::Error>> {
        match build_filter(&spec(value)?) {
            Ok(_) => Err("build_filter unexpectedly succeeded".into()),
            Err(e) => Ok(e),
        }
    }

    #[test]
    fn all_spec_action_names_parse() -> TestResult {
        for name in [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
        ] {
            let s = spec(json!({"defaultAction": name}))?;
            assert_eq!(s.default_action().to_string(), name);
        }
        Ok(())
    }

    #[test]
    fn default_actions() -> TestResult {
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW"}),
                ScmpAction::Allow,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO"}),
                ScmpAction::Errno(libc::EPERM),
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 95}),
                ScmpAction::Errno(95),
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL"}),
                ScmpAction::KillThread,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL_THREAD"}),
                ScmpAction::KillThread,
            ),
            (
                json!({"defaultAction": "SCMP_ACT_KILL_PROCESS"}),
                ScmpAction::KillProcess,
            ),
            (json!({"defaultAction": "SCMP_ACT_TRAP"}), ScmpAction::Trap),
            (json!({"defaultAction": "SCMP_ACT_LOG"}), ScmpAction::Log),
            (
                json!({"defaultAction": "SCMP_ACT_TRACE"}),
                ScmpAction::Trace(1),
            ),
            (
                json!({"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 7}),
                ScmpAction::Trace(7),
            ),
        ];
        for (value, expected) in cases {
            let filter = build_filter(&spec(value.clone())?)?;
            assert_eq!(filter.get_act_default()?, expected, "{value}");
        }
        Ok(())
    }

    #[test]
    fn attributes_nnp_off_and_optimized() -> TestResult {
        let filter = build_filter(&spec(json!({"defaultAction": "SCMP_ACT_ALLOW"}))?)?;
        assert!(!filter.get_ctl_nnp()?);
        assert_eq!(filter.get_ctl_optimize()?, 2);
        Ok(())
    }

    #[test]
    fn valid_profile_with_rules() -> TestResult {
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]},
                {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRAP"},
                {"names": ["acct"], "action": "SCMP_ACT_LOG"},
                {"names": ["swapon"], "action": "SCMP_ACT_TRACE", "errnoRet": 3},
                {"names": ["swapoff"], "action": "SCMP_ACT_KILL"}
            ]
        }))?;
        let text = pfc(&build_filter(&s)?)?;
        assert!(text.contains("ERRNO(38)"), "{text}");
        assert!(text.contains("\"personality\""), "{text}");
        assert!(text.contains("ERRNO(1)"), "{text}");
        assert!(text.contains("KILL_PROCESS"), "{text}");
        assert!(text.contains("TRAP"), "{text}");
        assert!(text.contains("LOG"), "{text}");
        assert!(text.contains("TRACE(3)"), "{text}");
        Ok(())
    }

    #[test]
    fn unknown_syscall_is_ignored() -> TestResult {
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["no_such_syscall_xyz", "getcwd"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["another_unknown_one"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        }))?;
        let text = pfc(&build_filter(&s)?)?;
        assert!(text.contains("\"getcwd\""), "{text}");
        assert!(!text.contains("no_such_syscall_xyz"), "{text}");
        Ok(())
    }

    #[test]
    fn rule_with_default_action_is_skipped() -> TestResult {
        // libseccomp refuses a rule whose action is the default action.
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["getcwd"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["chdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2}
            ]
        }))?;
        let text = pfc(&build_filter(&s)?)?;
        assert!(!text.contains("\"mkdir\""), "{text}");
        assert!(!text.contains("\"rmdir\""), "{text}");
        assert!(text.contains("\"chdir\""), "{text}");
        assert!(text.contains("ERRNO(2)"), "{text}");
        Ok(())
    }

    #[test]
    fn repeated_arg_index_splits_rules_masked_eq_uses_value_as_mask() -> TestResult {
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71,
                 "args": [{"index": 1, "value": 4096, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 8192, "op": "SCMP_CMP_EQ"}]},
                {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
                 "args": [{"index": 1, "value": 65280, "valueTwo": 4608,
                           "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 66,
                 "args": [{"index": 1, "value": 20480, "op": "SCMP_CMP_EQ"},
                          {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]}
            ]
        }))?;
        let text = pfc(&build_filter(&s)?)?;
        // Two separate rules (OR): each value leads to the action on its own.
        assert!(text.contains("$a1.lo32 == 4096"), "{text}");
        assert!(text.contains("$a1.lo32 == 8192"), "{text}");
        // Mask 0xff00, datum 0x1200.
        assert!(text.contains("$a1.lo32 & 0x0000ff00 == 4608"), "{text}");
        // Different indices: one rule, both conditions (a2 nested inside a1 or vice versa).
        assert!(text.contains("$a1.lo32 == 20480"), "{text}");
        assert!(text.contains("$a2.lo32 == 0"), "{text}");
        Ok(())
    }

    #[test]
    fn invalid_arg_index() -> TestResult {
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                          {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        }))?;
        assert!(
            matches!(
                &e,
                SeccompError::InvalidArgIndex { index: 1, syscalls, arg: 1, arg_index: 6 }
                    if syscalls == "personality"
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("syscalls[1]") && msg.contains("personality"),
            "{msg}"
        );
        Ok(())
    }

    #[test]
    fn invalid_arg_index_even_for_unknown_syscall() -> TestResult {
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_syscall_xyz"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]
        }))?;
        assert!(
            matches!(e, SeccompError::InvalidArgIndex { arg_index: 9, .. }),
            "{e:?}"
        );
        Ok(())
    }

    #[test]
    fn empty_names() -> TestResult {
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"},
                         {"names": [], "action": "SCMP_ACT_ERRNO"}]
        }))?;
        assert!(matches!(e, SeccompError::EmptyNames { index: 1 }), "{e:?}");
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd", ""], "action": "SCMP_ACT_ERRNO"}]
        }))?;
        assert!(
            matches!(e, SeccompError::EmptySyscallName { index: 0 }),
            "{e:?}"
        );
        Ok(())
    }

    #[test]
    fn errno_ret_checks() -> TestResult {
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]
        }))?;
        assert!(
            matches!(&e, SeccompError::ErrnoRetNotAllowed { field, action, errno: 5 }
                if field.contains("syscalls[0]") && field.contains("mkdir")
                    && action == "SCMP_ACT_KILL"),
            "{e:?}"
        );
        let e = build_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}))?;
        assert!(
            matches!(&e, SeccompError::ErrnoRetNotAllowed { field, .. }
                if field == "linux.seccomp.defaultAction"),
            "{e:?}"
        );
        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65536}]
        }))?;
        assert!(
            matches!(e, SeccompError::ErrnoRetOutOfRange { errno: 65536, .. }),
            "{e:?}"
        );
        Ok(())
    }

    #[test]
    fn notify_requires_listener_path() -> TestResult {
        let value = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        });
        let s = spec(value.clone())?;
        assert!(uses_notify(&s));
        let e = build_err(value)?;
        assert!(matches!(e, SeccompError::MissingListenerPath), "{e:?}");

        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }))?;
        if libseccomp::get_api() >= 6 {
            let text = pfc(&build_filter(&s)?)?;
            // libseccomp 2.5 prints the raw SECCOMP_RET_USER_NOTIF value.
            assert!(
                text.contains("NOTIFY") || text.contains("0x7fc00000"),
                "{text}"
            );
        } else {
            let e = build_filter(&s)
                .err()
                .ok_or("notify accepted without API level 6")?;
            assert!(matches!(e, SeccompError::UnsupportedAction { .. }), "{e:?}");
        }
        Ok(())
    }

    #[test]
    fn notify_not_as_default_nor_for_write() -> TestResult {
        let s = spec(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a.sock"}))?;
        assert!(uses_notify(&s));
        let e = build_filter(&s).err().ok_or("default notify accepted")?;
        assert!(matches!(e, SeccompError::NotifyAsDefaultAction), "{e:?}");

        let e = build_err(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/a.sock",
            "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]
        }))?;
        assert!(
            matches!(e, SeccompError::NotifyOnWrite { index: 0 }),
            "{e:?}"
        );
        Ok(())
    }

    #[test]
    fn uses_notify_false_without_notify() -> TestResult {
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW"}]
        }))?;
        assert!(!uses_notify(&s));
        assert!(!uses_notify(&spec(
            json!({"defaultAction": "SCMP_ACT_ALLOW"})
        )?));
        Ok(())
    }

    #[test]
    fn multiple_architectures() -> TestResult {
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getcwd", "socketcall", "arm_fadvise64_64"],
                          "action": "SCMP_ACT_ALLOW"}]
        }))?;
        let filter = build_filter(&s)?;
        assert!(filter.is_arch_present(ScmpArch::Native)?);
        for arch in [ScmpArch::X8664, ScmpArch::X86, ScmpArch::X32] {
            assert!(filter.is_arch_present(arch)?, "{arch:?}");
        }
        let text = pfc(&filter)?;
        assert!(text.contains("filter for arch x86 "), "{text}");
        assert!(text.contains("filter for arch x32 "), "{text}");
        Ok(())
    }

    #[test]
    fn native_architecture_always_present() -> TestResult {
        let s = spec(json!({"defaultAction": "SCMP_ACT_ALLOW",
                            "architectures": ["SCMP_ARCH_AARCH64"]}))?;
        let filter = build_filter(&s)?;
        assert!(filter.is_arch_present(ScmpArch::Native)?);
        assert!(filter.is_arch_present(ScmpArch::Aarch64)?);
        Ok(())
    }

    #[test]
    fn flags() -> TestResult {
        let supported = features().supported_flags;
        for (name, get) in [
            (
                "SECCOMP_FILTER_FLAG_TSYNC",
                ScmpFilterContext::get_ctl_tsync as fn(&ScmpFilterContext) -> _,
            ),
            ("SECCOMP_FILTER_FLAG_LOG", ScmpFilterContext::get_ctl_log),
            (
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                ScmpFilterContext::get_ctl_ssb,
            ),
            (
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                ScmpFilterContext::get_ctl_waitkill,
            ),
        ] {
            let s = spec(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [name]}))?;
            match build_filter(&s) {
                Ok(filter) => {
                    assert!(
                        supported.iter().any(|f| f == name),
                        "{name} built but not listed"
                    );
                    assert!(get(&filter)?, "{name} not set");
                }
                Err(e) => {
                    assert!(
                        !supported.iter().any(|f| f == name),
                        "{name} listed but: {e}"
                    );
                    assert!(
                        matches!(&e, SeccompError::UnsupportedFlag { flag, .. } if flag == name),
                        "{e:?}"
                    );
                    assert!(e.to_string().contains(name), "{e}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn docker_like_profile_builds() -> TestResult {
        let names = [
            "accept",
            "accept4",
            "access",
            "arch_prctl",
            "bind",
            "brk",
            "capget",
            "capset",
            "chdir",
            "clock_gettime",
            "clone",
            "clone3",
            "close",
            "connect",
            "dup",
            "dup2",
            "dup3",
            "epoll_create1",
            "epoll_ctl",
            "epoll_pwait",
            "epoll_wait",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "faccessat",
            "faccessat2",
            "fchdir",
            "fcntl",
            "fstat",
            "futex",
            "getcwd",
            "getdents64",
            "getpid",
            "getppid",
            "ioctl",
            "lseek",
            "mmap",
            "mprotect",
            "munmap",
            "newfstatat",
            "openat",
            "openat2",
            "pipe2",
            "poll",
            "prctl",
            "pread64",
            "read",
            "readlink",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "sendmsg",
            "set_robust_list",
            "set_tid_address",
            "socket",
            "socketcall",
            "statx",
            "uname",
            "wait4",
            "write",
            "landlock_create_ruleset",
            "futex_waitv",
            "cachestat",
            "map_shadow_stack",
            "arm_fadvise64_64",
            "ipc",
        ];
        let s = spec(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": names.as_slice(), "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
                 "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]}
            ]
        }))?;
        build_filter(&s)?;
        Ok(())
    }

    #[test]
    fn features_lists() -> TestResult {
        let f = features();
        assert!(f.enabled);
        assert_eq!(
            f.actions,
            [
                "SCMP_ACT_ALLOW",
                "SCMP_ACT_ERRNO",
                "SCMP_ACT_KILL",
                "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD",
                "SCMP_ACT_LOG",
                "SCMP_ACT_NOTIFY",
                "SCMP_ACT_TRACE",
                "SCMP_ACT_TRAP",
            ]
        );
        assert_eq!(
            f.operators,
            [
                "SCMP_CMP_EQ",
                "SCMP_CMP_GE",
                "SCMP_CMP_GT",
                "SCMP_CMP_LE",
                "SCMP_CMP_LT",
                "SCMP_CMP_MASKED_EQ",
                "SCMP_CMP_NE",
            ]
        );
        for arch in [
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32",
            "SCMP_ARCH_AARCH64",
            "SCMP_ARCH_S390X",
            "SCMP_ARCH_PPC64",
        ] {
            assert!(
                f.archs.iter().any(|a| a == arch),
                "{arch} missing: {:?}",
                f.archs
            );
        }
        assert!(!f.archs.iter().any(|a| a == "SCMP_ARCH_NATIVE"));
        assert_eq!(
            f.known_flags,
            [
                "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_TSYNC",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            ]
        );
        assert!(f.supported_flags.iter().all(|s| f.known_flags.contains(s)));
        assert!(f
            .supported_flags
            .iter()
            .any(|s| s == "SECCOMP_FILTER_FLAG_TSYNC"));

        // Every listed arch name is one the spec parser accepts.
        for arch in &f.archs {
            let s = spec(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch]}))?;
            assert_eq!(s.architectures().as_deref().map(<[Arch]>::len), Some(1));
        }

        let v = serde_json::to_value(&f)?;
        for key in [
            "enabled",
            "actions",
            "operators",
            "archs",
            "knownFlags",
            "supportedFlags",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        Ok(())
    }

    #[test]
    fn name_tables_match_spec_serialization() -> TestResult {
        for arch in ALL_ARCHS {
            assert_eq!(serde_json::to_value(arch)?, json!(arch_name(arch)));
        }
        for op in ALL_OPERATORS {
            assert_eq!(serde_json::to_value(op)?, json!(operator_name(op)));
        }
        for flag in ALL_FLAGS {
            assert_eq!(serde_json::to_value(flag)?, json!(flag_name(flag)));
        }
        for action in ALL_ACTIONS {
            assert_eq!(serde_json::to_value(action)?, json!(action.to_string()));
        }
        Ok(())
    }
}
