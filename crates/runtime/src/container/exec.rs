//! `exec`: another process in a running container, through an intermediate child that
//! joins its cgroup and namespaces.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::process::{self, Finish};
use crate::spec;
use crate::state::Status;
use crate::sync::{self, Channel, Msg};
use crate::sys::{self, Fork};

use super::child::{close_fds_but, join_namespaces};
use super::{
    clone_child, connect_console, open_cgroup_dir, write_pid_file, Container, ExecOptions, NS_ORDER,
};

impl Container {
    /// Runs another process in the running container. Returns its pid when detached, else
    /// its exit code.
    pub fn exec(&self, opts: &ExecOptions) -> Result<i32> {
        if self.status() != Status::Running {
            return Err(self.wrong_state("cannot exec in a container that is not running"));
        }
        spec::validate_process(&opts.process)?;
        let pid = self.saved.pid;
        let mut join = Vec::new();
        for (t, name, flag) in NS_ORDER {
            if !spec::has_ns(&self.spec, t) {
                continue;
            }
            let theirs = format!("/proc/{pid}/ns/{name}");
            let ours = format!("/proc/self/ns/{name}");
            let same = match (std::fs::metadata(&theirs), std::fs::metadata(&ours)) {
                (Ok(a), Ok(b)) => {
                    use std::os::unix::fs::MetadataExt;
                    a.ino() == b.ino() && a.dev() == b.dev()
                }
                _ => false,
            };
            if same {
                continue;
            }
            let fd = rustix::fs::open(
                theirs.as_str(),
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| RuntimeError::path("open namespace", &theirs, e))?;
            join.push((fd, flag, theirs));
        }
        let console = connect_console(&opts.process, opts.console_socket.as_deref())?;
        let seccomp = self.spec.linux().as_ref().and_then(|l| l.seccomp().clone());
        let prepared = seccomp
            .as_ref()
            .map(|s| crate::seccomp_cache::prepare(s, &self.root))
            .transpose()?;
        if !opts.detach {
            sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0)
                .map_err(|e| RuntimeError::sys("become subreaper", e))?;
        }
        let setgroups_denied = spec::has_ns(&self.spec, LinuxNamespaceType::User)
            && std::fs::read_to_string(format!("/proc/{pid}/setgroups"))
                .is_ok_and(|s| s.trim() == "deny");
        let (parent, child) = sync::pair()?;
        // As at create: born in the container's cgroup2 directory, the intermediate moves
        // itself into the v1 ones, so no migration from here waits for an RCU grace period.
        let cg = self.saved.cgroup.as_ref();
        // On a pure v1 host, with no cgroup2 directory to be born in, it joins them all itself.
        let into = cg
            .and_then(Manager::clone_into_dir)
            .and_then(|d| open_cgroup_dir(d).ok());
        let pure_v1 =
            into.is_none() && cg.is_some_and(|c| c.version() == crate::cgroups::CgroupVersion::V1);
        let forked = clone_child(0, into.as_ref().map(|fd| fd.as_fd()));
        drop(into);
        let (forked, born_inside) = forked.map_err(|e| RuntimeError::sys("fork", e))?;
        let self_joins = born_inside || pure_v1;
        let inter = match forked {
            Fork::Child => {
                drop(parent);
                // Before the container's namespaces, whose mounts hide the host's hierarchies.
                let joined = match cg.filter(|_| self_joins) {
                    Some(c) => c.join_self().map_err(RuntimeError::from),
                    None => Ok(()),
                };
                let r = joined.and_then(|()| {
                    exec_intermediate(
                        &child,
                        join,
                        console,
                        &opts.process,
                        seccomp.as_ref().zip(prepared.as_ref()),
                        opts.preserve_fds,
                        setgroups_denied,
                    )
                });
                if let Err(e) = r {
                    let _ = child.send(&Msg::Error { msg: e.to_string() });
                    sys::exit_now(1);
                }
                sys::exit_now(0);
            }
            Fork::Parent(p) => p,
        };
        drop(child);
        let fail = |e: RuntimeError, p: i32| {
            let _ = sys::kill(p, libc::SIGKILL);
            let _ = sys::waitpid(p, 0);
            e
        };
        if let Some(cg) = cg.filter(|_| !self_joins) {
            cg.apply(inter).map_err(|e| fail(e.into(), inter))?;
        }
        parent.send(&Msg::Go).map_err(|e| fail(e, inter))?;
        let mut child_pid = 0;
        // The exec child is visible in the container's pid namespace before it execs, and
        // the container's root may SIGSTOP it. Waiting on it without end would hang the
        // caller (a shim: every stream of the container, whose output then backs up into
        // the container). It is woken while the runtime waits, and given up on after
        // EXEC_SETUP_LIMIT.
        let deadline = std::time::Instant::now() + EXEC_SETUP_LIMIT;
        loop {
            if !parent.wait_readable(EXEC_WAKE_EVERY)? {
                for p in [inter, child_pid] {
                    if p > 0 {
                        let _ = sys::kill(p, libc::SIGCONT);
                    }
                }
                if std::time::Instant::now() >= deadline {
                    if child_pid > 0 {
                        let _ = sys::kill(child_pid, libc::SIGKILL);
                        let _ = sys::waitpid(child_pid, 0);
                    }
                    return Err(fail(
                        RuntimeError::Child(format!(
                            "the exec process was not set up within {} s",
                            EXEC_SETUP_LIMIT.as_secs()
                        )),
                        inter,
                    ));
                }
                continue;
            }
            match parent.recv()? {
                Some(Msg::Pid { pid }) => {
                    child_pid = pid;
                    parent.send(&Msg::HostPid { pid })?;
                }
                Some(Msg::Ready) => {}
                Some(Msg::Error { msg }) => {
                    let _ = sys::waitpid(inter, 0);
                    if child_pid > 0 {
                        let _ = sys::waitpid(child_pid, 0);
                    }
                    return Err(RuntimeError::Child(msg));
                }
                Some(other) => {
                    return Err(RuntimeError::Child(format!(
                        "unexpected message from exec child: {other:?}"
                    )))
                }
                // The channel is close-on-exec: end of stream means the process is running.
                None => break,
            }
        }
        let _ = sys::waitpid(inter, 0);
        if child_pid == 0 {
            return Err(RuntimeError::Child(
                "exec child went away before starting the process".into(),
            ));
        }
        if let Some(pf) = &opts.pid_file {
            write_pid_file(pf, child_pid)?;
        }
        if opts.detach {
            return Ok(child_pid);
        }
        loop {
            for s in sys::take_pending() {
                if s != libc::SIGCHLD {
                    let _ = sys::kill(child_pid, s);
                }
            }
            match sys::waitpid(child_pid, 0) {
                Ok(Some((_, st))) => return Ok(sys::exit_code(st)),
                Ok(None) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => return Err(RuntimeError::sys("wait for exec process", e)),
            }
        }
    }
}

/// How long `exec` waits for its child to be set up and exec the process.
const EXEC_SETUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How often a waiting `exec` continues its children, in case the container stopped them.
const EXEC_WAKE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The exec path: join the container's namespaces, fork, set up and exec.
fn exec_intermediate(
    chan: &Channel,
    join: Vec<(OwnedFd, libc::c_int, String)>,
    console: Option<OwnedFd>,
    process: &Process,
    seccomp: Option<(
        &oci_spec::runtime::LinuxSeccomp,
        &crate::seccomp_cache::Prepared,
    )>,
    preserve_fds: u32,
    setgroups_denied: bool,
) -> Result<()> {
    let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    // The child becomes visible in the container's pid namespace at fork; with
    // CAP_SYS_PTRACE, container root could attach to it while it is still being set up, so
    // nothing of the caller (a supervisor's state directory, logs, sockets) may be open in it.
    let own =
        (console.iter().map(|f| f.as_raw_fd())).chain(join.iter().map(|(f, _, _)| f.as_raw_fd()));
    close_fds_but(chan, preserve_fds, own)?;
    chan.expect_go()?;
    join_namespaces(&join)?;
    drop(join);
    match sys::fork().map_err(|e| RuntimeError::sys("fork exec process", e))? {
        Fork::Child => {
            let r = (|| -> Result<std::convert::Infallible> {
                let _ = chan.expect_host_pid()?;
                if let Some(c) = &console {
                    sys::setsid().map_err(|e| RuntimeError::sys("setsid", e))?;
                    process::setup_console(c, process::console_size(process))?;
                }
                process::enter_cwd(process.cwd(), false)?;
                process::apply_oom_score_adj(process)?;
                let exec = process::prepare(process)?;
                let fin = Finish {
                    process,
                    seccomp,
                    preserve_fds,
                    listener: None,
                    setgroups_denied,
                };
                process::finish_and_exec(fin, &exec)
            })();
            let Err(e) = r;
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            sys::exit_now(127);
        }
        Fork::Parent(pid) => chan.send(&Msg::Pid { pid }),
    }
}
