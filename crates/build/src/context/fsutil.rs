//! Reading a tree through a directory descriptor: every path is resolved with
//! openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) below the root, so a symlink or `..`
//! in the tree (a context's, or another stage's rootfs) never reaches the host's files.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::ContextError;

/// The kind of a tree entry (sockets are never listed: nothing copies them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Char,
    Block,
    Socket,
}

/// An entry's metadata as a tar header needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub kind: Kind,
    /// `st_mode`: file type bits and permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub link: Option<String>,
}

impl Meta {
    /// Permission bits with setuid/setgid/sticky.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

#[allow(clippy::unnecessary_cast)] // the stat field types differ between architectures
fn meta_of(st: &rustix::fs::Stat) -> Meta {
    let mode = st.st_mode as u32;
    let kind = match mode & 0o170000 {
        0o040000 => Kind::Dir,
        0o120000 => Kind::Symlink,
        0o010000 => Kind::Fifo,
        0o020000 => Kind::Char,
        0o060000 => Kind::Block,
        0o140000 => Kind::Socket,
        _ => Kind::File,
    };
    let rdev = st.st_rdev as u64;
    let devs = matches!(kind, Kind::Char | Kind::Block);
    Meta {
        kind,
        mode,
        uid: st.st_uid as u32,
        gid: st.st_gid as u32,
        size: if kind == Kind::File {
            st.st_size.max(0) as u64
        } else {
            0
        },
        mtime: st.st_mtime as i64,
        dev_major: if devs { rustix::fs::major(rdev) } else { 0 },
        dev_minor: if devs { rustix::fs::minor(rdev) } else { 0 },
        link: None,
    }
}

/// A directory that paths are resolved in.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

fn rel_or_dot(rel: &str) -> &str {
    if rel.is_empty() {
        "."
    } else {
        rel
    }
}

impl Root {
    pub fn open(path: &Path) -> Result<Root, ContextError> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ContextError::io("opening the root", path)(e.into()))?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The host path of `rel`, for error messages only.
    pub fn show(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn openat2(&self, rel: &str, flags: OFlags) -> io::Result<OwnedFd> {
        loop {
            match rustix::fs::openat2(
                &self.fd,
                rel_or_dot(rel),
                flags | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                r => return r.map_err(io::Error::from),
            }
        }
    }

    /// Opens the regular file `rel` for reading; a symlink as its last component is refused
    /// (callers resolve symlinks first).
    pub fn open_file(&self, rel: &str) -> io::Result<File> {
        self.openat2(rel, OFlags::RDONLY | OFlags::NOFOLLOW)
            .map(File::from)
    }

    /// lstat of `rel`: the last component is not followed.
    pub fn lstat(&self, rel: &str) -> io::Result<Meta> {
        let (parent, leaf) = split(rel);
        let dir = self.openat2(parent, OFlags::PATH | OFlags::DIRECTORY)?;
        let st = match leaf {
            None => rustix::fs::fstat(&dir)?,
            Some(leaf) => rustix::fs::statat(&dir, leaf, AtFlags::SYMLINK_NOFOLLOW)?,
        };
        let mut meta = meta_of(&st);
        if meta.kind == Kind::Symlink {
            if let Some(leaf) = leaf {
                let target = rustix::fs::readlinkat(&dir, leaf, Vec::new())?;
                meta.link = Some(utf8(target.as_c_str())?);
            }
        }
        Ok(meta)
    }

    /// The names in directory `rel`, sorted bytewise as Go's filepath.Walk visits them.
    pub fn list(&self, rel: &str) -> io::Result<Vec<String>> {
        let fd = self.openat2(rel, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(fd.as_fd())? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            names.push(utf8(name)?);
        }
        names.sort();
        Ok(names)
    }
}

fn utf8(name: &CStr) -> io::Result<String> {
    name.to_str().map(str::to_string).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file name {name:?} is not UTF-8"),
        )
    })
}

/// `a/b/c` → (`a/b`, Some(`c`)); `` → (``, None).
pub(crate) fn split(rel: &str) -> (&str, Option<&str>) {
    if rel.is_empty() {
        return ("", None);
    }
    match rel.rsplit_once('/') {
        Some((p, l)) => (p, Some(l)),
        None => ("", Some(rel)),
    }
}

/// `a` + `b` with a '/' unless `a` is the root.
pub(crate) fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// Whether an io error says the path is not there (or goes through a non-directory).
pub(crate) fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(c) if c == Errno::NOENT.raw_os_error() || c == Errno::NOTDIR.raw_os_error()
    )
}
