//! The cgroup filesystem inside the container: what a spec `cgroup`/`cgroup2` mount becomes.
//!
//! As runc makes it. cgroup v1: a tmpfs holding one bind per hierarchy of the container's own
//! cgroup directory (so `memory/memory.limit_in_bytes` is the container's limit), co-mounted
//! controllers under their joint name with a symlink per controller ("cpu" → "cpu,cpuacct"),
//! named hierarchies (name=systemd) too; all read-only unless the mount is "rw"
//! (`--privileged`). cgroup v2: a cgroup2 mount, which inside a cgroup namespace shows the
//! namespace's root; without one, a bind of the container's directory, so the host's
//! hierarchy stays hidden.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Mount;

use crate::cgroups::{CgroupVersion, Manager};
use crate::error::{Result, RuntimeError};
use crate::rootfs::{cpath, cstr, mount_err, remount_bind, reopen, ParsedOptions, RootfsContext};
use crate::safepath::{mkdir_all_in_root, proc_fd_path};
use crate::sys;

/// Mounts the container's cgroup filesystem at the mount's destination.
pub(crate) fn mount_cgroup(
    ctx: &RootfsContext<'_>,
    root: &OwnedFd,
    m: &Mount,
    opts: &ParsedOptions,
) -> Result<()> {
    let dest = m.destination();
    let flags = Flags {
        ro: opts.flags & libc::MS_RDONLY,
        base: opts.flags & (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC),
    };
    let target = mkdir_all_in_root(root.as_fd(), dest, 0o755)
        .map_err(|e| RuntimeError::path("create mount point", dest, e))?;
    let Some(mgr) = ctx.cgroup else {
        return Ok(());
    };
    let tpath = cstr(&proc_fd_path(&target))?;
    match mgr.version() {
        CgroupVersion::V2 => mount_v2(ctx, root, mgr, dest, &tpath, flags),
        CgroupVersion::V1 => mount_v1(root, mgr, dest, &tpath, flags),
    }
}

#[derive(Clone, Copy)]
struct Flags {
    ro: libc::c_ulong,
    base: libc::c_ulong,
}

fn mount_v2(
    ctx: &RootfsContext<'_>,
    root: &OwnedFd,
    mgr: &Manager,
    dest: &Path,
    tpath: &std::ffi::CStr,
    f: Flags,
) -> Result<()> {
    if ctx.cgroupns {
        return sys::mount(
            Some(c"cgroup2"),
            tpath,
            Some(c"cgroup2"),
            f.base | f.ro,
            None,
        )
        .map_err(|e| mount_err(dest, "cgroup2", e));
    }
    let Some(p) = mgr.path_for("") else {
        return Ok(());
    };
    let src = cpath(&p)?;
    sys::mount(Some(&src), tpath, None, libc::MS_BIND, None)
        .map_err(|e| mount_err(dest, "cgroup2 bind", e))?;
    if f.ro != 0 {
        remount_bind(root, dest, f.ro | f.base)?;
    }
    Ok(())
}

fn mount_v1(
    root: &OwnedFd,
    mgr: &Manager,
    dest: &Path,
    tpath: &std::ffi::CStr,
    f: Flags,
) -> Result<()> {
    sys::mount(
        Some(c"tmpfs"),
        tpath,
        Some(c"tmpfs"),
        f.base,
        Some(c"mode=755"),
    )
    .map_err(|e| mount_err(dest, "cgroup tmpfs", e))?;
    let hierarchies = mgr.v1_hierarchies();
    for h in &hierarchies {
        if !h.dir.exists() {
            continue;
        }
        let sub = dest.join(&h.name);
        let t = mkdir_all_in_root(root.as_fd(), &sub, 0o755)
            .map_err(|e| RuntimeError::path("create mount point", &sub, e))?;
        let tp = cstr(&proc_fd_path(&t))?;
        let src = cpath(&h.dir)?;
        sys::mount(Some(&src), &tp, None, libc::MS_BIND, None)
            .map_err(|e| mount_err(&sub, "cgroup bind", e))?;
        if f.ro != 0 || f.base != 0 {
            remount_bind(root, &sub, f.ro | f.base)?;
        }
    }
    let dir = mkdir_all_in_root(root.as_fd(), dest, 0o755)
        .map_err(|e| RuntimeError::path("open cgroup tmpfs", dest, e))?;
    for h in hierarchies.iter().filter(|h| h.name.contains(',')) {
        for ctrl in h.name.split(',') {
            match rustix::fs::symlinkat(h.name.as_str(), &dir, ctrl) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(RuntimeError::path("symlink", dest.join(ctrl), e)),
            }
        }
    }
    if f.ro != 0 {
        let t = reopen(root, dest)?;
        sys::mount(
            None,
            &t,
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | f.base,
            None,
        )
        .map_err(|e| mount_err(dest, "cgroup tmpfs read-only", e))?;
    }
    Ok(())
}
