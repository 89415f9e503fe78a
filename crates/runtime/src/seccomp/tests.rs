//! Tests of the seccomp compiler and the enosys stub.

use super::enosys::*;
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
fn enosys_stub_answers_above_the_highest_named_syscall() -> Result<(), Box<dyn std::error::Error>> {
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
