//! The namespaces a container keeps to itself or shares (`PidMode`, `IpcMode`, `UTSMode`),
//! its /dev/shm (`ShmSize`), its namespaced kernel parameters (`Sysctls`), its OOM score
//! (`OomScoreAdj`) and domain name: checked at create as dockerd and runc check them (with
//! their messages, so a refused request leaves nothing behind), the other container's
//! namespaces found at start, and the OCI spec fields they set.

use muelle_runtime::spec::IPC_SYSCTLS;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use super::{ContainerConfig, ContainerError, ContainerRecord, HostConfig};
use crate::Engine;

/// dockerd's default `--shm-size`.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// A namespace mode as the `HostConfig` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// A namespace of the container's own ("", "private", "shareable", "none").
    Own,
    Host,
    /// The namespace of another container, by name or ID.
    Container(&'a str),
}

impl<'a> Mode<'a> {
    pub fn of(s: &'a str) -> Self {
        match s.strip_prefix("container:") {
            Some(target) => Mode::Container(target),
            None if s == "host" => Mode::Host,
            None => Mode::Own,
        }
    }
}

/// A namespace mode is well formed: `own` lists the spellings of a namespace of its own.
fn check_mode(value: &str, own: &[&str], message: &str) -> Result<(), ContainerError> {
    let ok = own.contains(&value)
        || value == "host"
        || value
            .strip_prefix("container:")
            .is_some_and(|t| !t.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ContainerError::Invalid(format!("{message}: {value}")))
    }
}

/// Checks the namespace options of a create request: the modes, the hostname against the
/// UTS mode, the /dev/shm size, the OOM score adjustment and the sysctls. Pure but for the
/// daemon's own capabilities (a negative OOM score adjustment needs CAP_SYS_RESOURCE).
pub fn validate(config: &ContainerConfig, host: &HostConfig) -> Result<(), ContainerError> {
    check_mode(&host.pid_mode, &[""], "invalid PID mode")?;
    check_mode(
        &host.ipc_mode,
        &["", "none", "private", "shareable"],
        "Invalid IPC mode",
    )?;
    check_mode(&host.uts_mode, &[""], "invalid UTS mode")?;
    if !matches!(host.userns_mode.as_str(), "" | "host") {
        return Err(ContainerError::Invalid(format!(
            "invalid USER mode: {}",
            host.userns_mode
        )));
    }
    if Mode::of(&host.uts_mode) != Mode::Own && !config.hostname.is_empty() {
        return Err(ContainerError::Invalid(
            "conflicting options: hostname and the UTS mode".into(),
        ));
    }
    if host.shm_size < 0 {
        return Err(ContainerError::Invalid(
            "SHM size can not be less than 0".into(),
        ));
    }
    let adj = host.oom_score_adj;
    if !(-1000..=1000).contains(&adj) {
        return Err(ContainerError::Invalid(format!(
            "Invalid value {adj}, range for oom score adj is [-1000, 1000]"
        )));
    }
    if adj < own_oom_score_adj() && !has_sys_resource() {
        return Err(ContainerError::Invalid(format!(
            "--oom-score-adj={adj}: lowering a process's OOM score adjustment needs \
             CAP_SYS_RESOURCE, which this host's capability bounding set does not grant \
             to the daemon; use a value of 0 or more"
        )));
    }
    check_sysctls(host)
}

/// runc's rule: a sysctl may only be set in a namespace of the container's own, the one it
/// belongs to; the rest would change the host. Same messages as runc.
pub fn check_sysctls(host: &HostConfig) -> Result<(), ContainerError> {
    let refuse = |m: String| Err(ContainerError::Invalid(m));
    for key in host.sysctls.keys() {
        if IPC_SYSCTLS.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
            if Mode::of(&host.ipc_mode) == Mode::Host {
                return refuse(format!(
                    "sysctl {key:?} is not allowed in the hosts ipc namespace"
                ));
            }
            continue;
        }
        if key.starts_with("net.") {
            if host.network_mode() == "host" {
                return refuse(format!(
                    "sysctl {key:?} not allowed in host network namespace"
                ));
            }
            continue;
        }
        if Mode::of(&host.uts_mode) != Mode::Host {
            match key.as_str() {
                "kernel.domainname" => continue,
                "kernel.hostname" => {
                    return refuse(format!(
                    "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
                ))
                }
                _ => {}
            }
        }
        return refuse(format!(
            "sysctl {key:?} is not in a separate kernel namespace"
        ));
    }
    Ok(())
}

/// The daemon's own OOM score adjustment: a process may go down to it without privilege.
fn own_oom_score_adj() -> i64 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the daemon holds CAP_SYS_RESOURCE (bit 24) in its effective set.
fn has_sys_resource() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// dockerd's defaults, filled in at create so inspect shows them.
pub fn fill_defaults(host: &mut HostConfig) {
    if host.ipc_mode.is_empty() {
        host.ipc_mode = "private".into();
    }
    if host.shm_size == 0 {
        host.shm_size = DEFAULT_SHM_SIZE;
    }
}

/// The init pids of the containers whose namespaces a container joins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Joined {
    pub pid: Option<i64>,
    pub ipc: Option<i64>,
    pub uts: Option<i64>,
    /// The host directory bound on /dev/shm: the tmpfs of a shareable container, its own or
    /// its IPC donor's.
    pub shm: Option<PathBuf>,
    /// The init pid of a joined container that runs in a remapped user namespace: a
    /// namespace it owns can only be set up (its /proc mounted) from inside that user
    /// namespace, so the joining container shares it too, as dockerd arranges.
    pub user: Option<i64>,
}

impl Engine {
    /// At create: the containers named by `container:<x>` modes exist (dockerd's "No such
    /// container"); the modes then name them by ID, as dockerd records them.
    pub(super) fn resolve_namespace_targets(
        &self,
        host: &mut HostConfig,
    ) -> Result<(), ContainerError> {
        for m in [&mut host.pid_mode, &mut host.ipc_mode, &mut host.uts_mode] {
            if let Mode::Container(target) = Mode::of(m) {
                // dockerd answers 400 here, not 404: the request is what is wrong.
                let c = self.containers.find(target).map_err(|e| match e {
                    ContainerError::NotFound(_) => ContainerError::Invalid(e.to_string()),
                    e => e,
                })?;
                *m = format!("container:{}", c.id);
            }
        }
        Ok(())
    }

    /// At start: the init pids of the containers whose namespaces this one joins; each must
    /// be running, and an IPC donor shareable, with dockerd's messages.
    pub(super) fn joined_namespaces(&self, rec: &ContainerRecord) -> Result<Joined, String> {
        let hc = &rec.host_config;
        let joined_user = std::cell::Cell::new(None);
        let running = |target: &str| -> Result<(ContainerRecord, i64), String> {
            let t = self
                .containers
                .find(target)
                .map_err(|e| e.to_string())?
                .record();
            if !t.state.running() || t.state.pid() <= 0 {
                return Err(format!("container {} is not running", t.id));
            }
            let pid = t.state.pid();
            if self.remap_of(&t.host_config).is_some() {
                joined_user.set(Some(pid));
            }
            Ok((t, pid))
        };
        let mut j = Joined::default();
        if let Mode::Container(target) = Mode::of(&hc.pid_mode) {
            j.pid = Some(running(target)?.1);
        }
        if let Mode::Container(target) = Mode::of(&hc.uts_mode) {
            j.uts = Some(running(target)?.1);
        }
        if let Mode::Container(target) = Mode::of(&hc.ipc_mode) {
            let (t, pid) = running(target).map_err(|e| {
                let id = self
                    .containers
                    .find(target)
                    .map(|c| c.id.clone())
                    .unwrap_or_else(|_| target.to_string());
                format!("can't join IPC of container {id}: {e}")
            })?;
            if t.host_config.ipc_mode != "shareable" {
                return Err(format!(
                    "can't join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
                    t.id
                ));
            }
            j.ipc = Some(pid);
            j.shm = Some(self.containers.bundle(&t.id).join(SHM_DIR));
        }
        if rec.host_config.ipc_mode == "shareable" {
            let dir = self.containers.bundle(&rec.id).join(SHM_DIR);
            mount_shm(&dir, rec.host_config.shm_size)?;
            j.shm = Some(dir);
        }
        j.user = joined_user.get();
        Ok(j)
    }
}

/// Sets in `spec` what the namespace options ask for: the namespaces joined or left to the
/// host, /dev/shm, sysctls, the OOM score adjustment and the domain name.
pub fn apply(spec: &mut Spec, rec: &ContainerRecord, joined: &Joined) {
    let hc = &rec.host_config;
    let uts_own = Mode::of(&hc.uts_mode) == Mode::Own;
    if let Some(linux) = spec.linux_mut() {
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        for (mode, typ, pid, name) in [
            (&hc.pid_mode, LinuxNamespaceType::Pid, joined.pid, "pid"),
            (&hc.ipc_mode, LinuxNamespaceType::Ipc, joined.ipc, "ipc"),
            (&hc.uts_mode, LinuxNamespaceType::Uts, joined.uts, "uts"),
        ] {
            match (Mode::of(mode), pid) {
                (Mode::Host, _) => namespaces.retain(|n| n.typ() != typ),
                (Mode::Container(_), Some(pid)) => {
                    for n in namespaces.iter_mut().filter(|n| n.typ() == typ) {
                        n.set_path(Some(format!("/proc/{pid}/ns/{name}").into()));
                    }
                }
                _ => {}
            }
        }
        linux.set_namespaces(Some(namespaces));
        if !hc.sysctls.is_empty() {
            let mut sysctl: HashMap<String, String> = linux.sysctl().clone().unwrap_or_default();
            sysctl.extend(hc.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())));
            linux.set_sysctl(Some(sysctl));
        }
    }
    if let Some(mounts) = spec.mounts_mut() {
        let shm = Path::new("/dev/shm");
        match (Mode::of(&hc.ipc_mode), joined.ipc) {
            (Mode::Host, _) => replace_shm(mounts, "/dev/shm"),
            (_, _) if joined.shm.is_some() => {
                if let Some(dir) = &joined.shm {
                    replace_shm(mounts, &dir.display().to_string())
                }
            }
            _ if hc.ipc_mode == "none" => mounts.retain(|m| m.destination() != shm),
            _ => {
                let size = if hc.shm_size > 0 {
                    hc.shm_size
                } else {
                    DEFAULT_SHM_SIZE
                };
                for m in mounts.iter_mut().filter(|m| m.destination() == shm) {
                    let mut opts = m.options().clone().unwrap_or_default();
                    opts.retain(|o| !o.starts_with("size="));
                    opts.push(format!("size={size}"));
                    m.set_options(Some(opts));
                }
            }
        }
    }
    if !uts_own {
        // The host's (or the other container's) name stays; the runtime refuses to set one
        // without a UTS namespace of the container's own.
        spec.set_hostname(None);
    } else if !rec.config.domainname.is_empty() {
        spec.set_domainname(Some(rec.config.domainname.clone()));
    }
    if hc.oom_score_adj != 0 {
        if let Some(p) = spec.process_mut() {
            p.set_oom_score_adj(i32::try_from(hc.oom_score_adj).ok());
        }
    }
}

/// Where a shareable container's /dev/shm lives on the host, in its bundle: a mount in the
/// host's mount namespace, so that a container joining its IPC namespace can bind it too
/// (a mount of another mount namespace cannot be bound).
pub const SHM_DIR: &str = "shm";

/// Mounts the tmpfs of a shareable container's /dev/shm on `dir` (Docker's options).
fn mount_shm(dir: &Path, size: i64) -> Result<(), String> {
    use rustix::mount::{mount, MountFlags};
    let _ = rustix::mount::unmount(dir, rustix::mount::UnmountFlags::DETACH);
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let size = if size > 0 { size } else { DEFAULT_SHM_SIZE };
    let data = std::ffi::CString::new(format!("mode=1777,size={size}"))
        .map_err(|e| format!("shm options: {e}"))?;
    mount(
        "shm",
        dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        Some(data.as_c_str()),
    )
    .map_err(|e| format!("mount shm on {}: {e}", dir.display()))
}

/// Unmounts a container's shareable /dev/shm, if it has one.
pub fn unmount_shm(bundle: &Path) {
    let _ = rustix::mount::unmount(bundle.join(SHM_DIR), rustix::mount::UnmountFlags::DETACH);
}

/// /dev/shm as a bind of `source` (the host's, or another container's) in place of a tmpfs.
fn replace_shm(mounts: &mut [Mount], source: &str) {
    let shm = Path::new("/dev/shm");
    for m in mounts.iter_mut().filter(|m| m.destination() == shm) {
        m.set_typ(Some("bind".into()))
            .set_source(Some(source.into()))
            .set_options(Some(vec!["rbind".into(), "rprivate".into()]));
    }
}

#[cfg(test)]
#[path = "namespaces_tests.rs"]
mod tests;

/// The container joins the network namespace the datapath made for it (bound at `path`)
/// instead of getting an empty one. Docker's two defaults for a namespace of the container's
/// own were written into it by the daemon (a remapped container's user namespace does not
/// own it and could not write them); the spec keeps only what the container asked for.
pub fn set_network_path(spec: &mut Spec, path: &Path, asked: &HashMap<String, String>) {
    if let Some(linux) = spec.linux_mut() {
        if let Some(mut sysctl) = linux.sysctl().clone() {
            for k in crate::networks::datapath::NETNS_SYSCTLS
                .iter()
                .map(|(k, _)| *k)
            {
                if !asked.contains_key(k) {
                    sysctl.remove(k);
                }
            }
            linux.set_sysctl((!sysctl.is_empty()).then_some(sysctl));
        }
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        for n in namespaces
            .iter_mut()
            .filter(|n| n.typ() == LinuxNamespaceType::Network)
        {
            n.set_path(Some(path.to_path_buf()));
        }
        linux.set_namespaces(Some(namespaces));
    }
}
