//! Loads real seccomp filters built by `muelle_runtime::seccomp`.
//!
//! A loaded filter cannot be removed again, so every scenario runs in a child process: the
//! test binary re-runs itself (`current_exe()`) with only the `child_entry` test selected and
//! the scenario name in an environment variable. The child builds and loads the filter, makes
//! the syscalls under test and reports through its exit status: [`CHILD_OK`] if everything
//! behaved as expected, otherwise the number of the first check that failed. (Not 0, so that a
//! child in which the harness selected no test at all cannot pass for a successful one.)

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use muelle_runtime::seccomp::{build_filter, enosys_stub, features, load, load_enosys_stub};
use oci_spec::runtime::LinuxSeccomp;
use rustix::fs::{Mode, SeekFrom, CWD};
use rustix::io::Errno;
use serde_json::json;

const SCENARIO_ENV: &str = "MUELLE_SECCOMP_TEST_SCENARIO";
const SCRATCH_ENV: &str = "MUELLE_SECCOMP_TEST_SCRATCH";

/// Exit status of a child whose checks all passed.
const CHILD_OK: i32 = 77;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Entry point of the child processes; does nothing in a normal test run.
#[test]
fn child_entry() {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    let code = match run_scenario(&scenario) {
        Ok(()) => CHILD_OK,
        Err(code) => i32::from(code),
    };
    std::process::exit(code);
}

struct ChildOutcome {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

fn run_child(scenario: &str, scratch: &std::path::Path) -> Result<ChildOutcome, std::io::Error> {
    let out = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "child_entry",
            "--test-threads=1",
            "--nocapture",
            "-q",
        ])
        .env(SCENARIO_ENV, scenario)
        .env(SCRATCH_ENV, scratch)
        .output()?;
    Ok(ChildOutcome {
        code: out.status.code(),
        signal: out.status.signal(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn assert_child_ok(scenario: &str) -> TestResult {
    let scratch = tempfile::tempdir()?;
    let out = run_child(scenario, scratch.path())?;
    assert_eq!(
        (out.code, out.signal),
        (Some(CHILD_OK), None),
        "scenario {scenario}: the exit code is the failed check; stderr:\n{}",
        out.stderr
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Child side

/// Check number `code` (exit status of the child when it fails).
fn check(ok: bool, code: u8) -> Result<(), u8> {
    if ok {
        Ok(())
    } else {
        Err(code)
    }
}

fn build_and_load(value: serde_json::Value) -> Result<Option<std::os::fd::OwnedFd>, u8> {
    let spec: LinuxSeccomp = serde_json::from_value(value).map_err(|_| 90)?;
    let filter = build_filter(&spec).map_err(|_| 91)?;
    // The runtime sets no_new_privs itself (libseccomp is told not to); do it here too so
    // loading works without CAP_SYS_ADMIN.
    rustix::thread::set_no_new_privs(true).map_err(|_| 92)?;
    load(&filter).map_err(|_| 93)
}

fn scratch_path(name: &str) -> Result<std::path::PathBuf, u8> {
    let dir = std::env::var_os(SCRATCH_ENV).ok_or(94u8)?;
    Ok(std::path::Path::new(&dir).join(name))
}

fn mkdir(path: &std::path::Path) -> Result<(), Errno> {
    rustix::fs::mkdirat(CWD, path, Mode::from_raw_mode(0o700))
}

fn run_scenario(name: &str) -> Result<(), u8> {
    match name {
        "mkdir_enosys" => mkdir_enosys(),
        "arg_compare" => arg_compare(),
        "default_errno_allowlist" => default_errno_allowlist(),
        "default_errno_ret" => default_errno_ret(),
        "kill_process" => kill_process(),
        "flags" => flags(),
        "notify_fd" => notify_fd(),
        "enosys_above_profile" => enosys_above_profile(),
        _ => Err(99),
    }
}

/// Default allow, ERRNO(38) for mkdir: mkdir fails with ENOSYS, nothing else is affected.
fn mkdir_enosys() -> Result<(), u8> {
    let target = scratch_path("denied")?;
    let notify = build_and_load(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    }))?;
    check(notify.is_none(), 1)?;
    check(mkdir(&target) == Err(Errno::NOSYS), 2)?;
    check(rustix::process::getcwd(Vec::new()).is_ok(), 3)?;
    check(!target.exists(), 4)?;
    Ok(())
}

/// Argument comparisons only match the values they name.
fn arg_compare() -> Result<(), u8> {
    let file = tempfile::tempfile().map_err(|_| 95)?;
    build_and_load(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            // Full 64-bit value.
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
            // value = mask, valueTwo = datum.
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
             "args": [{"index": 1, "value": 0xff00, "valueTwo": 0x1200,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            // Same index twice: split into two rules (either value matches).
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71,
             "args": [{"index": 1, "value": 0x10000, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 0x20000, "op": "SCMP_CMP_EQ"}]},
            // Different indices: one rule, both must match.
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 66,
             "args": [{"index": 1, "value": 0x50000, "op": "SCMP_CMP_EQ"},
                      {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]}
        ]
    }))?;
    let seek = |pos| rustix::fs::seek(&file, pos);
    check(seek(SeekFrom::Start(0xffff_ffff)) == Err(Errno::ACCESS), 1)?;
    check(seek(SeekFrom::Start(0xffff_fffe)).is_ok(), 2)?;
    check(seek(SeekFrom::Start(0x1_ffff_ffff)).is_ok(), 3)?;
    check(seek(SeekFrom::Start(0x1234)) == Err(Errno::XDEV), 4)?;
    check(seek(SeekFrom::Start(0x2234)).is_ok(), 5)?;
    check(seek(SeekFrom::Start(0x10000)) == Err(Errno::PROTO), 6)?;
    check(seek(SeekFrom::Start(0x20000)) == Err(Errno::PROTO), 7)?;
    check(seek(SeekFrom::Start(0x30000)).is_ok(), 8)?;
    check(seek(SeekFrom::Start(0x50000)) == Err(Errno::REMOTE), 9)?;
    check(seek(SeekFrom::Start(0)).is_ok(), 10)?;
    check(seek(SeekFrom::Current(0x50000)).is_ok(), 11)?;
    Ok(())
}

/// Syscalls a child needs between loading the filter and exiting.
const EXIT_ALLOWLIST: &[&str] = &[
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "sigaltstack",
    "futex",
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "madvise",
    "write",
];

/// Default ERRNO (EPERM) with an explicit allow list: allowed calls work, others get EPERM,
/// and the child can still exit normally.
fn default_errno_allowlist() -> Result<(), u8> {
    let target = scratch_path("denied")?;
    build_and_load(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": EXIT_ALLOWLIST, "action": "SCMP_ACT_ALLOW"},
            {"names": ["getcwd"], "action": "SCMP_ACT_ALLOW"},
            // Same as the default action: skipped, must not break the build.
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}
        ]
    }))?;
    check(rustix::process::getcwd(Vec::new()).is_ok(), 1)?;
    check(mkdir(&target) == Err(Errno::PERM), 2)?;
    Ok(())
}

/// With the stub on top of the profile's filter, a syscall above every syscall the profile
/// names (fchmodat2, 452) gets ENOSYS, one below it the profile's EPERM.
fn enosys_above_profile() -> Result<(), u8> {
    let target = scratch_path("denied")?;
    let value = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": EXIT_ALLOWLIST, "action": "SCMP_ACT_ALLOW"},
            // prctl loads the stub; futex_waitv (449) is the highest syscall named.
            {"names": ["getcwd", "prctl", "futex_waitv"], "action": "SCMP_ACT_ALLOW"}
        ]
    });
    let spec: LinuxSeccomp = serde_json::from_value(value.clone()).map_err(|_| 90)?;
    let stub = enosys_stub(&spec).ok_or(1u8)?;
    build_and_load(value)?;
    load_enosys_stub(&stub).map_err(|_| 2u8)?;
    // SAFETY: fchmodat2 with a bad fd and a null path only reads its integer arguments.
    let r = unsafe { libc::syscall(452, -1, std::ptr::null::<libc::c_char>(), 0, 0) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    check(r == -1 && errno == Some(libc::ENOSYS), 3)?;
    check(mkdir(&target) == Err(Errno::PERM), 4)?;
    check(rustix::process::getcwd(Vec::new()).is_ok(), 5)?;
    Ok(())
}

/// `defaultErrnoRet` is the errno of a default ERRNO action.
fn default_errno_ret() -> Result<(), u8> {
    let target = scratch_path("denied")?;
    build_and_load(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 95,
        "syscalls": [{"names": EXIT_ALLOWLIST, "action": "SCMP_ACT_ALLOW"}]
    }))?;
    check(mkdir(&target) == Err(Errno::OPNOTSUPP), 1)?;
    Ok(())
}

/// SCMP_ACT_KILL_PROCESS: the child dies of SIGSYS at the mkdir.
fn kill_process() -> Result<(), u8> {
    // No core file for the expected SIGSYS.
    rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .map_err(|_| 96)?;
    let target = scratch_path("denied")?;
    build_and_load(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }))?;
    let _ = mkdir(&target);
    Err(1)
}

/// All flags the features report as supported can be loaded.
fn flags() -> Result<(), u8> {
    let target = scratch_path("denied")?;
    let supported = features().supported_flags;
    // WAIT_KILLABLE_RECV only makes sense with a notify listener; the kernel refuses it otherwise.
    let flags: Vec<String> = supported
        .into_iter()
        .filter(|f| f != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
        .collect();
    check(flags.iter().any(|f| f == "SECCOMP_FILTER_FLAG_TSYNC"), 1)?;
    build_and_load(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": flags,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    }))?;
    check(mkdir(&target) == Err(Errno::NOSYS), 2)?;
    Ok(())
}

/// A filter with SCMP_ACT_NOTIFY hands out its listener fd.
fn notify_fd() -> Result<(), u8> {
    let fd = build_and_load(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/nonexistent/agent.sock",
        // Never called by the child, so nothing waits for an agent.
        "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}]
    }))?
    .ok_or(1u8)?;
    let flags = rustix::io::fcntl_getfd(&fd).map_err(|_| 2u8)?;
    check(flags.contains(rustix::io::FdFlags::CLOEXEC), 3)?;
    let link = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        rustix::fd::AsRawFd::as_raw_fd(&fd)
    ))
    .map_err(|_| 4u8)?;
    check(link.to_string_lossy().contains("seccomp notify"), 5)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parent side

#[test]
fn errno_rule_makes_mkdir_fail_with_enosys() -> TestResult {
    assert_child_ok("mkdir_enosys")
}

#[test]
fn argument_comparisons_match_only_their_values() -> TestResult {
    assert_child_ok("arg_compare")
}

#[test]
fn default_errno_with_allow_list() -> TestResult {
    assert_child_ok("default_errno_allowlist")
}

#[test]
fn default_errno_ret_is_used() -> TestResult {
    assert_child_ok("default_errno_ret")
}

#[test]
fn syscalls_above_the_profile_get_enosys() -> TestResult {
    assert_child_ok("enosys_above_profile")
}

#[test]
fn supported_flags_load() -> TestResult {
    assert_child_ok("flags")
}

#[test]
fn kill_process_kills_with_sigsys() -> TestResult {
    let scratch = tempfile::tempdir()?;
    let out = run_child("kill_process", scratch.path())?;
    assert_eq!(
        (out.code, out.signal),
        (None, Some(libc::SIGSYS)),
        "stderr:\n{}",
        out.stderr
    );
    assert!(!scratch.path().join("denied").exists());
    Ok(())
}

#[test]
fn notify_filter_returns_listener_fd() -> TestResult {
    if libseccomp::get_api() < 6 {
        // build_filter refuses notify on such systems (unit-tested).
        return Ok(());
    }
    assert_child_ok("notify_fd")
}
