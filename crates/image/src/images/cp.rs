//! `docker cp` on a mounted container rootfs: stat a path, archive it out, extract a tar in.
//!
//! Every path is a path *inside* the container, resolved against the rootfs directory the
//! engine mounted: symlinks are followed as the container would see them (an absolute link
//! target means the container's `/`), with openat2(RESOLVE_IN_ROOT) underneath, so no path
//! given here and no symlink in the container can lead out of the rootfs. Archiving walks
//! the tree through directory fds ([`super::tree`]) and extraction uses the layer unpacker's
//! root-scoped application in its copy mode ([`crate::unpack`]).
//!
//! Docker's semantics ("container/archive.go", `TarResourceRebaseOpts`):
//! - the last component of a path is not followed (a symlink is stat'ed and archived as the
//!   link), unless the path ends in `/` or `/.`;
//! - the archive's top entry is named after the last component of the path as given, even
//!   when a symlink led elsewhere; a path ending in `/.` archives the directory as `.`, so its
//!   entries are `./…` (the *contents* of the directory, in the CLI's terms).

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use serde::Serialize;

use super::{ImageError, Result};
use crate::unpack::{self, CopyInto};

/// How many symlinks one resolution may follow before it is a loop (Linux's limit is 40;
/// Docker's scoped resolver allows 255).
const MAX_SYMLINKS: usize = 255;

/// What `HEAD /containers/{id}/archive` returns, base64 JSON in the
/// `X-Docker-Container-Path-Stat` header: Docker's `ContainerPathStat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathStat {
    /// The last component of the path as given (`/` for the root, `.` for `dir/.`).
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits: permissions plus Go's type and setuid/setgid/sticky bits.
    pub mode: u32,
    /// Modification time, RFC 3339 in UTC with Go's trimmed nanoseconds.
    pub mtime: String,
    /// For a symlink, the absolute path in the container it resolves to; empty otherwise.
    pub link_target: String,
}

/// Go's `os.FileMode` type bits.
mod go_mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;
}

/// A `st_mode` as Go's `os.FileMode` (what Docker serialises as `mode`).
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    if st_mode & 0o4000 != 0 {
        mode |= go_mode::SETUID;
    }
    if st_mode & 0o2000 != 0 {
        mode |= go_mode::SETGID;
    }
    if st_mode & 0o1000 != 0 {
        mode |= go_mode::STICKY;
    }
    mode |= match FileType::from_raw_mode(st_mode) {
        FileType::Directory => go_mode::DIR,
        FileType::Symlink => go_mode::SYMLINK,
        FileType::BlockDevice => go_mode::DEVICE,
        FileType::CharacterDevice => go_mode::DEVICE | go_mode::CHAR_DEVICE,
        FileType::Fifo => go_mode::NAMED_PIPE,
        FileType::Socket => go_mode::SOCKET,
        _ => 0,
    };
    mode
}

/// RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's `time.RFC3339Nano`.
fn go_rfc3339_nano(sec: i64, nsec: i64) -> String {
    let t = if sec >= 0 {
        SystemTime::UNIX_EPOCH + Duration::new(sec as u64, nsec.clamp(0, 999_999_999) as u32)
    } else {
        // Before 1970 is not something a container file claims honestly; clamp.
        SystemTime::UNIX_EPOCH
    };
    muelle_types::time::go_rfc3339_nano(t)
}

/// How a path given to `docker cp` ends, which decides whether its last component is
/// followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trailing {
    None,
    /// `dir/`: follow the last component.
    Slash,
    /// `dir/.`: follow it, and archive the directory as `.`.
    Dot,
}

/// A path in the container: normal components (`..` applied lexically, never above `/`)
/// and how it ended, as Go's `filepath.Join("/", p)` plus Docker's
/// `PreserveTrailingDotOrSeparator`.
fn parse_path(path: &str) -> (Vec<Vec<u8>>, Trailing) {
    let trailing = if path.ends_with("/.") || path == "." {
        Trailing::Dot
    } else if path.ends_with('/') {
        Trailing::Slash
    } else {
        Trailing::None
    };
    let mut comps: Vec<Vec<u8>> = Vec::new();
    for c in path.as_bytes().split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                comps.pop();
            }
            c => comps.push(c.to_vec()),
        }
    }
    (comps, trailing)
}

fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

fn display(comps: &[Vec<u8>]) -> String {
    format!("/{}", String::from_utf8_lossy(&join(comps)))
}

fn io_err(path: &str) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::RootfsIo {
        path: path.to_string(),
        source,
    }
}

fn open_root(root: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ImageError::RootfsIo {
        path: root.display().to_string(),
        source: e.into(),
    })
}

/// Opens `rel` (components joined) inside `root`; `..` and symlinks cannot leave it.
fn open_in(root: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let path = if rel.is_empty() { b".".as_slice() } else { rel };
    loop {
        match rustix::fs::openat2(
            root,
            os(path),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            r => return r,
        }
    }
}

/// Resolves every symlink in `comps` as the container sees it (Docker's
/// `FollowSymlinkInScope`): an absolute target restarts at the root, `..` never climbs
/// above it, and a missing component ends the symlink lookups (the rest is taken as
/// written). Returns the resolved components, which name no symlink at the time of the
/// call; the caller still opens them with RESOLVE_IN_ROOT, so a change in between cannot
/// lead out of the root either.
fn resolve_in_scope(root: BorrowedFd<'_>, comps: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut pending: VecDeque<Vec<u8>> = comps.iter().cloned().collect();
    let mut followed = 0usize;
    let mut missing = false;
    while let Some(c) = pending.pop_front() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        if missing {
            out.push(c);
            continue;
        }
        let parent = match open_in(root, &join(&out), OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => {
                missing = true;
                out.push(c);
                continue;
            }
            Err(e) => return Err(io_err(&display(&out))(e.into())),
        };
        match rustix::fs::readlinkat(&parent, os(&c), Vec::new()) {
            Ok(target) => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(ImageError::RootfsIo {
                        path: display(comps),
                        source: Errno::LOOP.into(),
                    });
                }
                let target = target.into_bytes();
                if target.first() == Some(&b'/') {
                    out.clear();
                }
                let mut next: VecDeque<Vec<u8>> =
                    target.split(|b| *b == b'/').map(<[u8]>::to_vec).collect();
                next.extend(pending.drain(..));
                pending = next;
            }
            // Not a symlink, or not there: taken as it is.
            Err(Errno::INVAL) | Err(Errno::NOENT) | Err(Errno::NOTDIR) => out.push(c),
            Err(e) => {
                out.push(c);
                return Err(io_err(&display(&out))(e.into()));
            }
        }
    }
    Ok(out)
}

/// A path located for stat and archive: its parent directory, opened, and its last
/// component (`.` when the path names the directory itself).
struct Located {
    parent: OwnedFd,
    leaf: Vec<u8>,
    stat: PathStat,
}

fn locate(root: &Path, path: &str) -> Result<Located> {
    let not_found = || ImageError::PathNotFound {
        path: path.to_string(),
    };
    let root_fd = open_root(root)?;
    let (comps, trailing) = parse_path(path);
    let name = match (comps.last(), trailing) {
        (_, Trailing::Dot) => ".".to_string(),
        (None, _) => "/".to_string(),
        (Some(last), _) => String::from_utf8_lossy(last).into_owned(),
    };
    let (dir_comps, leaf): (&[Vec<u8>], Vec<u8>) = match (comps.split_last(), trailing) {
        (Some((last, dir)), Trailing::None) => (dir, last.clone()),
        _ => (&comps[..], b".".to_vec()),
    };
    let dir = resolve_in_scope(root_fd.as_fd(), dir_comps)?;
    let parent = match open_in(
        root_fd.as_fd(),
        &join(&dir),
        OFlags::PATH | OFlags::DIRECTORY,
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Err(not_found()),
        Err(e) => return Err(io_err(path)(e.into())),
    };
    let st = match rustix::fs::statat(&parent, os(&leaf), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Err(not_found()),
        Err(e) => return Err(io_err(path)(e.into())),
    };
    let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        let mut full = dir.clone();
        full.push(leaf.clone());
        display(&resolve_in_scope(root_fd.as_fd(), &full)?)
    } else {
        String::new()
    };
    let stat = PathStat {
        name,
        size: st.st_size,
        mode: go_file_mode(st.st_mode),
        mtime: go_rfc3339_nano(st.st_mtime, st.st_mtime_nsec as i64),
        link_target,
    };
    Ok(Located { parent, leaf, stat })
}

/// `docker cp`'s stat (`HEAD /containers/{id}/archive?path=`): the path inside the mounted
/// rootfs `root`, its last component not followed unless the path ends in `/` or `/.`.
pub fn stat_in_root(root: &Path, path: &str) -> Result<PathStat> {
    locate(root, path).map(|l| l.stat)
}

/// `docker cp CONTAINER:path -` (`GET /containers/{id}/archive?path=`): writes a tar of
/// `path` inside `root` to `out`, its top entry named after the path's last component
/// (`.` for `dir/.`, whose entries are then `./…`; the root is archived as `.` too), and
/// returns the stat Docker sends in the `X-Docker-Container-Path-Stat` header.
pub fn archive_from_root(root: &Path, path: &str, out: &mut dyn Write) -> Result<PathStat> {
    let located = locate(root, path)?;
    let mut rename = located.stat.name.clone();
    if rename == "/" {
        rename = ".".into();
    }
    // The parent fd is O_PATH: enough for the *at() calls of the walk. A directory leaf is
    // opened by the walker with O_NOFOLLOW, so a swap after `locate` fails instead of
    // being followed.
    let written =
        super::tree::write_entry_tar(located.parent.as_fd(), os(&located.leaf), &rename, out);
    written.map_err(io_err(path))?;
    Ok(located.stat)
}

/// `docker cp - CONTAINER:dir` (`PUT /containers/{id}/archive?path=`): extracts the
/// uncompressed tar `input` into the directory `dir_path` inside `root`. The directory must
/// exist (symlinks to it are followed in the container's scope). `.wh.` names are plain
/// files here, not whiteouts; entries escaping the directory are refused
/// ([`ImageError::Extract`] with [`crate::unpack::UnpackError::Refused`]), and what was
/// extracted before the refused entry stays, as in Docker. With
/// `no_overwrite_dir_non_dir`, replacing a directory by a non-directory (or the reverse)
/// is refused too.
pub fn extract_into_root(
    root: &Path,
    dir_path: &str,
    input: &mut dyn Read,
    no_overwrite_dir_non_dir: bool,
) -> Result<()> {
    extract_into_root_as(root, dir_path, input, no_overwrite_dir_non_dir, None)
}

/// [`extract_into_root`] with every extracted entry owned by `owner` (uid, gid) instead of
/// the archive's owners: `docker cp -a` into a container with a user.
pub fn extract_into_root_as(
    root: &Path,
    dir_path: &str,
    input: &mut dyn Read,
    no_overwrite_dir_non_dir: bool,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let root_fd = open_root(root)?;
    let (comps, _) = parse_path(dir_path);
    let dest = resolve_in_scope(root_fd.as_fd(), &comps)?;
    let fd = match open_in(root_fd.as_fd(), &join(&dest), OFlags::PATH) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => {
            return Err(ImageError::PathNotFound {
                path: dir_path.to_string(),
            })
        }
        Err(e) => return Err(io_err(dir_path)(e.into())),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| io_err(dir_path)(e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(ImageError::NotADirectory {
            path: dir_path.to_string(),
        });
    }
    drop(fd);
    unpack::extract_copy(
        input,
        root,
        CopyInto {
            dest,
            no_overwrite_dir_non_dir,
            owner,
            ..CopyInto::default()
        },
    )
    .map_err(|source| ImageError::Extract {
        path: dir_path.to_string(),
        source: Box::new(source),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_match_docker() {
        assert_eq!(go_file_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_file_mode(0o100644), 0o644);
        assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o041777), (1 << 31) | (1 << 20) | 0o777);
        assert_eq!(go_file_mode(0o020666), (1 << 26) | (1 << 21) | 0o666);
    }

    #[test]
    fn times_trim_like_go() {
        assert_eq!(go_rfc3339_nano(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            go_rfc3339_nano(951_827_696, 500_000_000),
            "2000-02-29T12:34:56.5Z"
        );
    }

    #[test]
    fn paths_parse_like_docker() {
        let c = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            parse_path("/etc/passwd"),
            (c(&["etc", "passwd"]), Trailing::None)
        );
        assert_eq!(parse_path("etc/"), (c(&["etc"]), Trailing::Slash));
        assert_eq!(parse_path("/etc/."), (c(&["etc"]), Trailing::Dot));
        assert_eq!(parse_path("/../../x"), (c(&["x"]), Trailing::None));
        assert_eq!(parse_path("/"), (c(&[]), Trailing::Slash));
    }
}
