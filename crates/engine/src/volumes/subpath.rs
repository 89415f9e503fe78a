//! The host side of two mount sources that only exist once a container starts: a
//! `volume-subpath` (the directory inside the volume, opened without following any symlink
//! and bound onto a private path in the container's bundle, so that a container writing to
//! the volume cannot swap it for a link to the host between the check and the mount, as
//! moby's safepath does), and a `-v` host directory that dockerd makes when it is missing.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::mount::UnmountFlags;

use super::VolumeError;

/// The bundle's directory of subpath binds.
pub const DIR: &str = "volume-subpaths";

/// `-v /missing:/x`: dockerd's `MkdirAll(source, 0755)` at start.
pub fn create_bind_source(source: &str) -> Result<(), VolumeError> {
    use std::os::unix::fs::DirBuilderExt;
    if Path::new(source).exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(source)
        .map_err(|e| {
            VolumeError::Mount(format!(
                "error while creating mount source path '{source}': {e}"
            ))
        })
}

/// Binds `data/subpath` onto `dir/<index>` and returns that path.
pub fn bind_subpath(
    data: &Path,
    subpath: &str,
    dir: &Path,
    index: usize,
) -> Result<PathBuf, VolumeError> {
    let full = data.join(subpath);
    let no_access = |e: std::io::Error| {
        VolumeError::Mount(format!("cannot access path {}: {e}", full.display()))
    };
    let root = rustix::fs::open(
        data,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| no_access(e.into()))?;
    let fd = rustix::fs::openat2(
        root.as_fd(),
        subpath,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| no_access(e.into()))?;
    let is_dir = rustix::fs::fstat(&fd)
        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
        .map_err(|e| no_access(e.into()))?;
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| VolumeError::Io { what, path, source }
    };
    crate::fsutil::create_private_dir(dir).map_err(io("creating", dir))?;
    let target = dir.join(index.to_string());
    let _ = rustix::mount::unmount(&target, UnmountFlags::DETACH);
    if is_dir {
        match std::fs::create_dir(&target) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(io("creating", &target)(e))
            }
            _ => {}
        }
    } else {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&target)
            .map_err(io("creating", &target))?;
    }
    let proc = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    rustix::mount::mount_bind(proc.as_str(), &target).map_err(|e| {
        VolumeError::Mount(format!(
            "error while mounting volume subpath {}: {e}",
            full.display()
        ))
    })?;
    Ok(target)
}

/// Undoes every subpath bind of a container (at its exit, or a failed start).
pub fn unbind_all(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let _ = rustix::mount::unmount(&p, UnmountFlags::DETACH);
        let _ = std::fs::remove_dir(&p).or_else(|_| std::fs::remove_file(&p));
    }
    let _ = std::fs::remove_dir(dir);
}
