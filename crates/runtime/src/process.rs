//! The last steps before `execve`, shared by a container's init and by `exec`: the
//! executable lookup, the console, rlimits, the user, capabilities, no_new_privs, seccomp,
//! closing the runtime's descriptors.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, PosixRlimitType, Process};

use crate::error::{Result, RuntimeError};
use crate::sys;

/// The default PATH when the process environment has none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What `execve` will get, resolved before the container is reported ready, so that a
/// missing executable fails `create` (and `docker run` can say 127) rather than `start`.
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| RuntimeError::InvalidConfig(format!("{what} {s:?} contains a NUL byte")))
}

/// Makes `cwd` the working directory, resolved inside the current root (the container's,
/// after pivot_root or setns into its mount namespace) and checked once there.
///
/// `chdir(cwd)` would follow `..`, absolute symlinks and magic links such as
/// `/proc/self/fd/N` wherever they lead, and a descriptor the caller still held on a host
/// directory turned `-w /proc/self/fd/6` into the host's filesystem (CVE-2024-21626). Here
/// the path is opened with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, entered through that
/// handle, and getcwd must then name a path under the root: the kernel prefixes an
/// unreachable directory with "(unreachable)". `create` makes missing directories (for the
/// init, as runc does; `exec` needs an existing one).
pub fn enter_cwd(cwd: &Path, create: bool) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fail = |e: std::io::Error| RuntimeError::path("chdir to process.cwd", cwd, e);
    let root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail(e.into()))?;
    let dir = if create {
        crate::safepath::mkdir_all_in_root(root.as_fd(), cwd, 0o755)
    } else {
        crate::safepath::open_in_root(
            root.as_fd(),
            cwd,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        )
    }
    .map_err(fail)?;
    rustix::process::fchdir(&dir).map_err(|e| fail(e.into()))?;
    let now = rustix::process::getcwd(Vec::new()).map_err(|e| fail(e.into()))?;
    if !now.as_bytes().starts_with(b"/") {
        return Err(RuntimeError::InvalidConfig(format!(
            "process.cwd {cwd:?} resolves outside the container's root"
        )));
    }
    Ok(())
}

/// Finds `args[0]` the way exec.LookPath does, with the process's own PATH.
pub fn prepare(p: &Process) -> Result<Exec> {
    let args = p.args().clone().unwrap_or_default();
    let Some(arg0) = args.first() else {
        return Err(RuntimeError::InvalidConfig("process.args: empty".into()));
    };
    let mut env: Vec<String> = p.env().clone().unwrap_or_default();
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(p.user().uid())));
    }
    let resolved = lookup(arg0, &path_var, p.cwd())?;
    Ok(Exec {
        path: CString::new(resolved.as_os_str().as_bytes()).map_err(|_| {
            RuntimeError::InvalidConfig(format!("process.args[0] {arg0:?} contains a NUL byte"))
        })?,
        argv: args
            .iter()
            .map(|a| cstring(a, "process.args"))
            .collect::<Result<_>>()?,
        env: env
            .iter()
            .map(|e| cstring(e, "process.env"))
            .collect::<Result<_>>()?,
    })
}

fn is_executable(p: &Path) -> Result<bool, std::io::Error> {
    let meta = std::fs::metadata(p)?;
    if meta.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    Ok(rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok())
}

/// exec.LookPath: a name with a slash is used as is; otherwise each PATH entry is tried.
pub fn lookup(arg0: &str, path_var: &str, cwd: &Path) -> Result<PathBuf> {
    let not_found = || {
        RuntimeError::Child(format!(
            "exec: {arg0:?}: executable file not found in $PATH"
        ))
    };
    if arg0.contains('/') {
        let p = if arg0.starts_with('/') {
            PathBuf::from(arg0)
        } else {
            cwd.join(arg0)
        };
        return match is_executable(&p) {
            Ok(true) => Ok(PathBuf::from(arg0)),
            Ok(false) => Err(RuntimeError::Child(format!(
                "exec: {arg0:?}: permission denied"
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RuntimeError::Child(
                format!("exec: {arg0:?}: stat {arg0}: no such file or directory"),
            )),
            Err(e) => Err(RuntimeError::Child(format!("exec: {arg0:?}: {e}"))),
        };
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        let cand = if cand.is_absolute() {
            cand
        } else {
            cwd.join(cand)
        };
        if let Ok(true) = is_executable(&cand) {
            return Ok(cand);
        }
    }
    Err(not_found())
}

/// The home directory of `uid` from the container's /etc/passwd, or "/".
pub fn home_of(uid: u32) -> String {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return "/".into();
    };
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid) {
            return f[5].to_string();
        }
    }
    "/".into()
}

/// The terminal size the spec asks for, as (rows, columns).
pub fn console_size(process: &Process) -> Option<(u16, u16)> {
    process
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16))
}

/// Creates a pty in the container (its /dev/ptmx), sends the master to the console socket and
/// makes the slave the process's stdio and controlling terminal.
pub fn setup_console(console: &OwnedFd, size: Option<(u16, u16)>) -> Result<()> {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .map_err(|e| RuntimeError::sys("open /dev/ptmx in the container", e))?;
    grantpt(&master).map_err(|e| RuntimeError::sys("grantpt", e))?;
    unlockpt(&master).map_err(|e| RuntimeError::sys("unlockpt", e))?;
    let name = ptsname(&master, Vec::new()).map_err(|e| RuntimeError::sys("ptsname", e))?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| RuntimeError::sys(format!("open {}", name.to_string_lossy()), e))?;
    if let Some((rows, cols)) = size {
        let _ = sys::set_winsize(slave.as_raw_fd(), rows, cols);
    }
    sys::send_fds(console.as_fd(), name.as_bytes(), &[master.as_fd()])
        .map_err(|e| RuntimeError::sys("send pty master to console socket", e))?;
    drop(master);
    for n in 0..3 {
        sys::dup2(slave.as_raw_fd(), n).map_err(|e| RuntimeError::sys("dup pty onto stdio", e))?;
    }
    sys::set_controlling_terminal(0)
        .map_err(|e| RuntimeError::sys("set controlling terminal", e))?;
    Ok(())
}

fn rlimit_resource(t: PosixRlimitType) -> libc::c_int {
    use PosixRlimitType::*;
    (match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }) as libc::c_int
}

/// The spec's name of an rlimit type (RLIMIT_NOFILE).
fn rlimit_name(t: PosixRlimitType) -> String {
    serde_json::to_string(&t)
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// Applies process.rlimits. Raising a hard limit needs CAP_SYS_RESOURCE: say so.
pub fn apply_rlimits(p: &Process) -> Result<()> {
    for r in p.rlimits().iter().flatten() {
        sys::setrlimit(rlimit_resource(r.typ()), r.soft(), r.hard()).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EPERM) {
                " (raising a hard limit needs CAP_SYS_RESOURCE, which this runtime does not have)"
            } else {
                ""
            };
            RuntimeError::sys(
                format!(
                    "setrlimit {} soft={} hard={}{hint}",
                    rlimit_name(r.typ()),
                    r.soft(),
                    r.hard()
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// Applies process.oomScoreAdj.
pub fn apply_oom_score_adj(p: &Process) -> Result<()> {
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EACCES) && adj < 0 {
                " (lowering it needs CAP_SYS_RESOURCE, which this runtime does not have)"
            } else {
                ""
            };
            RuntimeError::sys(format!("set oomScoreAdj {adj}{hint}"), e)
        })?;
    }
    Ok(())
}

/// The settings of the final step.
pub struct Finish<'a> {
    pub process: &'a Process,
    /// The profile, and its program made before entering the container.
    pub seccomp: Option<(&'a LinuxSeccomp, &'a crate::seccomp_cache::Prepared)>,
    /// Descriptors 3..3+preserve_fds stay open in the container.
    pub preserve_fds: u32,
    /// A connected socket to the seccomp listener (listenerPath) and the state to send with the fd.
    pub listener: Option<(OwnedFd, Vec<u8>)>,
    /// setgroups is denied in this user namespace.
    pub setgroups_denied: bool,
}

/// Switches to the process's user, drops capabilities, loads seccomp and executes.
pub fn finish_and_exec(f: Finish<'_>, exec: &Exec) -> Result<Infallible> {
    let p = f.process;
    apply_rlimits(p)?;
    let nnp = p.no_new_privileges().unwrap_or(false);
    let filter = f.seccomp.map(|(_, prepared)| prepared);
    let enosys = f
        .seccomp
        .and_then(|(_, prepared)| prepared.enosys().cloned());
    // Without no_new_privs, seccomp needs CAP_SYS_ADMIN: load it while we still have it.
    if !nnp {
        if let Some(filt) = &filter {
            let fd = filt.load()?;
            load_enosys(&enosys);
            send_listener(&f.listener, fd)?;
        }
    }
    if let Some(caps) = p.capabilities() {
        crate::capabilities::apply_bounding(caps)?;
    }
    let user = p.user();
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0)
        .map_err(|e| RuntimeError::sys("keep capabilities", e))?;
    if !f.setgroups_denied {
        let gids = user.additional_gids().clone().unwrap_or_default();
        sys::setgroups(&gids).map_err(|e| RuntimeError::sys(format!("setgroups {gids:?}"), e))?;
    }
    sys::setresgid(user.gid())
        .map_err(|e| RuntimeError::sys(format!("setgid {}", user.gid()), e))?;
    sys::setresuid(user.uid())
        .map_err(|e| RuntimeError::sys(format!("setuid {}", user.uid()), e))?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0)
        .map_err(|e| RuntimeError::sys("clear keep capabilities", e))?;
    if let Some(caps) = p.capabilities() {
        crate::capabilities::apply_sets(caps)?;
    } else {
        sys::capset(0, 0, 0).map_err(|e| RuntimeError::sys("drop capabilities", e))?;
    }
    if let Some(mask) = user.umask() {
        sys::umask(mask);
    }
    if nnp {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
            .map_err(|e| RuntimeError::sys("set no_new_privs", e))?;
    }
    if let Some(profile) = f
        .process
        .apparmor_profile()
        .as_ref()
        .filter(|a| !a.is_empty())
    {
        apply_apparmor(profile)?;
    }
    sys::cloexec_from(3 + f.preserve_fds)
        .map_err(|e| RuntimeError::sys("close runtime descriptors", e))?;
    sys::reset_signals();
    if nnp {
        if let Some(filt) = &filter {
            let fd = filt.load()?;
            load_enosys(&enosys);
            send_listener(&f.listener, fd)?;
        }
    }
    let err = sys::execve(&exec.path, &exec.argv, &exec.env);
    Err(RuntimeError::Child(format!(
        "exec {}: {err}",
        exec.path.to_string_lossy()
    )))
}

/// Asks AppArmor to confine the process in `profile` from its next execve on
/// (spec validation already refused a profile on a host without AppArmor).
fn apply_apparmor(profile: &str) -> Result<()> {
    let value = format!("exec {profile}");
    let newer = std::fs::write("/proc/self/attr/apparmor/exec", &value);
    newer
        .or_else(|_| std::fs::write("/proc/self/attr/exec", &value))
        .map_err(|e| RuntimeError::sys(format!("apply AppArmor profile {profile:?}"), e))
}

fn load_enosys(stub: &Option<crate::seccomp::EnosysStub>) {
    if let Some(stub) = stub {
        // Best effort: only a profile that refuses prctl makes it fail, and such a profile
        // still works, answering its default errno where the stub would say ENOSYS.
        let _ = crate::seccomp::load_enosys_stub(stub);
    }
}

fn send_listener(listener: &Option<(OwnedFd, Vec<u8>)>, fd: Option<OwnedFd>) -> Result<()> {
    if let (Some((sock, state)), Some(fd)) = (listener, fd) {
        sys::send_fds(sock.as_fd(), state, &[fd.as_fd()])
            .map_err(|e| RuntimeError::sys("send seccomp fd to listener", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_in_path() {
        let p = lookup("sh", "/nonexistent:/bin", Path::new("/")).expect("sh");
        assert_eq!(p, PathBuf::from("/bin/sh"));
        let e = lookup("no-such-binary-xyz", "/bin", Path::new("/")).expect_err("missing");
        assert!(
            e.to_string().contains("executable file not found in $PATH"),
            "{e}"
        );
        assert!(lookup("/etc/passwd", "", Path::new("/")).is_err());
    }
}
