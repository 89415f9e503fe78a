//! `create`: the namespaces planned, the init forked (straight into its cgroup where it can
//! be), the rootfs built in it, and the state saved; undone on any failure.

use std::collections::BTreeMap;

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};
use crate::spec;
use crate::state::{self, Saved, Status, EXEC_SOCK};
use crate::sync::{self, Msg};
use crate::sys::{self, Fork};

use super::child::{init, intermediate, InitSetup};
use super::{
    bind_in, clone_child, connect_console, connect_socket, hooks_of, open_cgroup_dir, save_config,
    state_json, write_pid_file, Container, CreateOptions, NS_ORDER,
};

/// Namespaces to join (fd, flag) in the order they must be joined, and flags to unshare.
pub(super) struct NsPlan {
    pub(super) join: Vec<(OwnedFd, libc::c_int, String)>,
    pub(super) unshare: libc::c_int,
    pub(super) new_user: bool,
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

impl Container {
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
                Some(open_cgroup_dir(d).map_err(|e| RuntimeError::path("open cgroup", d, e))?)
            }
            _ => None,
        };
        let forked = if direct {
            // The cgroup namespace is unshared by the init once it is in its cgroup, else the
            // namespace's root would be this process's cgroup.
            let flags = setup.plan.unshare & !libc::CLONE_NEWCGROUP;
            clone_child(flags, into.as_ref().map(|fd| fd.as_fd()))
        } else {
            sys::fork().map(|f| (f, false))
        };
        drop(into);
        let (forked, self_join) = forked.map_err(|e| RuntimeError::sys("fork", e))?;
        setup.self_join = self_join;
        let inter = match forked {
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
}
