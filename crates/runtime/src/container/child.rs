//! What runs in the children `create` forks: the intermediate (joins and unshares
//! namespaces) and the init (builds the rootfs, waits for start, execs the process).

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::process::{self, Finish};
use crate::rootfs::{self, RootfsContext};
use crate::spec;
use crate::state::{Saved, Status};
use crate::sync::{Channel, Msg};
use crate::sys::{self, Fork};

use super::create::NsPlan;
use super::{hooks_of, state_json};

pub(super) struct InitSetup<'a> {
    pub(super) spec: &'a Spec,
    pub(super) bundle: &'a Path,
    pub(super) plan: NsPlan,
    pub(super) console: Option<OwnedFd>,
    pub(super) listener: Option<OwnedFd>,
    pub(super) exec_listener: Option<UnixListener>,
    pub(super) preserve_fds: u32,
    pub(super) no_pivot: bool,
    pub(super) no_new_keyring: bool,
    pub(super) cgroup: &'a Manager,
    pub(super) seccomp: Option<(
        &'a oci_spec::runtime::LinuxSeccomp,
        &'a crate::seccomp_cache::Prepared,
    )>,
    pub(super) saved: &'a Saved,
    pub(super) idmapped: &'a std::collections::BTreeMap<usize, OwnedFd>,
    /// The init was cloned by the runtime itself: it waits for `Go` (its cgroup is ready)
    /// after building the rootfs, and creates the cgroup namespace then.
    pub(super) direct: bool,
    /// The init was cloned into its cgroup2 directory and joins its v1 hierarchies itself
    /// (Manager::join_self) once HostPid says their limits are set.
    pub(super) self_join: bool,
}

/// Joins the namespaces, a user namespace last: the others are joined with the runtime's
/// own privilege (whoever owns them), and once in a user namespace the process becomes its
/// root, so that what it creates (mount points in a tmpfs of that namespace) has ids the
/// namespace maps.
pub(super) fn join_namespaces(join: &[(OwnedFd, libc::c_int, String)]) -> Result<()> {
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
pub(super) fn close_fds_but(
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
pub(super) fn intermediate(chan: &Channel, setup: InitSetup<'_>) -> Result<()> {
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
    pub(super) fn expect_go(&self) -> Result<()> {
        match self.recv()? {
            Some(Msg::Go) => Ok(()),
            Some(Msg::Error { msg }) => Err(RuntimeError::Child(msg)),
            _ => Err(RuntimeError::Child("runtime went away".into())),
        }
    }

    pub(super) fn expect_host_pid(&self) -> Result<i32> {
        match self.recv()? {
            Some(Msg::HostPid { pid }) => Ok(pid),
            _ => Err(RuntimeError::Child("runtime went away".into())),
        }
    }
}

/// The container's init, up to `exec`.
pub(super) fn init(chan: &Channel, setup: InitSetup<'_>) -> Result<std::convert::Infallible> {
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
        process::setup_console(c, process::console_size(&process))?;
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
