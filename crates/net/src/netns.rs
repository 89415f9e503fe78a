//! Network namespace files: a namespace bind-mounted on a path (what `ip netns add` makes), so
//! it lives on without any process in it and is found again after a daemon restart, and running
//! code on a thread that has entered one.
//!
//! Namespaces are only ever entered by threads made for the purpose: `setns` and `unshare` of
//! the network namespace change the calling thread alone, so the daemon's own threads (and the
//! caller's) stay in the host namespace whatever happens in here.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::mount::{MountPropagationFlags, UnmountFlags};
use rustix::thread::LinkNameSpaceType;

use crate::{NetError, Result};

/// The calling thread's own network namespace file (`self` would be the thread group
/// leader's, which is not the thread that unshared).
const THREAD_NET_NS: &str = "/proc/thread-self/ns/net";

/// A fresh network namespace bind-mounted at `path` (parent dirs created, 0700), with `lo` up.
///
/// A file already at `path` is a `Conflict`: a namespace is never silently replaced (a stale
/// file left by a crash is the caller's to [`remove`] first).
pub fn create(path: &Path) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| NetError::Invalid(format!("netns path {} has no parent", path.display())))?;
    prepare_dir(parent)?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                NetError::Conflict(format!(
                    "network namespace file {} already exists",
                    path.display()
                ))
            } else {
                io_err(
                    format!("create network namespace file {}", path.display()),
                    e,
                )
            }
        })?;
    let owned = path.to_path_buf();
    let made = std::thread::Builder::new()
        .name("netns-create".into())
        .spawn(move || new_ns_on(&owned))
        .map_err(|e| io_err("spawn the thread that makes a network namespace".into(), e))?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    if let Err(e) = made {
        // Best effort: what failed is reported, not a second failure while undoing it.
        let _ = remove(path);
        return Err(e);
    }
    Ok(())
}

/// Unmount (lazy) and unlink; Ok if absent.
pub fn remove(path: &Path) -> Result<()> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        // EINVAL: not a mount point (a file left half-made), still to unlink.
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => {
            return Err(io_err(
                format!("unmount network namespace {}", path.display()),
                e.into(),
            ));
        }
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(
            format!("remove network namespace file {}", path.display()),
            e,
        )),
        _ => Ok(()),
    }
}

/// Run `f` on a new thread that has entered the namespace at `path`; returns f's value.
/// (The calling thread's namespace never changes.) A panic in `f` is resumed on the caller.
pub fn run_in<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    // Opened here so that a missing namespace is an error of the caller's thread, before any
    // thread exists.
    let ns = std::fs::File::open(path)
        .map_err(|e| io_err(format!("open network namespace {}", path.display()), e))?;
    let shown = path.display().to_string();
    std::thread::Builder::new()
        .name("netns-run".into())
        .spawn(move || {
            rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
                .map_err(|e| io_err(format!("enter network namespace {shown}"), e.into()))?;
            drop(ns);
            Ok(f())
        })
        .map_err(|e| io_err("spawn a thread to enter a network namespace".into(), e))?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Make `dir` (the directory of namespace files) exist, 0700, and a private mount point.
///
/// Private, because a bind mount of an nsfs file onto a shared mount propagates to every peer
/// and slave mount namespace (systemd mounts `/` and `/run` shared, and each service with a
/// private /tmp or a protected /run holds a slave copy): those copies would keep the namespace
/// alive after [`remove`]. `ip netns` answers it the same way, with its directory a bind mount
/// of itself. Idempotent: once `dir` is a mount point, only its propagation is (re)set.
fn prepare_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err(format!("create directory {}", dir.display()), e))?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))
        .map_err(|e| io_err(format!("make {} mode 0700", dir.display()), e))?;
    let private = MountPropagationFlags::PRIVATE;
    match rustix::mount::mount_change(dir, private) {
        Ok(()) => return Ok(()),
        // EINVAL: `dir` is not a mount point yet.
        Err(rustix::io::Errno::INVAL) => {}
        Err(e) => {
            return Err(io_err(
                format!("make {} a private mount", dir.display()),
                e.into(),
            ));
        }
    }
    rustix::mount::mount_bind(dir, dir)
        .map_err(|e| io_err(format!("bind-mount {} on itself", dir.display()), e.into()))?;
    rustix::mount::mount_change(dir, private)
        .map_err(|e| io_err(format!("make {} a private mount", dir.display()), e.into()))
}

/// On a thread of its own: a new network namespace, pinned on `path` by a bind mount, with
/// `lo` up. The thread then ends, leaving the mount as the namespace's only holder.
fn new_ns_on(path: &Path) -> Result<()> {
    muelle_runtime::sys::unshare_net_thread()
        .map_err(|e| io_err("unshare the network namespace".into(), e))?;
    rustix::mount::mount_bind(THREAD_NET_NS, path).map_err(|e| {
        io_err(
            format!("bind-mount the new network namespace on {}", path.display()),
            e.into(),
        )
    })?;
    crate::link::loopback_up()
}

fn io_err(what: String, source: io::Error) -> NetError {
    NetError::Io { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_without_parent_is_invalid() {
        assert!(matches!(create(Path::new("ns")), Err(NetError::Invalid(_))));
    }

    #[test]
    fn removing_what_is_absent_is_ok() {
        let dir = std::env::temp_dir().join(format!("muelle-netns-absent-{}", std::process::id()));
        assert!(remove(&dir.join("nothing")).is_ok());
    }

    #[test]
    fn running_in_an_absent_namespace_names_it() {
        let err = run_in(Path::new("/nonexistent/muelle-ns"), || ()).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("/nonexistent/muelle-ns"), "{text}");
    }
}
