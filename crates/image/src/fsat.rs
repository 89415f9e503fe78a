//! Directory-fd helpers shared by the tree walkers (unpacking, snapshots, diffs, tar
//! writers): every name is resolved relative to an open directory and never followed if it
//! is a symlink.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use rustix::fs::{Mode, OFlags};

/// The xattr that marks an overlay directory opaque (`y`): nothing below it shows through.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Opens the directory `dir/name`, failing (`ENOTDIR`/`ELOOP`) if `name` is not one or is a
/// symlink.
pub(crate) fn open_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
}

/// Names in a directory, `.` and `..` excluded, in the order the directory gives them.
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name));
        }
    }
    Ok(names)
}

/// `/proc/self/fd/<dir>/<name>`: a path to `name` that the `l*xattr` calls do not follow,
/// reached without resolving any other name again.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> OsString {
    let mut path = OsString::from(format!("/proc/self/fd/{}/", dir.as_raw_fd()));
    path.push(name);
    path
}
