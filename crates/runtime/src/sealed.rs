//! Protection of the runtime binary against being overwritten from inside a container
//! (CVE-2019-5736). Before entering a container the runtime re-executes itself through a
//! read-only view of its own binary, so that `/proc/PID/exe` of any runtime process a
//! container can see resolves to a file it cannot open for writing.
//!
//! The cheap way is a detached read-only bind mount of the binary (open_tree + mount_setattr:
//! no temporary file, no mount in any namespace); where that is not possible (no
//! CAP_SYS_ADMIN, old kernel) a sealed memfd copy is used.
//! Nothing is done when the binary already lives on a read-only mount.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Result, RuntimeError};
use crate::sys;

/// True if the running executable cannot be written: on a read-only mount, or a sealed memfd.
pub fn is_protected() -> bool {
    if sys::statvfs_flags(c"/proc/self/exe").is_ok_and(|f| f & libc::ST_RDONLY != 0) {
        return true;
    }
    let Ok(f) = File::open("/proc/self/exe") else {
        return false;
    };
    match sys::get_seals(f.as_fd()) {
        Ok(seals) => {
            let need =
                libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
            seals & need == need
        }
        Err(_) => false,
    }
}

/// Re-executes the current process from a protected view of its binary, unless it already
/// runs from one. Returns only if already protected, or with an error.
pub fn ensure_sealed() -> Result<()> {
    if is_protected() {
        return Ok(());
    }
    let fd = match ro_bind_view() {
        Ok(fd) => fd,
        Err(_) => memfd_copy()?,
    };
    let argv: Vec<CString> = std::env::args_os()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let err = sys::execveat_fd(fd.as_fd(), &argv, &envp);
    Err(RuntimeError::sys(
        "re-execute from a read-only view of the runtime binary",
        err,
    ))
}

/// A detached, read-only bind mount of the binary itself (open_tree of /proc/self/exe, then
/// mount_setattr RDONLY): executing through it leaves nothing in any filesystem or mount table,
/// and the mount lives exactly as long as something executes from it.
fn ro_bind_view() -> std::io::Result<OwnedFd> {
    readonly_view(std::path::Path::new("/proc/self/exe"))
}

/// A detached, read-only bind mount of the file at `path`, as an fd to execute through
/// (`/proc/self/fd/N`): a process started that way is protected from its first instruction
/// and [`ensure_sealed`] has nothing to do. The daemon makes one of the supervisor's binary
/// once, instead of each supervisor re-executing itself.
pub fn readonly_view(path: &std::path::Path) -> std::io::Result<OwnedFd> {
    use rustix::mount::OpenTreeFlags;
    let tree = rustix::mount::open_tree(
        rustix::fs::CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )?;
    sys::mount_setattr_fd(tree.as_fd(), libc::MOUNT_ATTR_RDONLY, 0)?;
    Ok(tree)
}

fn memfd_copy() -> Result<OwnedFd> {
    let mut exe = File::open("/proc/self/exe")
        .map_err(|e| RuntimeError::path("open", "/proc/self/exe", e))?;
    let memfd =
        sys::memfd_create(c"muelle-runtime").map_err(|e| RuntimeError::sys("memfd_create", e))?;
    let mut out = File::from(memfd);
    std::io::copy(&mut exe, &mut out)
        .map_err(|e| RuntimeError::sys("copy runtime binary to memfd", e))?;
    sys::seal_all(out.as_fd()).map_err(|e| RuntimeError::sys("seal runtime binary copy", e))?;
    Ok(OwnedFd::from(out))
}
