//! Reading and validating a bundle's `config.json` once, at the edge. Everything after this
//! works on a [`Spec`] that is known to be usable on this host.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxNamespaceType;
pub use oci_spec::runtime::{Process, Spec};

use crate::error::{Result, RuntimeError};

fn invalid(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidConfig(msg.into())
}

/// Reads `<bundle>/config.json`, parses it and validates it; the rootfs path is made absolute.
pub fn load_bundle(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| RuntimeError::path("read", &path, e))?;
    let mut spec = parse(&bytes).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid(format!("{}: root: missing", path.display())))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let meta = std::fs::metadata(&rootfs).map_err(|e| {
        invalid(format!(
            "root.path {}: rootfs is not usable: {e}",
            rootfs.display()
        ))
    })?;
    if !meta.is_dir() {
        return Err(invalid(format!(
            "root.path {}: rootfs is not a directory",
            rootfs.display()
        )));
    }
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| RuntimeError::path("resolve rootfs", &rootfs, e))?;
    if let Some(r) = spec.root_mut() {
        r.set_path(rootfs);
    }
    validate(&spec)?;
    Ok(spec)
}

/// Parses config.json bytes into a [`Spec`], with serde's location of the fault.
pub fn parse(bytes: &[u8]) -> Result<Spec, String> {
    serde_json::from_slice::<Spec>(bytes).map_err(|e| format!("malformed config: {e}"))
}

/// The namespace types the spec asks for, in a fixed order, with their optional paths.
pub fn namespaces(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|ns| ns.iter().map(|n| (n.typ(), n.path().clone())).collect())
        .unwrap_or_default()
}

/// True if the spec has a namespace of this type (new or joined).
pub fn has_ns(spec: &Spec, t: LinuxNamespaceType) -> bool {
    namespaces(spec).iter().any(|(k, _)| *k == t)
}

/// Checks what the types alone cannot: consistency between fields and this host.
pub fn validate(spec: &Spec) -> Result<()> {
    let version = spec.version();
    if !version.starts_with("1.") {
        return Err(invalid(format!(
            "ociVersion {version:?}: only 1.x is supported"
        )));
    }
    if let Some(p) = spec.process() {
        validate_process(p)?;
    }
    let mut seen = HashSet::new();
    for (t, path) in namespaces(spec) {
        if !seen.insert(t) {
            return Err(invalid(format!(
                "linux.namespaces: {t:?} namespace listed twice"
            )));
        }
        if let Some(p) = path {
            if !p.is_absolute() {
                return Err(invalid(format!(
                    "linux.namespaces: {t:?} path {} is not absolute",
                    p.display()
                )));
            }
            if !p.exists() {
                return Err(invalid(format!(
                    "linux.namespaces: {t:?} path {} does not exist",
                    p.display()
                )));
            }
        }
    }
    let linux = spec.linux().as_ref();
    let has_userns = seen.contains(&LinuxNamespaceType::User);
    let user_new = namespaces(spec)
        .iter()
        .any(|(t, p)| *t == LinuxNamespaceType::User && p.is_none());
    let maps = linux
        .map(|l| l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty()))
        .unwrap_or(false);
    if user_new && !maps {
        return Err(invalid(
            "linux.uidMappings: a new user namespace needs uid and gid mappings",
        ));
    }
    if maps && !has_userns {
        return Err(invalid("linux.uidMappings: given without a user namespace"));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        && !seen.contains(&LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "hostname: setting a hostname needs a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty())
        && !seen.contains(&LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "domainname: setting a domainname needs a private UTS namespace",
        ));
    }
    if let Some(l) = linux {
        if let Some(sysctl) = l.sysctl() {
            for key in sysctl.keys() {
                validate_sysctl(key, &seen)?;
            }
        }
        if l.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
            && !seen.contains(&LinuxNamespaceType::Time)
        {
            return Err(invalid("linux.timeOffsets: needs a time namespace"));
        }
        if let Some(p) = l.rootfs_propagation() {
            if !matches!(
                p.as_str(),
                "" | "private"
                    | "rprivate"
                    | "slave"
                    | "rslave"
                    | "shared"
                    | "rshared"
                    | "unbindable"
                    | "runbindable"
            ) {
                return Err(invalid(format!(
                    "linux.rootfsPropagation: unknown value {p:?}"
                )));
            }
        }
        if l.intel_rdt().is_some() && !Path::new("/sys/fs/resctrl/schemata").exists() {
            return Err(invalid(
                "linux.intelRdt: Intel RDT (resctrl) is not available on this host",
            ));
        }
        // The seccomp profile is not compiled here: `create` compiles it (or finds it
        // compiled in the runtime's cache, which only a compile fills) before anything is
        // forked, so a bad profile still fails the create, without a second compile of
        // Docker's profile (8-12 ms) on the path of every start.
        if let Some(devs) = l.devices() {
            for d in devs {
                if !d.path().is_absolute() {
                    return Err(invalid(format!(
                        "linux.devices: path {} is not absolute",
                        d.path().display()
                    )));
                }
            }
        }
    }
    if let Some(mounts) = spec.mounts() {
        for m in mounts {
            let dest = m.destination();
            if dest.as_os_str().is_empty() {
                return Err(invalid("mounts: a mount has an empty destination"));
            }
            let bind = m.typ().as_deref() == Some("bind")
                || m.options()
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|x| x == "bind" || x == "rbind"));
            if bind && m.source().is_none() {
                return Err(invalid(format!(
                    "mounts: bind mount to {} has no source",
                    dest.display()
                )));
            }
        }
    }
    if let Some(hooks) = spec.hooks() {
        let all = [
            hooks.prestart(),
            hooks.create_runtime(),
            hooks.create_container(),
            hooks.start_container(),
            hooks.poststart(),
            hooks.poststop(),
        ];
        for h in all.into_iter().flatten().flatten() {
            if !h.path().is_absolute() {
                return Err(invalid(format!(
                    "hooks: path {} is not absolute",
                    h.path().display()
                )));
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err(invalid(format!(
                    "hooks: {}: timeout must be positive",
                    h.path().display()
                )));
            }
        }
    }
    Ok(())
}

/// Whether the kernel has AppArmor enabled (the module's own switch, as runc reads it).
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim_start().starts_with('Y'))
}

fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Checks a process object (also used for `exec --process`).
pub fn validate_process(p: &Process) -> Result<()> {
    let args = p.args().as_ref().filter(|a| !a.is_empty());
    if args.is_none() && p.command_line().is_none() {
        return Err(invalid("process.args: must have at least one element"));
    }
    if !p.cwd().is_absolute() {
        return Err(invalid(format!(
            "process.cwd {:?}: must be an absolute path",
            p.cwd()
        )));
    }
    if let Some(profile) = p.apparmor_profile().as_ref().filter(|a| !a.is_empty()) {
        // Applying no profile where one was asked for would leave the user believing the
        // process is confined; runc and crun refuse too.
        if !apparmor_enabled() {
            return Err(invalid(format!(
                "process.apparmorProfile {profile:?}: AppArmor is not enabled on this host"
            )));
        }
    }
    if p.selinux_label().as_ref().is_some_and(|l| !l.is_empty()) && !selinux_enabled() {
        return Err(invalid(format!(
            "process.selinuxLabel {:?}: SELinux is not enabled on this host",
            p.selinux_label().as_deref().unwrap_or_default()
        )));
    }
    for e in p.env().iter().flatten() {
        if !e.contains('=') {
            return Err(invalid(format!("process.env: {e:?} is not KEY=value")));
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(format!(
                "process.oomScoreAdj {adj}: must be within -1000..1000"
            )));
        }
    }
    for r in p.rlimits().iter().flatten() {
        if r.soft() > r.hard() {
            return Err(invalid(format!(
                "process.rlimits: {:?}: soft limit {} is above hard limit {}",
                r.typ(),
                r.soft(),
                r.hard()
            )));
        }
    }
    Ok(())
}

/// The sysctls of the IPC namespace accepted by name, as runc's (the `fs.mqueue.` ones by
/// prefix).
pub const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

fn validate_sysctl(key: &str, ns: &HashSet<LinuxNamespaceType>) -> Result<()> {
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        if !ns.contains(&LinuxNamespaceType::Ipc) {
            return Err(invalid(format!(
                "linux.sysctl {key:?}: needs a private IPC namespace"
            )));
        }
        return Ok(());
    }
    if key.starts_with("net.") {
        if !ns.contains(&LinuxNamespaceType::Network) {
            return Err(invalid(format!(
                "linux.sysctl {key:?}: needs a private network namespace"
            )));
        }
        return Ok(());
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        if !ns.contains(&LinuxNamespaceType::Uts) {
            return Err(invalid(format!(
                "linux.sysctl {key:?}: needs a private UTS namespace"
            )));
        }
        return Ok(());
    }
    Err(invalid(format!(
        "linux.sysctl {key:?}: not namespaced, refusing to change it for the host"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_position() {
        let err = parse(b"{\"ociVersion\": 1}").expect_err("must fail");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn unknown_namespace_is_named() {
        let cfg = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"bogus"}]}}"#;
        let err = parse(cfg).expect_err("must fail");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn hostname_needs_uts() {
        let cfg = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"hostname":"x","linux":{"namespaces":[{"type":"mount"}]}}"#;
        let spec = parse(cfg).expect("parse");
        let err = validate(&spec).expect_err("must fail").to_string();
        assert!(err.contains("UTS"), "{err}");
    }

    #[test]
    fn host_sysctl_refused() {
        let cfg = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"sysctl":{"vm.swappiness":"1"}}}"#;
        let spec = parse(cfg).expect("parse");
        assert!(validate(&spec).is_err());
    }
}
