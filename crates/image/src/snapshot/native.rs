//! The native (copying) snapshotter: every snapshot holds its whole tree, made by copying
//! its parent's. It works on any filesystem that keeps ownership, modes and xattrs, at the
//! cost of a full copy per prepare; it is the fallback where overlayfs cannot be mounted.
//!
//! Layers are applied with `apply_layer`, which writes overlay whiteouts. There is no option
//! there to delete instead, so a post-pass over the snapshot turns them into what they mean
//! in a merged tree:
//! - a 0/0 character device is a whiteout: `apply_layer` has already removed the path it
//!   hides, so the device itself is deleted;
//! - `trusted.overlay.opaque=y` on a directory: `apply_layer` has already removed what the
//!   layer did not put there (everything from below), so the attribute is removed.
//!
//! Consequences: a real 0/0 character device in a layer is treated as a whiteout, as overlay
//! would; a whiteout under a directory that no lower layer has leaves that (empty) directory
//! behind, because `apply_layer` creates the parents of a whiteout.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Stat, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;

use super::{Core, Created, Info, Kind, MountSpec, Result, SnapshotError, Snapshotter, Usage};
use crate::fsat::{list_dir, open_dir, proc_path, OPAQUE_XATTR};
use crate::unpack::{UnpackOptions, UnpackSummary};

/// Snapshots as full copies. See the module documentation of [`crate::snapshot`].
#[derive(Debug)]
pub struct NativeSnapshotter {
    core: Core,
}

impl NativeSnapshotter {
    /// Opens (creating if needed) a native snapshotter rooted at `root`, and deletes snapshot
    /// directories left over by a crash.
    pub fn open(root: &Path) -> Result<Self> {
        Ok(NativeSnapshotter {
            core: Core::open(root, false)?,
        })
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Vec<MountSpec>> {
        let Created { id, chain } = self.core.create(key, parent, kind)?;
        // The record exists, so the parent cannot be removed while it is copied; the copy
        // runs outside the index lock because it can take long.
        if let Some(parent_id) = chain.first() {
            let copied = copy_tree(
                &self.core.meta.fs_dir(*parent_id),
                &self.core.meta.fs_dir(id),
            );
            if let Err(source) = copied {
                let _ = self.core.remove(key);
                return Err(SnapshotError::Snapshot {
                    key: key.to_string(),
                    what: "copying the parent's tree",
                    source,
                });
            }
        }
        Ok(self.mounts_of(id, kind))
    }

    fn mounts_of(&self, id: u64, kind: Kind) -> Vec<MountSpec> {
        vec![MountSpec::bind(
            &self.core.meta.fs_dir(id),
            kind != Kind::Active,
        )]
    }
}

impl Snapshotter for NativeSnapshotter {
    fn name(&self) -> &'static str {
        "native"
    }

    fn root(&self) -> &Path {
        &self.core.meta.root
    }

    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>> {
        self.create(key, parent, Kind::Active)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>> {
        self.create(key, parent, Kind::View)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        self.core.commit(name, key)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.core.remove(key)
    }

    fn mounts(&self, key: &str) -> Result<Vec<MountSpec>> {
        let (rec, _) = self.core.lookup(key)?;
        Ok(self.mounts_of(rec.id, rec.kind))
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.core.stat(key)
    }

    fn list(&self) -> Result<Vec<Info>> {
        self.core.list()
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        self.core.usage(key)
    }

    fn apply_layer(
        &self,
        key: &str,
        tar: &mut dyn Read,
        opts: &UnpackOptions,
    ) -> Result<UnpackSummary> {
        let dir = self.core.active_dir(key)?;
        let summary = crate::unpack::apply_layer(tar, &dir, opts).map_err(|source| {
            SnapshotError::Unpack {
                key: key.to_string(),
                source,
            }
        })?;
        resolve_whiteouts(&dir).map_err(|source| SnapshotError::Snapshot {
            key: key.to_string(),
            what: "resolving whiteouts",
            source,
        })?;
        Ok(summary)
    }

    fn cleanup(&self) -> Result<()> {
        self.core.cleanup()
    }
}

/// Deletes whiteout devices and drops opaque markers below `dir` (see the module docs).
fn resolve_whiteouts(dir: &Path) -> io::Result<()> {
    let root = open_dir(rustix::fs::CWD, dir.as_os_str())?;
    resolve_in(root.as_fd())
}

fn resolve_in(dir: BorrowedFd<'_>) -> io::Result<()> {
    match rustix::fs::fremovexattr(dir, OPAQUE_XATTR) {
        Ok(()) | Err(Errno::NODATA) => {}
        Err(e) => return Err(e.into()),
    }
    for name in list_dir(dir)? {
        let st = rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::CharacterDevice if st.st_rdev == 0 => {
                rustix::fs::unlinkat(dir, &name, AtFlags::empty())?;
            }
            FileType::Directory => {
                let sub = open_dir(dir, &name)?;
                resolve_in(sub.as_fd())?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Copies the tree `src` into the existing empty directory `dst`: file types (regular,
/// directory, symlink, fifo, socket, devices), contents, ownership, modes (set after
/// ownership, which clears setuid bits), xattrs (after ownership, which drops
/// `security.capability`), times, and hard links among the copied files. Nothing is followed.
pub(super) fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let s = open_dir(rustix::fs::CWD, src.as_os_str())?;
    let d = open_dir(rustix::fs::CWD, dst.as_os_str())?;
    let mut copier = Copier {
        dst_root: d.try_clone()?,
        links: HashMap::new(),
    };
    copier.copy_dir(s.as_fd(), d.as_fd(), &mut Vec::new())?;
    let st = rustix::fs::fstat(&s)?;
    copy_meta(s.as_fd(), d.as_fd(), &st)?;
    rustix::fs::futimens(&d, &times(&st))?;
    Ok(())
}

struct Copier {
    dst_root: OwnedFd,
    /// (dev, ino) of a multiply-linked source file → its first copy, relative to dst_root.
    links: HashMap<(u64, u64), OsString>,
}

impl Copier {
    fn copy_dir(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        rel: &mut Vec<OsString>,
    ) -> io::Result<()> {
        for name in list_dir(src)? {
            let st = rustix::fs::statat(src, &name, AtFlags::SYMLINK_NOFOLLOW)?;
            let kind = FileType::from_raw_mode(st.st_mode);
            rel.push(name.clone());
            let r = self.copy_entry(src, dst, &name, &st, kind, rel);
            rel.pop();
            r?;
        }
        Ok(())
    }

    fn copy_entry(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &OsStr,
        st: &Stat,
        kind: FileType,
        rel: &mut Vec<OsString>,
    ) -> io::Result<()> {
        if kind != FileType::Directory && st.st_nlink > 1 {
            let id = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&id) {
                rustix::fs::linkat(&self.dst_root, first, dst, name, AtFlags::empty())?;
                return Ok(());
            }
            self.links.insert(id, join(rel));
        }
        match kind {
            FileType::Directory => {
                rustix::fs::mkdirat(dst, name, Mode::from_raw_mode(0o700))?;
                let s = open_dir(src, name)?;
                let d = open_dir(dst, name)?;
                self.copy_dir(s.as_fd(), d.as_fd(), rel)?;
                copy_meta(s.as_fd(), d.as_fd(), st)?;
                // Last: creating the children changed the directory's mtime.
                rustix::fs::futimens(&d, &times(st))?;
            }
            FileType::RegularFile => {
                let s = rustix::fs::openat(
                    src,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                let d = rustix::fs::openat(
                    dst,
                    name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )?;
                let (mut sf, mut df) = (File::from(s), File::from(d));
                // File to file: std uses copy_file_range, so reflinks and server-side copies
                // happen where the filesystem offers them.
                io::copy(&mut sf, &mut df)?;
                copy_meta(sf.as_fd(), df.as_fd(), st)?;
                rustix::fs::futimens(&df, &times(st))?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(src, name, Vec::new())?;
                rustix::fs::symlinkat(target.as_c_str(), dst, name)?;
                self.node_meta(src, dst, name, st, true)?;
            }
            FileType::Fifo
            | FileType::Socket
            | FileType::CharacterDevice
            | FileType::BlockDevice => {
                rustix::fs::mknodat(dst, name, kind, Mode::from_raw_mode(0o600), st.st_rdev)?;
                self.node_meta(src, dst, name, st, false)?;
            }
            FileType::Unknown => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{:?}: unknown file type", join(rel)),
                ))
            }
        }
        Ok(())
    }

    /// Metadata of a node that cannot be opened for I/O (symlink, device, fifo, socket):
    /// through its parent's fd and `/proc/self/fd`, never following the name itself.
    fn node_meta(
        &self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &OsStr,
        st: &Stat,
        symlink: bool,
    ) -> io::Result<()> {
        rustix::fs::chownat(
            dst,
            name,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
        if !symlink {
            rustix::fs::chmodat(dst, name, mode_of(st), AtFlags::empty())?;
        }
        let sp = proc_path(src, name);
        let dp = proc_path(dst, name);
        for (k, v) in list_xattrs(
            |buf| rustix::fs::llistxattr(&sp, buf),
            |n, buf| rustix::fs::lgetxattr(&sp, n, buf),
        )? {
            rustix::fs::lsetxattr(&dp, k.as_slice(), &v, XattrFlags::empty())?;
        }
        rustix::fs::utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(())
    }
}

/// Ownership, mode and xattrs of an open file or directory.
fn copy_meta(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, st: &Stat) -> io::Result<()> {
    rustix::fs::fchown(
        dst,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    rustix::fs::fchmod(dst, mode_of(st))?;
    for (k, v) in list_xattrs(
        |buf| rustix::fs::flistxattr(src, buf),
        |n, buf| rustix::fs::fgetxattr(src, n, buf),
    )? {
        rustix::fs::fsetxattr(dst, k.as_slice(), &v, XattrFlags::empty())?;
    }
    Ok(())
}

/// Every xattr (name, value) through the given list/get calls, growing buffers on ERANGE
/// (the set can change between the size query and the read).
fn list_xattrs(
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&OsStr, &mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let names = read_grow(|buf| list(buf))?;
    let mut out = Vec::new();
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        match read_grow(|buf| get(OsStr::from_bytes(name), buf)) {
            Ok(v) => out.push((name.to_vec(), v)),
            // Removed since it was listed.
            Err(e) if e.raw_os_error() == Some(Errno::NODATA.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn read_grow(f: impl Fn(&mut [u8]) -> rustix::io::Result<usize>) -> io::Result<Vec<u8>> {
    let mut size = 256;
    loop {
        let mut buf = vec![0u8; size];
        match f(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) if size < 1 << 20 => size *= 4,
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
}

fn mode_of(st: &Stat) -> Mode {
    Mode::from_raw_mode(st.st_mode & 0o7777)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

fn join(rel: &[OsString]) -> OsString {
    let mut out = OsString::new();
    for (i, c) in rel.iter().enumerate() {
        if i > 0 {
            out.push("/");
        }
        out.push(c);
    }
    out
}
