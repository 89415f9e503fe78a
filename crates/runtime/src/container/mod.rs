//! The container lifecycle of runtime.md: create, start, state, kill, delete, plus exec,
//! pause/resume, update, ps and stats.
//!
//! `create` forks twice. The first child (the "intermediate") joins namespaces given by path
//! and unshares the new ones; its child becomes the container's init, which builds the rootfs,
//! reports ready over the sync channel and then waits on `exec.sock` in the state directory
//! until `start` connects. The runtime process never enters the container itself.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Process, Spec};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::spec;
use crate::state::{self, OciState, Saved, Status, EXEC_SOCK};
use crate::sys::{self, Fork};

mod child;
mod create;
mod exec;

/// Options of `create` (and `run`).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    /// The state root (`--root`).
    pub root: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub systemd_cgroup: bool,
    /// Become a child subreaper so the init can be waited for (`run` in the foreground).
    pub subreaper: bool,
    /// Start the process as soon as it is set up (`run`): no exec socket, no `start`.
    pub start_immediately: bool,
}

/// Options of `exec`.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// Return once the process runs instead of waiting for it.
    pub detach: bool,
}

/// A container known to the state root.
pub struct Container {
    root: PathBuf,
    pub saved: Saved,
    pub spec: Spec,
}

const NS_ORDER: [(LinuxNamespaceType, &str, libc::c_int); 8] = [
    (LinuxNamespaceType::User, "user", libc::CLONE_NEWUSER),
    (LinuxNamespaceType::Ipc, "ipc", libc::CLONE_NEWIPC),
    (LinuxNamespaceType::Uts, "uts", libc::CLONE_NEWUTS),
    (LinuxNamespaceType::Network, "net", libc::CLONE_NEWNET),
    (LinuxNamespaceType::Pid, "pid", libc::CLONE_NEWPID),
    (LinuxNamespaceType::Cgroup, "cgroup", libc::CLONE_NEWCGROUP),
    (LinuxNamespaceType::Time, "time", libc::CLONE_NEWTIME),
    (LinuxNamespaceType::Mount, "mnt", libc::CLONE_NEWNS),
];

/// Binds a unix socket in `dir` through /proc/self/fd, which keeps the path short whatever
/// the length of `--root` (sun_path holds 108 bytes; Docker's state paths come close).
fn bind_in(dir: &Path, name: &str) -> Result<UnixListener> {
    let d = std::fs::File::open(dir).map_err(|e| RuntimeError::path("open", dir, e))?;
    let p = format!("/proc/self/fd/{}/{name}", d.as_raw_fd());
    UnixListener::bind(&p).map_err(|e| RuntimeError::path("listen on", dir.join(name), e))
}

fn connect_in(dir: &Path, name: &str) -> Result<UnixStream> {
    let d = std::fs::File::open(dir).map_err(|e| RuntimeError::path("open", dir, e))?;
    let p = format!("/proc/self/fd/{}/{name}", d.as_raw_fd());
    UnixStream::connect(&p).map_err(|e| RuntimeError::path("connect to", dir.join(name), e))
}

/// The console socket connection a process with a terminal needs (its pty master is sent
/// there by the child).
/// Opens the cgroup2 directory a child is to be born in (see [`clone_child`]).
fn open_cgroup_dir(d: &Path) -> std::io::Result<OwnedFd> {
    rustix::fs::open(
        d,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(std::io::Error::from)
}

/// Forks a child with the new namespaces `flags`, born in the cgroup2 directory `into` when
/// one is given (clone3 CLONE_INTO_CGROUP), so that no process is moved into a cgroup from
/// outside: a move takes the kernel's global threadgroup lock, whose first writer after a
/// quiet spell waits for an RCU grace period. Returns, in the parent and the child alike,
/// whether the child was born there; kernels before 5.7 have no clone3, and the caller then
/// moves it.
fn clone_child(
    flags: libc::c_int,
    into: Option<std::os::fd::BorrowedFd<'_>>,
) -> std::io::Result<(Fork, bool)> {
    if let Some(fd) = into {
        match sys::clone_ns_into(flags, fd) {
            Ok(f) => return Ok((f, true)),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL)
                ) => {}
            Err(e) => return Err(e),
        }
    }
    sys::clone_ns(flags).map(|f| (f, false))
}

fn connect_console(process: &Process, socket: Option<&Path>) -> Result<Option<OwnedFd>> {
    if !process.terminal().unwrap_or(false) {
        return Ok(None);
    }
    let p = socket.ok_or_else(|| {
        RuntimeError::InvalidConfig(
            "process.terminal is true but no --console-socket was given".into(),
        )
    })?;
    connect_socket(p, "connect to console socket").map(Some)
}

fn connect_socket(p: &Path, what: &'static str) -> Result<OwnedFd> {
    let s = UnixStream::connect(p).map_err(|e| RuntimeError::path(what, p, e))?;
    Ok(OwnedFd::from(s))
}

fn state_json(saved: &Saved, status: Status) -> Vec<u8> {
    let st = OciState {
        oci_version: "1.2.0".into(),
        id: saved.id.clone(),
        pid: saved.pid,
        status,
        bundle: saved.bundle.clone(),
        rootfs: saved.rootfs.clone(),
        created: saved.created.clone(),
        owner: saved.owner.clone(),
        annotations: saved.annotations.clone(),
    };
    serde_json::to_vec(&st).unwrap_or_default()
}

fn hooks_of(
    spec: &Spec,
    f: impl Fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>,
) -> Vec<oci_spec::runtime::Hook> {
    spec.hooks()
        .as_ref()
        .and_then(|h| f(h).clone())
        .unwrap_or_default()
}

/// The spec as `load` reads it back; written while the init builds its rootfs (until
/// state.json exists, no command finds the container).
fn save_config(dir: &Path, spec: &Spec) -> Result<()> {
    let bytes = serde_json::to_vec(spec)
        .map_err(|e| RuntimeError::InvalidConfig(format!("encode config: {e}")))?;
    state::write_atomic(&dir.join("config.json"), &bytes)
}

fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    state::write_atomic(&abs, pid.to_string().as_bytes())
}

impl Container {
    /// Loads a container from the state root.
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        let saved = Saved::load(root, id)?;
        let cfg = root.join(id).join("config.json");
        let bytes = std::fs::read(&cfg).map_err(|e| RuntimeError::path("read", &cfg, e))?;
        let spec = spec::parse(&bytes)
            .map_err(|e| RuntimeError::InvalidConfig(format!("{}: {e}", cfg.display())))?;
        Ok(Container {
            root: root.to_path_buf(),
            saved,
            spec,
        })
    }

    /// Ids of all containers under a state root.
    pub fn list(root: &Path) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(RuntimeError::path("read", root, e)),
        };
        for e in rd.flatten() {
            if let Some(id) = e.file_name().to_str() {
                if let Ok(c) = Container::load(root, id) {
                    out.push(c);
                }
            }
        }
        out.sort_by(|a, b| a.saved.created.cmp(&b.saved.created));
        Ok(out)
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.saved.id)
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.saved.status(&self.root)
    }

    /// The runtime.md state.
    pub fn state(&self) -> OciState {
        self.saved.oci(&self.root)
    }

    fn wrong_state(&self, what: &str) -> RuntimeError {
        RuntimeError::WrongState {
            id: self.saved.id.clone(),
            status: self.status().to_string(),
            what: what.into(),
        }
    }

    /// Starts the user's process of a created container and runs the poststart hooks;
    /// returns the hooks' failures as warnings.
    pub fn start(&self) -> Result<Vec<RuntimeError>> {
        let _lock = state::Lock::take(&self.dir())?;
        if self.status() != Status::Created {
            return Err(self.wrong_state("cannot start a container that is not created"));
        }
        let mut s = connect_in(&self.dir(), EXEC_SOCK)?;
        s.write_all(b"1")
            .map_err(|e| RuntimeError::sys("signal the container's init", e))?;
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        let _ = std::fs::remove_file(self.dir().join(EXEC_SOCK));
        if !reply.is_empty() {
            return Err(RuntimeError::Child(reply));
        }
        Ok(self.poststart())
    }

    /// Runs the poststart hooks (done by `start`; by the caller after a `start_immediately`
    /// create).
    ///
    /// runtime.md: a failing poststart hook is a warning; the other hooks and the lifecycle go
    /// on. The failures are returned for the caller to report.
    pub fn poststart(&self) -> Vec<RuntimeError> {
        let st = state_json(&self.saved, Status::Running);
        hooks_of(&self.spec, |h| h.poststart())
            .iter()
            .filter_map(|h| crate::hooks::run("poststart", h, &st).err())
            .collect()
    }

    /// Sends a signal to the init, or with `all` to every process in the container's cgroup.
    pub fn kill(&self, sig: i32, all: bool) -> Result<()> {
        let status = self.status();
        if status == Status::Stopped && !all {
            return Err(self.wrong_state("container not running"));
        }
        if all {
            if let Some(cg) = &self.saved.cgroup {
                let frozen = sig == libc::SIGKILL && cg.freeze().is_ok();
                for p in cg.pids()? {
                    let _ = sys::kill(p, sig);
                }
                if frozen {
                    let _ = cg.thaw();
                }
                return Ok(());
            }
        }
        sys::kill(self.saved.pid, sig)
            .map_err(|e| RuntimeError::sys(format!("kill {} with signal {sig}", self.saved.pid), e))
    }

    /// Deletes the container's resources; with `force`, kills it first. Failing poststop
    /// hooks are warnings (runtime.md) and are returned.
    pub fn delete(&self, force: bool) -> Result<Vec<RuntimeError>> {
        let _lock = state::Lock::take(&self.dir())?;
        let status = self.status();
        match status {
            Status::Stopped => {}
            // runtime.md: deleting a container that is not stopped (created included) is an
            // error that leaves it alone; --force kills it first, as engines ask.
            _ if force => self.kill_and_wait()?,
            _ => return Err(self.wrong_state("cannot delete a running container without --force")),
        }
        if let Some(cg) = &self.saved.cgroup {
            // Without its own pid namespace, processes the init left behind live on.
            if let Ok(pids) = cg.pids() {
                for p in pids {
                    let _ = sys::kill(p, libc::SIGKILL);
                }
            }
            let _ = cg.thaw();
        }
        let mut stopped = self.saved.clone();
        stopped.pid = 0;
        let st = state_json(&stopped, Status::Stopped);
        let warnings: Vec<RuntimeError> = hooks_of(&self.spec, |h| h.poststop())
            .iter()
            .filter_map(|h| crate::hooks::run("poststop", h, &st).err())
            .collect();
        if let Some(cg) = &self.saved.cgroup {
            cg.destroy()?;
        }
        std::fs::remove_dir_all(self.dir())
            .map_err(|e| RuntimeError::path("remove state", self.dir(), e))?;
        Ok(warnings)
    }

    fn kill_and_wait(&self) -> Result<()> {
        if let Some(cg) = &self.saved.cgroup {
            let _ = cg.thaw();
        }
        let _ = sys::kill(self.saved.pid, libc::SIGKILL);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while state::alive(self.saved.pid, self.saved.start_time) {
            // Our own child (run, or a subreaper caller): reap it so it stops being a zombie.
            let _ = sys::waitpid(self.saved.pid, libc::WNOHANG);
            if std::time::Instant::now() > deadline {
                return Err(RuntimeError::Child(format!(
                    "container init {} did not die after SIGKILL",
                    self.saved.pid
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Ok(())
    }

    /// Freezes every process of the container.
    pub fn pause(&self) -> Result<()> {
        let st = self.status();
        if st != Status::Running && st != Status::Created {
            return Err(self.wrong_state("container not running"));
        }
        self.cgroup()?.freeze()?;
        Ok(())
    }

    /// Thaws a paused container.
    pub fn resume(&self) -> Result<()> {
        if self.status() != Status::Paused {
            return Err(self.wrong_state("container not paused"));
        }
        self.cgroup()?.thaw()?;
        Ok(())
    }

    /// The container's cgroup manager.
    pub fn cgroup(&self) -> Result<&Manager> {
        self.saved
            .cgroup
            .as_ref()
            .ok_or_else(|| RuntimeError::Unsupported("container has no cgroup".into()))
    }

    /// Applies new resource limits.
    pub fn update(&self, res: &LinuxResources) -> Result<()> {
        if self.status() == Status::Stopped {
            return Err(self.wrong_state("container not running"));
        }
        self.cgroup()?.set(res)?;
        Ok(())
    }

    /// Pids of all processes in the container.
    pub fn processes(&self) -> Result<Vec<i32>> {
        Ok(self.cgroup()?.pids()?)
    }

    /// Waits for the init (our child, or a subreaper's) and returns its exit code.
    pub fn wait_init(&self, forward_signals: bool) -> Result<i32> {
        loop {
            if forward_signals {
                for s in sys::take_pending() {
                    if s != libc::SIGCHLD {
                        let _ = sys::kill(self.saved.pid, s);
                    }
                }
            }
            match sys::waitpid(-1, 0) {
                Ok(Some((p, st))) if p == self.saved.pid => return Ok(sys::exit_code(st)),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                    return Err(RuntimeError::Child(
                        "the container's init is not a child of this process".into(),
                    ))
                }
                Err(e) => return Err(RuntimeError::sys("wait for container", e)),
            }
        }
    }
}
