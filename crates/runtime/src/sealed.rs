//! Protection of the runtime binary against being overwritten from inside a container
//! (CVE-2019-5736). Before entering a container the runtime re-executes itself through a
//! read-only view of its own binary, so that `/proc/PID/exe` of any runtime process a
//! container can see resolves to a file it cannot open for writing.
//!
//! The cheap way (as crun does) is a read-only bind mount of the binary, detached right after
//! it is opened; where mounting is not possible (no CAP_SYS_ADMIN) a sealed memfd copy is used.
//! Nothing is done when the binary already lives on a read-only mount.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};

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

/// Binds /proc/self/exe read-only onto a temporary file, opens it, and detaches the mount:
/// the fd keeps the read-only mount alive and nothing is left in the filesystem.
fn ro_bind_view() -> std::io::Result<OwnedFd> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(".muelle-runtime-exe.{}", std::process::id()));
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("NUL in temp path"))?;
    drop(rustix::fs::open(
        &path,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?);
    let result = (|| {
        sys::mount(Some(c"/proc/self/exe"), &cpath, None, libc::MS_BIND, None)?;
        let r = sys::mount(
            None,
            &cpath,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .and_then(|()| {
            Ok(rustix::fs::open(
                &path,
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )?)
        });
        let _ = sys::umount2(&cpath, libc::MNT_DETACH);
        r
    })();
    let _ = std::fs::remove_file(&path);
    result
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
