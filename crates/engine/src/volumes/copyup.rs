//! Docker's copy-up: a new, empty volume mounted where the image has content gets a copy of
//! that content (owners, modes, links) before the container first runs, unless `nocopy`.
//! The image's directory is reached inside the mounted rootfs with RESOLVE_IN_ROOT, so a
//! symlink in the rootfs cannot point the copy at the host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// Whether a directory has no entries (a missing one counts as empty).
pub fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut rd| rd.next().is_none())
}

/// Copies the rootfs's `dest` (a directory) into `volume`; nothing when `dest` is missing
/// or not a directory.
pub fn copy_up(rootfs: &Path, dest: &str, volume: &Path) -> std::io::Result<()> {
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = dest.trim_start_matches('/');
    if rel.is_empty() {
        return Ok(());
    }
    let fd = match rustix::fs::openat2(
        &root,
        rel,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    use std::os::fd::AsRawFd;
    let src = std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let meta = std::fs::metadata(&src)?;
    copy_tree(&src, volume)?;
    set_owner_mode(volume, &meta)
}

fn set_owner_mode(p: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    std::os::unix::fs::lchown(p, Some(meta.uid()), Some(meta.gid()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let meta = std::fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&to)?;
            copy_tree(&from, &to)?;
            set_owner_mode(&to, &meta)?;
        } else if ft.is_file() {
            std::fs::copy(&from, &to)?;
            set_owner_mode(&to, &meta)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
            std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()))?;
        }
        // Devices, fifos and sockets of an image are not copied (rare in a VOLUME path).
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_tree_and_stays_in_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/sub/f"), b"hi").unwrap();
        std::os::unix::fs::symlink("sub/f", root.join("data/l")).unwrap();
        // A link climbing out resolves inside the root: nothing of the host is copied.
        std::os::unix::fs::symlink("/../../../etc", root.join("evil")).unwrap();
        let vol = d.path().join("vol");
        std::fs::create_dir(&vol).unwrap();
        assert!(is_empty(&vol));
        copy_up(&root, "/data", &vol).unwrap();
        assert_eq!(std::fs::read(vol.join("sub/f")).unwrap(), b"hi");
        assert_eq!(
            std::fs::read_link(vol.join("l")).unwrap(),
            Path::new("sub/f")
        );
        let vol2 = d.path().join("vol2");
        std::fs::create_dir(&vol2).unwrap();
        copy_up(&root, "/evil", &vol2).unwrap();
        assert!(is_empty(&vol2));
        copy_up(&root, "/missing", &vol2).unwrap();
    }
}
