//! Idmapped bind mounts (`idmap`/`ridmap` options, or `uidMappings`/`gidMappings` on a mount).
//!
//! They are made by the runtime process before it forks, in the host's mount and user
//! namespaces, where the kernel allows MOUNT_ATTR_IDMAP: open_tree(OPEN_TREE_CLONE) of the
//! source, mount_setattr with a user namespace holding the mappings, and the detached mount's
//! fd is then moved into place by the container's init with move_mount.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};
use rustix::mount::OpenTreeFlags;

use crate::error::{Result, RuntimeError};
use crate::rootfs::parse_options;
use crate::sync::{self, Msg};
use crate::sys::{self, Fork};

fn maps_text(m: &[LinuxIdMapping]) -> String {
    m.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A user namespace with the given mappings, held by an fd (its helper process is gone).
pub fn userns_with(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (parent, child) = sync::pair()?;
    match sys::fork().map_err(|e| RuntimeError::sys("fork", e))? {
        Fork::Child => {
            drop(parent);
            let code = match sys::unshare(libc::CLONE_NEWUSER) {
                Ok(()) => {
                    let _ = child.send(&Msg::Ack);
                    // Wait until the parent has opened our namespace.
                    let _ = child.recv();
                    0
                }
                Err(e) => {
                    let _ = child.send(&Msg::Error {
                        msg: format!("create user namespace: {e}"),
                    });
                    1
                }
            };
            sys::exit_now(code);
        }
        Fork::Parent(pid) => {
            drop(child);
            let r = (|| {
                parent.expect_ack("user namespace for idmapped mount")?;
                let base = format!("/proc/{pid}");
                std::fs::write(format!("{base}/uid_map"), maps_text(uids))
                    .map_err(|e| RuntimeError::path("write", format!("{base}/uid_map"), e))?;
                std::fs::write(format!("{base}/gid_map"), maps_text(gids))
                    .map_err(|e| RuntimeError::path("write", format!("{base}/gid_map"), e))?;
                rustix::fs::open(
                    format!("{base}/ns/user").as_str(),
                    rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| RuntimeError::path("open", format!("{base}/ns/user"), e))
            })();
            let _ = parent.send(&Msg::Go);
            let _ = sys::waitpid(pid, 0);
            r
        }
    }
}

/// True if the mount asks to be idmapped.
pub fn wants_idmap(m: &Mount) -> bool {
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    opts.idmap
        || m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
}

/// Makes the detached idmapped mounts the spec asks for, keyed by the index in `mounts`.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<BTreeMap<usize, OwnedFd>> {
    let mut out = BTreeMap::new();
    let mut cache: Option<OwnedFd> = None;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !wants_idmap(m) {
            continue;
        }
        let dest = m.destination().display().to_string();
        let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
        if opts.flags & libc::MS_BIND == 0 && m.typ().as_deref() != Some("bind") {
            return Err(RuntimeError::InvalidConfig(format!(
                "mount {dest}: idmapped mounts must be bind mounts"
            )));
        }
        let own = (m.uid_mappings().clone(), m.gid_mappings().clone());
        let userns = match own {
            (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => userns_with(&u, &g)?,
            (None, None) => {
                if cache.is_none() {
                    let l = spec.linux().as_ref();
                    let u = l.and_then(|l| l.uid_mappings().clone()).unwrap_or_default();
                    let g = l.and_then(|l| l.gid_mappings().clone()).unwrap_or_default();
                    if u.is_empty() || g.is_empty() {
                        return Err(RuntimeError::InvalidConfig(format!(
                            "mount {dest}: idmap without mappings needs the container's linux.uidMappings and gidMappings"
                        )));
                    }
                    cache = Some(userns_with(&u, &g)?);
                }
                match &cache {
                    Some(fd) => fd.try_clone().map_err(|e| RuntimeError::sys("dup", e))?,
                    None => continue,
                }
            }
            _ => {
                return Err(RuntimeError::InvalidConfig(format!(
                    "mount {dest}: uidMappings and gidMappings must be given together"
                )))
            }
        };
        let src = m.source().clone().unwrap_or_default();
        let src = if src.is_absolute() {
            src
        } else {
            bundle.join(src)
        };
        let recursive =
            opts.flags & libc::MS_REC != 0 || m.options().iter().flatten().any(|o| o == "ridmap");
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
        if recursive {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        let tree = rustix::mount::open_tree(rustix::fs::CWD, &src, flags)
            .map_err(|e| RuntimeError::path("open_tree (idmapped mount source)", &src, e))?;
        sys::mount_setattr_idmap(tree.as_fd(), userns.as_fd(), recursive).map_err(|e| {
            RuntimeError::sys(format!("mount {dest}: make idmapped mount of {} (the filesystem or kernel may not support it)", src.display()), e)
        })?;
        out.insert(i, tree);
    }
    Ok(out)
}

/// Mounts an idmapped view of the directory `src` on `dest` (which must exist): files owned
/// by on-disk id N show as the mapping's host id for N. A daemon gives a container in a
/// remapped user namespace its image layers this way, without copying and chowning them:
/// on disk the files keep their ids, inside they belong to the container's root.
pub fn idmap_mount(
    src: &Path,
    dest: &Path,
    uids: &[LinuxIdMapping],
    gids: &[LinuxIdMapping],
) -> Result<()> {
    let userns = userns_with(uids, gids)?;
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        src,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(|e| RuntimeError::path("open_tree", src, e))?;
    sys::mount_setattr_idmap(tree.as_fd(), userns.as_fd(), false).map_err(|e| {
        RuntimeError::sys(
            format!(
                "make an idmapped mount of {} (the filesystem or kernel may not support it)",
                src.display()
            ),
            e,
        )
    })?;
    rustix::mount::move_mount(
        tree.as_fd(),
        "",
        rustix::fs::CWD,
        dest,
        rustix::mount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| RuntimeError::path("move_mount (idmapped)", dest, e))
}
