//! Writing a directory tree as a tar stream: `docker export`, `import`'s inverse, the
//! engine's `cp` out of a container, and `commit`'s layer from a container's upper dir.
//!
//! The tree is walked through directory file descriptors: every name is looked at with
//! `fstatat(AT_SYMLINK_NOFOLLOW)` relative to its parent's fd and opened with `O_NOFOLLOW`, so
//! a symlink is archived as a symlink and never followed, and a running container that swaps
//! a directory for a symlink while it is archived (the `docker cp` race, CVE-2018-15664)
//! cannot make the walk read outside the tree. Hard links are kept as links, device nodes and
//! fifos as such, and extended attributes as PAX `SCHILY.xattr.*` records (file capabilities
//! survive an export and import).
//!
//! Extended attributes are read through `/proc/self/fd/<parent>/<name>` with the `l*` calls
//! (the last name is not followed), so /proc must be mounted.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use crate::fsat::{list_dir, open_dir, proc_path, OPAQUE_XATTR};

/// The OCI layer forms of overlay's whiteouts (overlayfs' opaque-directory marker is
/// [`OPAQUE_XATTR`]).
const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

/// How the tree is turned into tar entries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TreeOptions {
    /// The tree is an overlayfs upper dir becoming an OCI layer: 0/0 character devices become
    /// `.wh.<name>` entries and opaque directories get a `.wh..wh..opq` entry (Docker's
    /// overlay2 `OverlayWhiteoutFormat`).
    pub overlay_whiteouts: bool,
}

/// Writes the tree under `dir` to `out` as a tar whose paths are relative to `dir`
/// (`bin/sh`, not `/bin/sh`), entries sorted by name, then finishes the archive.
pub fn write_tree_tar(dir: &Path, out: &mut dyn Write) -> io::Result<()> {
    write_tree_tar_with(dir, out, TreeOptions::default())
}

pub(crate) fn write_tree_tar_with(
    dir: &Path,
    out: &mut dyn Write,
    opts: TreeOptions,
) -> io::Result<()> {
    let root = open_dir(rustix::fs::CWD, dir.as_os_str())?;
    let mut w = TreeWriter::new(out, opts);
    w.walk(root.as_fd(), "")?;
    w.finish()
}

/// Writes `parent/name` (and, for a directory, everything below it) to `out` as a tar whose
/// top entry is called `rename` (`rename/…` below it), then finishes the archive. `name` is
/// not followed if it is a symlink; `"."` archives `parent` itself.
pub(crate) fn write_entry_tar(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    rename: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut w = TreeWriter::new(out, TreeOptions::default());
    w.entry(parent, name, rename)?;
    w.finish()
}

struct TreeWriter<'a> {
    tar: tar::Builder<&'a mut dyn Write>,
    opts: TreeOptions,
    /// (dev, ino) of multiply linked files already archived → their archive path.
    links: HashMap<(u64, u64), String>,
}

impl<'a> TreeWriter<'a> {
    fn new(out: &'a mut dyn Write, opts: TreeOptions) -> Self {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        TreeWriter {
            tar,
            opts,
            links: HashMap::new(),
        }
    }

    fn finish(self) -> io::Result<()> {
        self.tar.into_inner()?.flush()
    }

    /// Archives the children of `dir`, sorted by name, under the archive path `rel`.
    fn walk(&mut self, dir: BorrowedFd<'_>, rel: &str) -> io::Result<()> {
        let mut names = list_dir(dir)?;
        names.sort();
        for name in names {
            let Some(name_str) = name.to_str() else {
                // Tar can carry any bytes, but our paths are built as strings; such a name is
                // not something an image or container legitimately holds.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{rel}/{}: file name is not UTF-8", name.to_string_lossy()),
                ));
            };
            let rel_path = if rel.is_empty() {
                name_str.to_string()
            } else {
                format!("{rel}/{name_str}")
            };
            self.entry(dir, &name, &rel_path)?;
        }
        Ok(())
    }

    /// Archives `dir/name` as `rel_path`, and below it if it is a directory.
    fn entry(&mut self, dir: BorrowedFd<'_>, name: &OsStr, rel_path: &str) -> io::Result<()> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let ft = FileType::from_raw_mode(st.st_mode);
        if ft == FileType::Socket {
            return Ok(()); // as Docker: sockets are not archived
        }
        if self.opts.overlay_whiteouts && ft == FileType::CharacterDevice && st.st_rdev == 0 {
            return self.whiteout(rel_path, &st);
        }
        let xattr_path = proc_path(dir, name);
        let opaque =
            self.opts.overlay_whiteouts && ft == FileType::Directory && is_opaque(&xattr_path);
        self.append_xattrs(&xattr_path, rel_path)?;
        let mut header = header_from(&st);
        match ft {
            FileType::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                // The fd is taken before the header is written: a directory swapped for a
                // symlink meanwhile fails here (O_NOFOLLOW) instead of being walked.
                let sub = open_dir(dir, name)?;
                let dir_name = if rel_path.ends_with('/') {
                    rel_path.to_string()
                } else {
                    format!("{rel_path}/")
                };
                self.append_named(&mut header, &dir_name, None, io::empty())?;
                if opaque {
                    let marker = dir_name.clone() + WHITEOUT_OPAQUE;
                    self.whiteout(&marker, &st)?;
                }
                self.walk(sub.as_fd(), rel_path.trim_end_matches('/'))?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                self.append_named(&mut header, rel_path, Some(target.as_bytes()), io::empty())?;
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        header.set_entry_type(tar::EntryType::Link);
                        header.set_size(0);
                        let first = first.clone();
                        self.append_named(
                            &mut header,
                            rel_path,
                            Some(first.as_bytes()),
                            io::empty(),
                        )?;
                        return Ok(());
                    }
                    self.links.insert(key, rel_path.to_string());
                }
                let file = rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
                    Mode::empty(),
                )?;
                // The header describes what was opened, not what the name pointed at before.
                let st = rustix::fs::fstat(&file)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{rel_path}: changed type while being archived"),
                    ));
                }
                let mut header = header_from(&st);
                header.set_entry_type(tar::EntryType::Regular);
                let size = st.st_size as u64;
                header.set_size(size);
                // A file that shrinks while it is read (a running container) is padded with
                // zeros, one that grows is cut: either way the entry has the size its header
                // announced and the archive stays valid.
                let data = std::fs::File::from(file)
                    .take(size)
                    .chain(io::repeat(0))
                    .take(size);
                self.append_named(&mut header, rel_path, None, data)?;
            }
            _ => {
                let kind = match ft {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                header.set_entry_type(kind);
                header.set_size(0);
                if kind != tar::EntryType::Fifo {
                    header.set_device_major(rustix::fs::major(st.st_rdev))?;
                    header.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                }
                self.append_named(&mut header, rel_path, None, io::empty())?;
            }
        }
        Ok(())
    }

    /// An empty regular file standing for a whiteout: `.wh.<name>` in place of `rel_path`,
    /// or the opaque marker itself when `rel_path` already is one.
    fn whiteout(&mut self, rel_path: &str, st: &Stat) -> io::Result<()> {
        let name = match rel_path.rsplit_once('/') {
            _ if rel_path.ends_with(WHITEOUT_OPAQUE) => rel_path.to_string(),
            Some((dir, base)) => format!("{dir}/{WHITEOUT_PREFIX}{base}"),
            None => format!("{WHITEOUT_PREFIX}{rel_path}"),
        };
        let mut header = header_from(st);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(0);
        self.append_named(&mut header, &name, None, io::empty())
    }

    /// Appends an entry named `name` (a symlink or hard link to `link` if given). Names
    /// starting with `./` (Docker's archive of `dir/.`) are written byte for byte: the tar
    /// crate's path setter drops the `.`, and the docker CLI rebases such archives by
    /// replacing the first `.` of every name, so `hosts.allow` would come out wrong.
    fn append_named(
        &mut self,
        header: &mut tar::Header,
        name: &str,
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<()> {
        if !name.starts_with("./") {
            return match link {
                Some(l) => self.tar.append_link(header, name, OsStr::from_bytes(l)),
                None => self.tar.append_data(header, name, data),
            };
        }
        let Some(gnu) = header.as_gnu_mut() else {
            return Err(io::Error::other("tree entries use GNU headers"));
        };
        if let Some(l) = link {
            if l.len() > gnu.linkname.len() {
                self.long_record(b'K', l)?;
            }
            let n = l.len().min(gnu.linkname.len());
            gnu.linkname = [0; 100];
            gnu.linkname[..n].copy_from_slice(&l[..n]);
        }
        let bytes = name.as_bytes();
        if bytes.len() > gnu.name.len() {
            self.long_record(b'L', bytes)?;
        }
        let n = bytes.len().min(gnu.name.len());
        gnu.name = [0; 100];
        gnu.name[..n].copy_from_slice(&bytes[..n]);
        header.set_cksum();
        self.tar.append(header, data)
    }

    /// A GNU long name (`L`) or long link name (`K`) record for the entry that follows.
    fn long_record(&mut self, kind: u8, value: &[u8]) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        if let Some(gnu) = h.as_gnu_mut() {
            gnu.name[..13].copy_from_slice(b"././@LongLink");
        }
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(value.len() as u64 + 1);
        h.set_cksum();
        self.tar.append(&h, value.chain(&[0u8][..]))
    }

    /// A PAX extended header with the entry's xattrs, if it has any.
    fn append_xattrs(&mut self, path: &OsStr, rel_path: &str) -> io::Result<()> {
        let mut list = vec![0u8; 4096];
        let n = match rustix::fs::llistxattr(path, &mut list[..]) {
            Ok(n) => n,
            // Not supported here, or a list too long to be a real file's: archive without.
            Err(_) => return Ok(()),
        };
        let mut records = Vec::new();
        for name in list[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            // overlayfs' own bookkeeping belongs to the snapshot, not the content.
            if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
                continue;
            }
            let mut value = vec![0u8; 64 * 1024];
            let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value[..]) else {
                continue;
            };
            pax_record(&mut records, &format!("SCHILY.xattr.{name}"), &value[..len]);
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(records.len() as u64);
        header.set_mode(0o644);
        // The name of a PAX header is informational; keep it short enough for ustar.
        let short: String = rel_path.chars().rev().take(80).collect::<String>();
        let short: String = short.chars().rev().collect();
        header.set_path(format!("PaxHeaders/{}", short.trim_start_matches('/')))?;
        header.set_cksum();
        self.tar.append(&header, records.as_slice())
    }
}

/// A GNU header with the ownership, permission bits and times of `st`.
fn header_from(st: &Stat) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_mode(st.st_mode & 0o7777);
    header.set_uid(u64::from(st.st_uid));
    header.set_gid(u64::from(st.st_gid));
    header.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    if let Some(gnu) = header.as_gnu_mut() {
        gnu.set_atime(u64::try_from(st.st_atime).unwrap_or(0));
        gnu.set_ctime(u64::try_from(st.st_ctime).unwrap_or(0));
    }
    header
}

fn is_opaque(path: &OsStr) -> bool {
    let mut value = [0u8; 2];
    matches!(rustix::fs::lgetxattr(path, OPAQUE_XATTR, &mut value), Ok(1) if value[0] == b'y')
}

/// One `"<len> <key>=<value>\n"` record, where len counts the whole record.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + body.to_string().len();
    if len.to_string().len() != body.to_string().len() {
        len += 1;
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        for vlen in [0usize, 1, 5, 90, 95, 996, 1000] {
            let mut out = Vec::new();
            pax_record(&mut out, "SCHILY.xattr.user.x", &vec![b'a'; vlen]);
            let text = String::from_utf8(out.clone()).expect("utf8");
            let (len, _) = text.split_once(' ').expect("space");
            assert_eq!(len.parse::<usize>().expect("number"), out.len(), "{vlen}");
        }
    }

    #[test]
    fn dev_numbers_split_like_the_kernel() {
        // makedev(1, 3) = /dev/null; makedev(259, 65537) exercises the high bits.
        let (major, minor) = (rustix::fs::major(0x103), rustix::fs::minor(0x103));
        assert_eq!((major, minor), (1, 3));
        let (major, minor) = (std::hint::black_box(259u64), std::hint::black_box(65537u64));
        let rdev = ((major & 0xfff) << 8)
            | ((major & !0xfff) << 32)
            | (minor & 0xff)
            | ((minor & !0xff) << 12);
        assert_eq!(
            (rustix::fs::major(rdev), rustix::fs::minor(rdev)),
            (259, 65537)
        );
    }

    #[test]
    fn tree_round_trips_through_tar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("a/b/f"), b"hello").expect("write");
        std::fs::hard_link(root.join("a/b/f"), root.join("a/h")).expect("link");
        std::os::unix::fs::symlink("/etc/passwd", root.join("a/s")).expect("symlink");
        let mut out = Vec::new();
        write_tree_tar(root, &mut out).expect("tar");
        let mut ar = tar::Archive::new(out.as_slice());
        let mut seen = Vec::new();
        for e in ar.entries().expect("entries") {
            let e = e.expect("entry");
            let kind = e.header().entry_type();
            let path = e.path().expect("path").to_string_lossy().into_owned();
            let link = e
                .link_name()
                .expect("link")
                .map(|l| l.to_string_lossy().into_owned());
            seen.push((path, kind, link));
        }
        let kinds: Vec<(&str, tar::EntryType, Option<&str>)> = seen
            .iter()
            .map(|(p, k, l)| (p.as_str(), *k, l.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a/", tar::EntryType::Directory, None),
                ("a/b/", tar::EntryType::Directory, None),
                ("a/b/f", tar::EntryType::Regular, None),
                ("a/h", tar::EntryType::Link, Some("a/b/f")),
                ("a/s", tar::EntryType::Symlink, Some("/etc/passwd")),
            ]
        );
    }
}
