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

mod enosys;
mod names;
#[cfg(test)]
mod tests;

pub use enosys::{enosys_stub, load_enosys_stub, EnosysStub, Insn};
use names::*;
