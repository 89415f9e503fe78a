//! The container lifecycle of runtime.md: create, start, state, kill, delete, plus exec,
//! pause/resume, update, ps and stats.
//!
//! `create` forks twice. The first child (the "intermediate") joins namespaces given by path
//! and unshares the new ones; its child becomes the container's init, which builds the rootfs,
//! reports ready over the sync channel and then waits on `exec.sock` in the state directory
//! until `start` connects. The runtime process never enters the container itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Process, Spec};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::process::{self, Finish};
use crate::rootfs::{self, RootfsContext};
use crate::spec;
use crate::state::{self, OciState, Saved, Status, EXEC_SOCK};
use crate::sync::{self, Channel, Msg};
use crate::sys::{self, Fork};

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

/// Namespaces to join (fd, flag) in the order they must be joined, and flags to unshare.
struct NsPlan {
    join: Vec<(OwnedFd, libc::c_int, String)>,
    unshare: libc::c_int,
    new_user: bool,
}

fn plan_namespaces(spec: &Spec) -> Result<NsPlan> {
    let wanted = spec::namespaces(spec);
    let mut plan = NsPlan {
        join: Vec::new(),
        unshare: 0,
        new_user: false,
    };
    for (t, _, flag) in NS_ORDER {
        let Some((_, path)) = wanted.iter().find(|(k, _)| *k == t) else {
            continue;
        };
        match path {
            Some(p) => {
                let fd = rustix::fs::open(
                    p,
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| RuntimeError::path("open namespace", p, e))?;
                plan.join.push((fd, flag, p.display().to_string()));
            }
            None => {
                if t == LinuxNamespaceType::User {
                    plan.new_user = true;
                } else {
                    plan.unshare |= flag;
                }
            }
        }
    }
    Ok(plan)
}

/// Undoes a half-made container when create fails.
struct CreateGuard<'a> {
    dir: &'a Path,
    cgroup: &'a Manager,
    pids: Vec<i32>,
    armed: bool,
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for &p in &self.pids {
            let _ = sys::kill(p, libc::SIGKILL);
            let _ = sys::waitpid(p, 0);
        }
        if let Ok(pids) = self.cgroup.pids() {
            for p in pids {
                let _ = sys::kill(p, libc::SIGKILL);
            }
        }
        let _ = self.cgroup.destroy();
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

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

/// The device cgroup rules every container needs on top of the spec's (runc's list).
fn with_default_device_rules(spec: &Spec) -> Option<LinuxResources> {
    let mut res = spec.linux().as_ref()?.resources().clone()?;
    let Some(rules) = res.devices().clone() else {
        return Some(res);
    };
    let mut rules = rules;
    let mut add = |t: &str, major: Option<i64>, minor: Option<i64>, access: &str| {
        let v = serde_json::json!({"allow": true, "type": t, "major": major, "minor": minor, "access": access});
        if let Ok(r) = serde_json::from_value(v) {
            rules.push(r);
        }
    };
    for (maj, min) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
        (10, 200),
    ] {
        add("c", Some(maj), Some(min), "rwm");
    }
    add("c", Some(136), None, "rwm");
    // mknod of any node is allowed (using it is not), as runc allows: images unpacked inside
    // containers carry device nodes.
    add("c", None, None, "m");
    add("b", None, None, "m");
    // The spec's own devices get no rule of their own, as in runc: `linux.devices` makes the
    // nodes, `resources.devices` says what they may be used for (Docker's `--device
    // /dev/x:/dev/x:r` is a read-only device).
    res.set_devices(Some(rules));
    Some(res)
}

fn write_id_maps(pid: i32, spec: &Spec) -> Result<()> {
    let Some(l) = spec.linux() else { return Ok(()) };
    let fmt = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    let uid = fmt(l.uid_mappings());
    let gid = fmt(l.gid_mappings());
    let p = PathBuf::from(format!("/proc/{pid}"));
    std::fs::write(p.join("uid_map"), uid)
        .map_err(|e| RuntimeError::path("write", p.join("uid_map"), e))?;
    std::fs::write(p.join("gid_map"), gid)
        .map_err(|e| RuntimeError::path("write", p.join("gid_map"), e))?;
    Ok(())
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

    /// Creates the container: everything up to, not including, the user's process.
    pub fn create(opts: &CreateOptions) -> Result<Container> {
        state::validate_id(&opts.id)?;
        Self::create_from(opts, spec::load_bundle(&opts.bundle)?)
    }

    /// [`Container::create`] with the bundle's config already read by
    /// [`spec::load_bundle`], for callers that needed to look at it first.
    pub fn create_from(opts: &CreateOptions, spec: Spec) -> Result<Container> {
        state::validate_id(&opts.id)?;
        let process = spec
            .process()
            .clone()
            .ok_or_else(|| RuntimeError::InvalidConfig("process: missing".into()))?;
        // Only paths are worked out here; nothing exists until apply/create.
        let cgroups_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
        let cgroup = Manager::new(&opts.id, cgroups_path.as_deref(), opts.systemd_cgroup)?;
        // 0700, as runc's: the state names the bundle and holds the container's sockets.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&opts.root)
            .map_err(|e| RuntimeError::path("create state root", &opts.root, e))?;
        let dir = opts.root.join(&opts.id);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(RuntimeError::AlreadyExists(opts.id.clone()))
            }
            Err(e) => return Err(RuntimeError::path("create state directory", &dir, e)),
        }
        // No lock is needed here: until state.json exists, no other command can find this
        // container, and a lock fd would be inherited by the init and held for its lifetime.
        let mut guard = CreateGuard {
            dir: &dir,
            cgroup: &cgroup,
            pids: Vec::new(),
            armed: true,
        };
        let console = connect_console(&process, opts.console_socket.as_deref())?;
        let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().clone());
        // Before anything is forked: inside the container the runtime's root is out of reach.
        let prepared = seccomp
            .as_ref()
            .map(|s| crate::seccomp_cache::prepare(s, &opts.root))
            .transpose()?;
        let listener = match &seccomp {
            Some(s) if crate::seccomp::uses_notify(s) => match s.listener_path() {
                Some(p) => Some(connect_socket(p, "connect to seccomp listener")?),
                None => None,
            },
            _ => None,
        };
        let idmapped = crate::idmap::prepare(&spec, &opts.bundle)?;
        let exec_listener = if opts.start_immediately {
            None
        } else {
            Some(bind_in(&dir, EXEC_SOCK)?)
        };
        let plan = plan_namespaces(&spec)?;
        let own_pidns = plan.unshare & libc::CLONE_NEWPID != 0;
        let mut saved = Saved {
            id: opts.id.clone(),
            pid: 0,
            start_time: 0,
            bundle: std::fs::canonicalize(&opts.bundle).unwrap_or_else(|_| opts.bundle.clone()),
            rootfs: spec
                .root()
                .as_ref()
                .map(|r| r.path().clone())
                .unwrap_or_default(),
            created: state::now_rfc3339(),
            owner: String::new(),
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            cgroup: Some(cgroup.clone()),
            own_pidns,
        };
        if opts.subreaper {
            sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0)
                .map_err(|e| RuntimeError::sys("become subreaper", e))?;
        }
        let (parent, child) = sync::pair()?;
        let mut setup = InitSetup {
            spec: &spec,
            bundle: &opts.bundle,
            plan,
            console,
            listener,
            exec_listener,
            preserve_fds: opts.preserve_fds,
            no_pivot: opts.no_pivot,
            no_new_keyring: opts.no_new_keyring,
            cgroup: &cgroup,
            seccomp: seccomp.as_ref().zip(prepared.as_ref()),
            saved: &saved,
            idmapped: &idmapped,
            direct: false,
            self_join: false,
        };
        // Fast path: nothing to join and no user namespace, so one clone() with every new
        // namespace makes the init directly; otherwise an intermediate child joins and
        // unshares, then forks the init.
        let direct = setup.plan.join.is_empty()
            && !setup.plan.new_user
            && setup.plan.unshare & libc::CLONE_NEWTIME == 0;
        setup.direct = direct;
        let resources = with_default_device_rules(&spec);
        let v2 = cgroup.version() == crate::cgroups::CgroupVersion::V2;
        // Direct: the init is born in its cgroup2 directory (v2, or a hybrid host's unified
        // one) and joins v1 hierarchies itself, so that no process is moved from outside,
        // which takes the kernel's global lock and, after a quiet spell, an RCU grace period.
        let into = match cgroup.clone_into_dir() {
            Some(d) if direct => {
                if v2 {
                    // Born inside: the limits must be there first.
                    cgroup.create()?;
                    if let Some(res) = &resources {
                        cgroup.set(res)?;
                    }
                } else {
                    std::fs::create_dir_all(d)
                        .map_err(|e| RuntimeError::path("create cgroup", d, e))?;
                }
                let fd = rustix::fs::open(
                    d,
                    rustix::fs::OFlags::RDONLY
                        | rustix::fs::OFlags::DIRECTORY
                        | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| RuntimeError::path("open cgroup", d, e))?;
                Some(fd)
            }
            _ => None,
        };
        setup.self_join = into.is_some();
        let forked = if direct {
            // The cgroup namespace is unshared by the init once it is in its cgroup, else the
            // namespace's root would be this process's cgroup.
            let flags = setup.plan.unshare & !libc::CLONE_NEWCGROUP;
            match &into {
                Some(fd) => match sys::clone_ns_into(flags, fd.as_fd()) {
                    // Kernels before 5.7 have no clone3: the init is moved from here.
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL)
                        ) =>
                    {
                        setup.self_join = false;
                        sys::clone_ns(flags)
                    }
                    r => r,
                },
                None => sys::clone_ns(flags),
            }
        } else {
            sys::fork()
        };
        let self_join = setup.self_join;
        drop(into);
        let inter = match forked.map_err(|e| RuntimeError::sys("fork", e))? {
            Fork::Child => {
                drop(parent);
                let code = if direct {
                    match init(&child, setup) {
                        Ok(never) => match never {},
                        Err(e) => {
                            let _ = child.send(&Msg::Error { msg: e.to_string() });
                            1
                        }
                    }
                } else {
                    match intermediate(&child, setup) {
                        Ok(()) => 0,
                        Err(e) => {
                            let _ = child.send(&Msg::Error { msg: e.to_string() });
                            1
                        }
                    }
                };
                sys::exit_now(code);
            }
            Fork::Parent(pid) => pid,
        };
        drop(child);
        drop(setup);
        guard.pids.push(inter);
        let prepared = (|| -> Result<()> {
            if direct {
                // The init builds its rootfs meanwhile, waiting for HostPid only before it
                // binds the cgroup directories or joins them; the limits are in place
                // before it is in, so it never sits in its cgroup without its device rules.
                if !(self_join && v2) {
                    cgroup.create()?;
                    if let Some(res) = &resources {
                        cgroup.set(res)?;
                    }
                }
                parent.send(&Msg::HostPid { pid: inter })?;
                save_config(&dir, &spec)?;
                if !self_join {
                    // The possibly slow part (an RCU grace period after a quiet spell).
                    cgroup.enter(inter)?;
                }
            } else {
                save_config(&dir, &spec)?;
                cgroup.apply(inter)?;
                if let Some(res) = &resources {
                    cgroup.set(res)?;
                }
            }
            parent.send(&Msg::Go)
        })();
        if let Err(e) = prepared {
            // The init may have failed on its own meanwhile (it builds the rootfs while its
            // cgroup is prepared): its reason is the one that matters.
            return Err(parent.pending_error().map(RuntimeError::Child).unwrap_or(e));
        }
        let mut init_pid = if direct { inter } else { 0 };
        loop {
            match parent.recv()? {
                Some(Msg::MapIds { pid }) => {
                    write_id_maps(pid, &spec)?;
                    parent.send(&Msg::Ack)?;
                }
                Some(Msg::Pid { pid }) => {
                    init_pid = pid;
                    guard.pids.push(pid);
                    parent.send(&Msg::HostPid { pid })?;
                }
                Some(Msg::RunHooks) => {
                    saved.pid = init_pid;
                    // The hooks see the state a `state` call would give once create returns (runtime-tools
                    // checks "created", as crun and runc report).
                    let st = state_json(&saved, Status::Created);
                    crate::hooks::run_all("prestart", &hooks_of(&spec, |h| h.prestart()), &st)?;
                    crate::hooks::run_all(
                        "createRuntime",
                        &hooks_of(&spec, |h| h.create_runtime()),
                        &st,
                    )?;
                    parent.send(&Msg::Ack)?;
                }
                Some(Msg::Ready) => break,
                None if opts.start_immediately && init_pid > 0 => break,
                Some(Msg::Error { msg }) => return Err(RuntimeError::Child(msg)),
                Some(other) => {
                    return Err(RuntimeError::Child(format!(
                        "unexpected message from init: {other:?}"
                    )))
                }
                None => {
                    return Err(RuntimeError::Child(
                        "container init exited before it was ready".into(),
                    ))
                }
            }
        }
        if !direct {
            let _ = sys::waitpid(inter, 0);
            guard.pids.retain(|p| *p != inter);
        }
        saved.pid = init_pid;
        saved.start_time = state::proc_stat(init_pid).map(|(s, _)| s).unwrap_or(0);
        saved.save(&opts.root)?;
        if let Some(pf) = &opts.pid_file {
            write_pid_file(pf, init_pid)?;
        }
        guard.armed = false;
        Ok(Container {
            root: opts.root.clone(),
            saved,
            spec,
        })
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
        let into = cg.and_then(Manager::clone_into_dir).and_then(|d| {
            rustix::fs::open(
                d,
                rustix::fs::OFlags::RDONLY
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok()
        });
        let mut self_joins = false;
        let forked = match (&into, cg) {
            (Some(fd), _) => match sys::clone_ns_into(0, fd.as_fd()) {
                Ok(f) => {
                    self_joins = true;
                    Ok(f)
                }
                Err(_) => sys::fork(),
            },
            (None, Some(c)) if c.version() == crate::cgroups::CgroupVersion::V1 => {
                self_joins = true;
                sys::fork()
            }
            _ => sys::fork(),
        };
        drop(into);
        let inter = match forked.map_err(|e| RuntimeError::sys("fork", e))? {
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

struct InitSetup<'a> {
    spec: &'a Spec,
    bundle: &'a Path,
    plan: NsPlan,
    console: Option<OwnedFd>,
    listener: Option<OwnedFd>,
    exec_listener: Option<UnixListener>,
    preserve_fds: u32,
    no_pivot: bool,
    no_new_keyring: bool,
    cgroup: &'a Manager,
    seccomp: Option<(
        &'a oci_spec::runtime::LinuxSeccomp,
        &'a crate::seccomp_cache::Prepared,
    )>,
    saved: &'a Saved,
    idmapped: &'a std::collections::BTreeMap<usize, OwnedFd>,
    /// The init was cloned by the runtime itself: it waits for `Go` (its cgroup is ready)
    /// after building the rootfs, and creates the cgroup namespace then.
    direct: bool,
    /// The init was cloned into its cgroup2 directory and joins its v1 hierarchies itself
    /// (Manager::join_self) once HostPid says their limits are set.
    self_join: bool,
}

/// Joins the namespaces, a user namespace last: the others are joined with the runtime's
/// own privilege (whoever owns them), and once in a user namespace the process becomes its
/// root, so that what it creates (mount points in a tmpfs of that namespace) has ids the
/// namespace maps.
fn join_namespaces(join: &[(OwnedFd, libc::c_int, String)]) -> Result<()> {
    let user = |flag: libc::c_int| flag == libc::CLONE_NEWUSER;
    for (fd, flag, path) in join.iter().filter(|(_, f, _)| !user(*f)) {
        sys::setns(fd.as_fd(), *flag)
            .map_err(|e| RuntimeError::sys(format!("join namespace {path}"), e))?;
    }
    for (fd, flag, path) in join.iter().filter(|(_, f, _)| user(*f)) {
        sys::setns(fd.as_fd(), *flag)
            .map_err(|e| RuntimeError::sys(format!("join namespace {path}"), e))?;
        sys::setresgid(0)
            .map_err(|e| RuntimeError::sys("become root in the user namespace (gid)", e))?;
        sys::setresuid(0)
            .map_err(|e| RuntimeError::sys("become root in the user namespace (uid)", e))?;
    }
    Ok(())
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offs) = spec.linux().as_ref().and_then(|l| l.time_offsets().clone()) else {
        return Ok(());
    };
    let mut s = String::new();
    for (clock, o) in offs {
        s.push_str(&format!(
            "{clock} {} {}\n",
            o.secs().unwrap_or(0),
            o.nanosecs().unwrap_or(0)
        ));
    }
    std::fs::write("/proc/self/timens_offsets", s)
        .map_err(|e| RuntimeError::path("write", "/proc/self/timens_offsets", e))
}

/// Closes every descriptor the init inherited from whoever ran the runtime, except those
/// it works with. The init becomes visible in the container (as its pid 1, or at once in a
/// shared pid namespace) before it execs; a host directory it still held would be reachable
/// through /proc/1/fd or ptrace.
fn close_host_fds(chan: &Channel, setup: &InitSetup<'_>) -> Result<()> {
    let own = (setup.console.iter().map(|f| f.as_raw_fd()))
        .chain(setup.listener.iter().map(|f| f.as_raw_fd()))
        .chain(setup.exec_listener.iter().map(|l| l.as_raw_fd()))
        .chain(setup.idmapped.values().map(|f| f.as_raw_fd()))
        .chain(setup.plan.join.iter().map(|(f, _, _)| f.as_raw_fd()));
    close_fds_but(chan, setup.preserve_fds, own)
}

/// Closes every descriptor but the sync channel, the `--preserve-fds` range and `own`.
fn close_fds_but(
    chan: &Channel,
    preserve_fds: u32,
    own: impl Iterator<Item = RawFd>,
) -> Result<()> {
    let mut keep: Vec<RawFd> = (3..3 + preserve_fds as RawFd).collect();
    keep.push(chan.as_fd().as_raw_fd());
    keep.extend(own);
    sys::close_fds_except(&keep).map_err(|e| RuntimeError::sys("close inherited descriptors", e))
}

/// The first child: namespaces in, then fork the init.
fn intermediate(chan: &Channel, setup: InitSetup<'_>) -> Result<()> {
    close_host_fds(chan, &setup)?;
    chan.expect_go()?;
    join_namespaces(&setup.plan.join)?;
    if setup.plan.new_user {
        sys::unshare(libc::CLONE_NEWUSER)
            .map_err(|e| RuntimeError::sys("create user namespace", e))?;
        chan.send(&Msg::MapIds {
            pid: rustix::process::getpid().as_raw_nonzero().get(),
        })?;
        chan.expect_ack("user namespace mappings")?;
        sys::setresgid(0)
            .map_err(|e| RuntimeError::sys("become root in the user namespace (gid)", e))?;
        sys::setresuid(0)
            .map_err(|e| RuntimeError::sys("become root in the user namespace (uid)", e))?;
    }
    if setup.plan.unshare != 0 {
        sys::unshare(setup.plan.unshare).map_err(|e| RuntimeError::sys("create namespaces", e))?;
    }
    if setup.plan.unshare & libc::CLONE_NEWTIME != 0 {
        write_time_offsets(setup.spec)?;
    }
    match sys::fork().map_err(|e| RuntimeError::sys("fork init", e))? {
        Fork::Child => {
            let Err(e) = init(chan, setup);
            let _ = chan.send(&Msg::Error { msg: e.to_string() });
            sys::exit_now(1);
        }
        Fork::Parent(pid) => chan.send(&Msg::Pid { pid }),
    }
}

impl Channel {
    fn expect_go(&self) -> Result<()> {
        match self.recv()? {
            Some(Msg::Go) => Ok(()),
            Some(Msg::Error { msg }) => Err(RuntimeError::Child(msg)),
            _ => Err(RuntimeError::Child("runtime went away".into())),
        }
    }

    fn expect_host_pid(&self) -> Result<i32> {
        match self.recv()? {
            Some(Msg::HostPid { pid }) => Ok(pid),
            _ => Err(RuntimeError::Child("runtime went away".into())),
        }
    }
}

/// The container's init, up to `exec`.
fn init(chan: &Channel, setup: InitSetup<'_>) -> Result<std::convert::Infallible> {
    // Nothing of the runtime should be visible to the container through /proc/PID/exe or
    // ptrace while it still runs runtime code (see crate::sealed for the binary itself).
    let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    close_host_fds(chan, &setup)?;
    let host = HostPid::new(chan);
    sys::setsid().map_err(|e| RuntimeError::sys("setsid", e))?;
    let spec = setup.spec;
    let process = spec
        .process()
        .clone()
        .ok_or_else(|| RuntimeError::InvalidConfig("process: missing".into()))?;
    let rootfs = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let has_mntns = spec::has_ns(spec, LinuxNamespaceType::Mount);
    let ctx = RootfsContext {
        spec,
        rootfs: &rootfs,
        bundle: setup.bundle,
        in_userns: spec::has_ns(spec, LinuxNamespaceType::User),
        cgroupns: spec::has_ns(spec, LinuxNamespaceType::Cgroup),
        cgroup: Some(setup.cgroup),
        idmapped: setup.idmapped,
        cgroup_ready: &|| host.get().map(drop),
    };
    // A cgroup2 mount inside a cgroup namespace shows the namespace's root: that namespace
    // must exist before the mounts.
    let go_early =
        setup.direct && ctx.cgroupns && setup.cgroup.version() == crate::cgroups::CgroupVersion::V2;
    if go_early {
        host.get()?;
        if setup.self_join {
            setup.cgroup.join_self()?;
        }
        after_go(chan, &setup)?;
    }
    let root_fd = if has_mntns {
        let fd = rootfs::prepare_root(&ctx)?;
        rootfs::mount_all(&ctx, &fd)?;
        rootfs::create_devices(&ctx, &fd)?;
        Some(fd)
    } else {
        None
    };
    let host_pid = host.get()?;
    if setup.direct && !go_early {
        if setup.self_join {
            setup.cgroup.join_self()?;
        }
        after_go(chan, &setup)?;
    }
    let runtime_hooks = !hooks_of(spec, |h| h.prestart()).is_empty()
        || !hooks_of(spec, |h| h.create_runtime()).is_empty();
    if runtime_hooks {
        chan.send(&Msg::RunHooks)?;
        chan.expect_ack("createRuntime hooks")?;
    }
    let mut st = setup.saved.clone();
    st.pid = host_pid;
    let state = state_json(&st, Status::Created);
    crate::hooks::run_all(
        "createContainer",
        &hooks_of(spec, |h| h.create_container()),
        &state,
    )?;
    match &root_fd {
        Some(fd) => rootfs::pivot(fd, &rootfs, setup.no_pivot)?,
        None => {
            rustix::process::chroot(&rootfs)
                .map_err(|e| RuntimeError::path("chroot", &rootfs, e))?;
            rustix::process::chdir("/").map_err(|e| RuntimeError::path("chdir", "/", e))?;
        }
    }
    drop(root_fd);
    if setup.plan.unshare & libc::CLONE_NEWNET != 0 {
        sys::loopback_up().map_err(|e| RuntimeError::sys("bring up lo", e))?;
    }
    if let Some(h) = spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        sys::sethostname(h).map_err(|e| RuntimeError::sys(format!("set hostname {h:?}"), e))?;
    }
    if let Some(d) = spec.domainname().as_ref().filter(|h| !h.is_empty()) {
        sys::setdomainname(d).map_err(|e| RuntimeError::sys(format!("set domainname {d:?}"), e))?;
    }
    if has_mntns {
        rootfs::finalize(spec)?;
    }
    if !setup.no_new_keyring {
        // A session keyring of its own, so the container cannot read the host's keys.
        let _ = join_session_keyring();
    }
    process::apply_oom_score_adj(&process)?;
    if let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().clone()) {
        let persona = match p.domain() {
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
            _ => 0,
        };
        sys::personality(persona).map_err(|e| RuntimeError::sys("set personality", e))?;
    }
    if let Some(c) = &setup.console {
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        process::setup_console(c, size)?;
    }
    process::enter_cwd(process.cwd(), true)?;
    let exec = process::prepare(&process)?;
    let mut conn = match setup.exec_listener {
        Some(listener) => {
            chan.send(&Msg::Ready)?;
            // Wait for `start`.
            let (mut conn, _) = loop {
                match listener.accept() {
                    Ok(c) => break c,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(RuntimeError::sys("wait for start", e)),
                }
            };
            let mut b = [0u8; 1];
            let _ = conn.read(&mut b);
            Some(conn)
        }
        // `run`: no one to wait for; errors from here on still reach the runtime through
        // the channel, and its end-of-stream at exec means the process started.
        None => None,
    };
    let mut report = |e: RuntimeError| -> RuntimeError {
        if let Some(c) = conn.as_mut() {
            let _ = c.write_all(e.to_string().as_bytes());
        }
        e
    };
    crate::hooks::run_all(
        "startContainer",
        &hooks_of(spec, |h| h.start_container()),
        &state,
    )
    .map_err(&mut report)?;
    let listener = setup.listener.map(|l| {
        let mut s = setup.saved.clone();
        s.pid = host_pid;
        (l, state_json(&s, Status::Running))
    });
    let userns = spec::has_ns(spec, LinuxNamespaceType::User);
    let fin = Finish {
        process: &process,
        seccomp: setup.seccomp,
        preserve_fds: setup.preserve_fds,
        listener,
        setgroups_denied: userns
            && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny"),
    };
    process::finish_and_exec(fin, &exec).map_err(report)
}

/// The init's pid in the runtime's pid namespace, received once when first needed: the
/// runtime sends it when the cgroup directories exist, so the rootfs work that does not
/// need them goes on meanwhile.
struct HostPid<'a> {
    chan: &'a Channel,
    pid: std::cell::Cell<Option<i32>>,
}

impl<'a> HostPid<'a> {
    fn new(chan: &'a Channel) -> Self {
        HostPid {
            chan,
            pid: std::cell::Cell::new(None),
        }
    }

    fn get(&self) -> Result<i32> {
        if let Some(pid) = self.pid.get() {
            return Ok(pid);
        }
        let pid = self.chan.expect_host_pid()?;
        self.pid.set(Some(pid));
        Ok(pid)
    }
}

/// Waits until the runtime has moved us into our cgroup, then creates the cgroup namespace
/// if asked (its root is the cgroup we are in at that moment).
fn after_go(chan: &Channel, setup: &InitSetup<'_>) -> Result<()> {
    chan.expect_go()?;
    if setup.plan.unshare & libc::CLONE_NEWCGROUP != 0 {
        sys::unshare(libc::CLONE_NEWCGROUP)
            .map_err(|e| RuntimeError::sys("create cgroup namespace", e))?;
    }
    Ok(())
}

fn join_session_keyring() -> std::io::Result<()> {
    // KEYCTL_JOIN_SESSION_KEYRING with a NULL name creates an anonymous session keyring.
    sys::keyctl_join_session_keyring()
}

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
                    let size = process
                        .console_size()
                        .as_ref()
                        .map(|b| (b.height() as u16, b.width() as u16));
                    process::setup_console(c, size)?;
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
