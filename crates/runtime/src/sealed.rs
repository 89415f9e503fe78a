//! Protection of the runtime binary against being overwritten from inside a container
//! (CVE-2019-5736): before entering a container the runtime re-executes itself from a sealed,
//! anonymous copy of its binary, so `/proc/PID/exe` of any runtime process a container can see
//! points at an immutable memfd, never at the file on the host.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Result, RuntimeError};
use crate::sys;

/// True if the running executable is a fully sealed memfd.
pub fn is_sealed() -> bool {
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

/// Re-executes the current process from a sealed copy of its binary, unless it already runs
/// from one. Returns only if already sealed, or with an error.
pub fn ensure_sealed() -> Result<()> {
    if is_sealed() {
        return Ok(());
    }
    let mut exe = File::open("/proc/self/exe")
        .map_err(|e| RuntimeError::path("open", "/proc/self/exe", e))?;
    let memfd =
        sys::memfd_create(c"muelle-runtime").map_err(|e| RuntimeError::sys("memfd_create", e))?;
    let mut out = File::from(memfd);
    std::io::copy(&mut exe, &mut out)
        .map_err(|e| RuntimeError::sys("copy runtime binary to memfd", e))?;
    sys::seal_all(out.as_fd()).map_err(|e| RuntimeError::sys("seal runtime binary copy", e))?;
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
    let err = sys::execveat_fd(out.as_fd(), &argv, &envp);
    Err(RuntimeError::sys("re-execute from sealed copy", err))
}
