//! A container under the daemon's `userns-remap`: the checks dockerd makes at create
//! (`--privileged`, host network or pid namespace need `--userns host`), the user namespace
//! and its mappings in the spec, and the files it sees through idmapped mounts: its rootfs
//! and the daemon's own files bound into it (volumes, /etc/hosts and friends) keep their
//! ids on disk and show as the container root's. Binds of host paths are not idmapped, as in
//! Docker: there the host's owners count, and the container's root is an unprivileged
//! subordinate uid.

use std::path::Path;

use muelle_image::snapshot::MountSpec;
use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceType, Spec,
};

use super::{ContainerError, HostConfig};
use crate::userns::{IdRange, Remap};
use crate::Engine;

impl Engine {
    /// The remapping a container runs under: the daemon's, unless it asks for `--userns host`.
    pub(super) fn remap_of(&self, hc: &HostConfig) -> Option<&Remap> {
        self.config()
            .userns_remap
            .as_ref()
            .filter(|_| hc.userns_mode != "host")
    }

    /// dockerd's refusals of options a remapped container cannot have.
    pub(super) fn check_userns(&self, hc: &HostConfig) -> Result<(), ContainerError> {
        if self.remap_of(hc).is_none() {
            return Ok(());
        }
        let refuse = |m: &str| Err(ContainerError::Invalid(m.into()));
        if hc.privileged {
            return refuse("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode");
        }
        if hc.network_mode() == "host" {
            return refuse(
                "cannot share the host's network namespace when user namespaces are enabled",
            );
        }
        if hc.pid_mode == "host" {
            return refuse("cannot share the host PID namespace when user namespaces are enabled");
        }
        Ok(())
    }
}

fn mappings(ranges: &[IdRange]) -> Vec<LinuxIdMapping> {
    ranges
        .iter()
        // The builder cannot fail with every field given.
        .filter_map(|r| {
            LinuxIdMappingBuilder::default()
                .container_id(r.container)
                .host_id(r.host)
                .size(r.size)
                .build()
                .ok()
        })
        .collect()
}

/// Puts the container in a user namespace with the remapping's ids (that of the remapped
/// container with init pid `join`, when it joins one of that container's namespaces), and
/// idmaps the bind mounts of the daemon's own files (those under `own_roots`).
pub fn apply(spec: &mut Spec, remap: &Remap, own_roots: &[&Path], join: Option<i64>) {
    if let Some(linux) = spec.linux_mut() {
        let mut namespaces = linux.namespaces().clone().unwrap_or_default();
        namespaces.retain(|n| n.typ() != LinuxNamespaceType::User);
        let mut user = LinuxNamespace::default();
        user.set_typ(LinuxNamespaceType::User)
            .set_path(join.map(|pid| format!("/proc/{pid}/ns/user").into()));
        namespaces.insert(0, user);
        linux
            .set_namespaces(Some(namespaces))
            .set_uid_mappings(Some(mappings(&remap.uids)))
            .set_gid_mappings(Some(mappings(&remap.gids)));
        // Docker's default unprivileged ping range names gids the user namespace does not
        // map, which the kernel refuses; dockerd leaves it out under remapping too.
        if let Some(sysctl) = linux.sysctl_mut() {
            if sysctl.get(PING_GROUP_RANGE).map(String::as_str) == Some("0 2147483647") {
                sysctl.remove(PING_GROUP_RANGE);
            }
        }
    }
    for m in spec.mounts_mut().iter_mut().flatten() {
        let bind = m.typ().as_deref() == Some("bind");
        let own = m
            .source()
            .as_ref()
            .is_some_and(|s| own_roots.iter().any(|r| s.starts_with(r)));
        if bind && own {
            let mut opts = m.options().clone().unwrap_or_default();
            opts.push("idmap".into());
            m.set_options(Some(opts));
        }
    }
}

const PING_GROUP_RANGE: &str = "net.ipv4.ping_group_range";

/// Where the idmapped view of the snapshots lives while the rootfs is mounted, in the bundle.
const LAYERS_DIR: &str = "idmapped-layers";

/// Mounts the container's rootfs (an overlay snapshot) on `rootfs` with its image layers seen
/// through an idmapped mount, so that the image's root-owned files belong to the container's
/// root without a chowned copy of the image. overlayfs cannot itself be idmapped, but its
/// lower layers can: one idmapped view of the snapshots' directory is mounted in the bundle,
/// the overlay takes its lower dirs from it, and the view is detached again (the overlay
/// keeps its own references to the layers).
pub fn mount_rootfs(
    mounts: &[MountSpec],
    rootfs: &Path,
    bundle: &Path,
    remap: &Remap,
) -> Result<(), String> {
    let [spec] = mounts else {
        return Err("userns-remap needs a rootfs of one overlay mount".into());
    };
    if spec.typ != "overlay" || spec.target.is_some() {
        return Err(format!(
            "userns-remap needs the overlay snapshotter (the rootfs is a {} mount)",
            spec.typ
        ));
    }
    let upper = spec
        .options
        .iter()
        .find_map(|o| o.strip_prefix("upperdir="))
        .ok_or("userns-remap: the rootfs overlay has no upper dir")?;
    // <snapshots>/<id>/fs: every layer lives under <snapshots>.
    let root = Path::new(upper)
        .parent()
        .and_then(Path::parent)
        .ok_or("userns-remap: the upper dir is not in a snapshot directory")?;
    let view = bundle.join(LAYERS_DIR);
    let moved = |p: &str| -> Result<String, String> {
        let rel = Path::new(p)
            .strip_prefix(root)
            .map_err(|_| format!("userns-remap: layer {p} is outside {}", root.display()))?;
        Ok(view.join(rel).display().to_string())
    };
    let mut options = Vec::with_capacity(spec.options.len());
    for o in &spec.options {
        options.push(match o.split_once('=') {
            Some(("lowerdir", dirs)) => format!(
                "lowerdir={}",
                dirs.split(':')
                    .map(moved)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(":")
            ),
            _ => o.clone(),
        });
    }
    // The upper layer is the container's own: not idmapped (overlayfs works in it with the
    // mounter's credentials, host root, which no idmapping of the container's range can
    // represent), but its root belongs to the container's root, and what the container
    // writes is stored with its host ids, as under dockerd's remapping.
    let (uid, gid) = remap.root();
    std::os::unix::fs::lchown(upper, Some(uid), Some(gid))
        .map_err(|e| format!("chown {upper}: {e}"))?;
    let _ = rustix::mount::unmount(&view, rustix::mount::UnmountFlags::DETACH);
    std::fs::create_dir_all(&view).map_err(|e| format!("create {}: {e}", view.display()))?;
    muelle_runtime::idmap::idmap_mount(root, &view, &mappings(&remap.uids), &mappings(&remap.gids))
        .map_err(|e| e.to_string())?;
    let overlay = MountSpec {
        options,
        ..spec.clone()
    };
    let r = muelle_image::snapshot::mount_at(&[overlay], rootfs).map_err(|e| e.to_string());
    let _ = rustix::mount::unmount(&view, rustix::mount::UnmountFlags::DETACH);
    let _ = std::fs::remove_dir(&view);
    r
}

/// Lets the container's root reach its rootfs: the init sets up its mounts inside the user
/// namespace, where host root's 0700 directories are closed to it. As dockerd does under
/// remapping, the bundle belongs to the remapped root (still 0700: other host users stay
/// out) and the directory of bundles is only traversable (0711), never listable.
pub fn open_bundle(bundle: &Path, remap: &Remap) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let (uid, gid) = remap.root();
    std::os::unix::fs::chown(bundle, Some(uid), Some(gid))
        .map_err(|e| format!("chown {}: {e}", bundle.display()))?;
    if let Some(parent) = bundle.parent() {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| format!("chmod {}: {e}", parent.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Mount;

    #[test]
    fn user_namespace_mappings_and_idmapped_own_binds() {
        let remap = Remap {
            user: "dockremap".into(),
            group: "dockremap".into(),
            uids: vec![IdRange {
                container: 0,
                host: 100000,
                size: 65536,
            }],
            gids: vec![IdRange {
                container: 0,
                host: 200000,
                size: 65536,
            }],
        };
        let bind = |src: &str| {
            let mut m = Mount::default();
            m.set_destination("/x".into())
                .set_typ(Some("bind".into()))
                .set_source(Some(src.into()))
                .set_options(Some(vec!["rbind".into()]));
            m
        };
        let mut spec = Spec::default();
        spec.set_mounts(Some(vec![
            bind("/var/lib/muelle/volumes/v/_data"),
            bind("/home"),
        ]));
        apply(&mut spec, &remap, &[Path::new("/var/lib/muelle")], None);
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v["linux"]["namespaces"][0]["type"], "user");
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 100000);
        assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 200000);
        assert_eq!(
            v["mounts"][0]["options"],
            serde_json::json!(["rbind", "idmap"])
        );
        assert_eq!(v["mounts"][1]["options"], serde_json::json!(["rbind"]));
        apply(&mut spec, &remap, &[], Some(42));
        let v = serde_json::to_value(&spec).unwrap();
        assert_eq!(v["linux"]["namespaces"][0]["path"], "/proc/42/ns/user");
        let users = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "user")
            .count();
        assert_eq!(users, 1);
    }
}
