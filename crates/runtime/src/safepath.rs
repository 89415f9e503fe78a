//! Resolving untrusted paths inside a root directory.
//!
//! Every path that comes from a bundle or an image (mount destinations, device paths, masked
//! paths, the process cwd) is opened with openat2(RESOLVE_IN_ROOT): `..` and symlinks are
//! clamped at the root, so nothing outside can be reached, and magic links are refused.
//! Mounting then goes through `/proc/self/fd/N` of the opened target, so a symlink swapped in
//! after the check cannot redirect the mount (the CVE-2021-30465 class).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};

fn resolve() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

fn rel(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => out.push(".."),
            _ => {}
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Opens `path` (absolute or relative, taken as inside `root`) with the given flags.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    loop {
        match openat2(root, rel(path), flags | OFlags::CLOEXEC, mode, resolve()) {
            Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(io::Error::from),
        }
    }
}

/// Opens a directory inside `root` as an O_PATH handle, creating missing components.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    mkdir_all_links(root, path, mode, 0)
}

fn mkdir_all_links(
    root: BorrowedFd<'_>,
    path: &Path,
    mode: u32,
    links: u32,
) -> io::Result<OwnedFd> {
    let dirflags = OFlags::PATH | OFlags::DIRECTORY;
    match open_in_root(root, path, dirflags, Mode::empty()) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    // The parent first (made the same way if it is missing too), then this component in it:
    // usually only the last component is missing, and the walk stays that short.
    let relpath = rel(path);
    let (parent, name) = match (relpath.parent(), relpath.file_name()) {
        (Some(p), Some(n)) if !p.as_os_str().is_empty() => {
            (mkdir_all_links(root, p, mode, links)?, n.to_owned())
        }
        (_, Some(n)) => (
            open_in_root(root, Path::new("."), dirflags, Mode::empty())?,
            n.to_owned(),
        ),
        // ".." at the end: it names an existing directory once its parent exists.
        _ => {
            let p = relpath.parent().unwrap_or(Path::new("."));
            mkdir_all_links(root, p, mode, links)?;
            return open_in_root(root, path, dirflags, Mode::empty());
        }
    };
    match rustix::fs::mkdirat(&parent, name.as_os_str(), Mode::from_raw_mode(mode)) {
        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    match open_in_root(root, path, dirflags, Mode::empty()) {
        Ok(fd) => Ok(fd),
        // A symlink whose target does not exist yet (target resolved inside the root):
        // create the target instead.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let Ok(target) = rustix::fs::readlinkat(&parent, name.as_os_str(), Vec::new()) else {
                return Err(e);
            };
            if links >= 40 {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
            let next = match relpath.parent() {
                Some(dir) if target.is_relative() => dir.join(&target),
                _ => target,
            };
            mkdir_all_links(root, &next, mode, links + 1)
        }
        Err(e) => Err(e),
    }
}

/// Opens (creating if needed) a regular file inside `root` as an O_PATH handle; its parent
/// directories are created too. Used for bind mounts of files and for device nodes.
pub fn create_file_in_root(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    if let Some(parent) = path.parent() {
        mkdir_all_in_root(root, parent, 0o755)?;
    }
    match open_in_root(root, path, OFlags::PATH, Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            drop(open_in_root(
                root,
                path,
                OFlags::CREATE | OFlags::WRONLY,
                Mode::from_raw_mode(0o644),
            )?);
            open_in_root(root, path, OFlags::PATH, Mode::empty())
        }
        Err(e) => Err(e),
    }
}

/// The `/proc/self/fd/N` name of an opened target: the handle to pass to mount(2) so the
/// kernel acts on exactly the inode that was resolved.
pub fn proc_fd_path(fd: &impl AsFd) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// Refuses a destination whose literal path crosses a symlink that climbs above the root
/// with `..` (e.g. `evil -> ../../../etc`). RESOLVE_IN_ROOT would clamp it harmlessly, but such
/// a link is a sign of a hostile bundle or image, and the user is better told than surprised.
pub fn check_no_escaping_symlink(root: BorrowedFd<'_>, path: &Path) -> Result<(), String> {
    let mut depth: i64 = 0;
    let mut cur = PathBuf::new();
    for c in rel(path).components() {
        let name = c.as_os_str();
        if name == ".." {
            depth -= 1;
            cur.pop();
            continue;
        }
        cur.push(name);
        let fd = match open_in_root(root, &cur, OFlags::PATH | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => fd,
            Err(_) => return Ok(()), // missing: created later, inside the root
        };
        let is_link = rustix::fs::fstat(&fd)
            .map(|st| (st.st_mode & libc::S_IFMT) == libc::S_IFLNK)
            .unwrap_or(false);
        if is_link {
            let target = rustix::fs::readlinkat(&fd, "", Vec::new()).map_err(|e| e.to_string())?;
            let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
            if target.is_relative() {
                let mut d = depth;
                for t in target.components() {
                    match t {
                        Component::ParentDir => {
                            d -= 1;
                            if d < 0 {
                                return Err(format!(
                                    "{} is a symlink to {} which points outside the container's rootfs",
                                    Path::new("/").join(&cur).display(),
                                    target.display()
                                ));
                            }
                        }
                        Component::Normal(_) => d += 1,
                        _ => {}
                    }
                }
            }
            // Resolution continues in the kernel from here, scoped to the root.
            return Ok(());
        }
        depth += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, OwnedFd) {
        let d = tempfile::tempdir().expect("tempdir");
        let fd = rustix::fs::open(d.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
            .expect("open");
        (d, fd)
    }

    #[test]
    fn mkdir_all_stays_inside_through_absolute_symlink() {
        let (d, fd) = root();
        let outside = tempfile::tempdir().expect("tempdir");
        symlink(outside.path(), d.path().join("link")).expect("symlink");
        mkdir_all_in_root(fd.as_fd(), Path::new("/link/sub"), 0o755).expect("mkdir");
        assert!(!outside.path().join("sub").exists(), "escaped the root");
        // The absolute target was re-rooted inside the rootfs.
        assert!(d
            .path()
            .join(outside.path().strip_prefix("/").expect("abs"))
            .join("sub")
            .is_dir());
    }

    #[test]
    fn dotdot_is_clamped() {
        let (d, fd) = root();
        mkdir_all_in_root(fd.as_fd(), Path::new("/../../a"), 0o755).expect("mkdir");
        assert!(d.path().join("a").is_dir());
    }

    #[test]
    fn escaping_relative_symlink_is_refused() {
        let (d, fd) = root();
        std::fs::create_dir(d.path().join("etc")).expect("mkdir");
        symlink("../../../../tmp", d.path().join("etc/evil")).expect("symlink");
        let err = check_no_escaping_symlink(fd.as_fd(), Path::new("/etc/evil/x"))
            .expect_err("must refuse");
        assert!(err.contains("/etc/evil"), "{err}");
        symlink("../usr", d.path().join("etc/ok")).expect("symlink");
        check_no_escaping_symlink(fd.as_fd(), Path::new("/etc/ok/x")).expect("inside is fine");
    }

    #[test]
    fn create_file_makes_parents() {
        let (d, fd) = root();
        create_file_in_root(fd.as_fd(), Path::new("/etc/hosts")).expect("create");
        assert!(d.path().join("etc/hosts").is_file());
    }
}
