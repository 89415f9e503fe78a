//! Writing a directory tree as a tar stream: `docker export`, `import`'s inverse, and the
//! engine's `cp` out of a container.
//!
//! The tree is walked with `lstat` only: a symlink is archived as a symlink and never
//! followed, so a tree from an image cannot make the walk read outside it. Hard links are
//! kept as links, device nodes and fifos as such, and extended attributes as PAX
//! `SCHILY.xattr.*` records (file capabilities survive an export and import).

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Writes the tree under `dir` to `out` as a tar whose paths are relative to `dir`
/// (`bin/sh`, not `/bin/sh`), entries sorted by name, then finishes the archive.
pub fn write_tree_tar(dir: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    walk(&mut tar, dir, "", &mut links)?;
    tar.into_inner()?.flush()
}

fn walk(
    tar: &mut tar::Builder<&mut dyn Write>,
    dir: &Path,
    rel: &str,
    links: &mut HashMap<(u64, u64), String>,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for name in names {
        let Some(name_str) = name.to_str() else {
            // Tar can carry any bytes, but our paths are built as strings; such a name is
            // not something an image or container legitimately holds.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: file name is not UTF-8", dir.join(&name).display()),
            ));
        };
        let path = dir.join(&name);
        let rel_path = if rel.is_empty() {
            name_str.to_string()
        } else {
            format!("{rel}/{name_str}")
        };
        let meta = fs::symlink_metadata(&path)?;
        let ft = meta.file_type();
        if ft.is_socket() {
            continue; // as Docker: sockets are not archived
        }
        append_xattrs(tar, &path, &rel_path)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mode(meta.mode() & 0o7777);
        if ft.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            tar.append_data(&mut header, format!("{rel_path}/"), io::empty())?;
            walk(tar, &path, &rel_path, links)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&path)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            tar.append_link(&mut header, &rel_path, target)?;
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = links.get(&key) {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_size(0);
                    tar.append_link(&mut header, &rel_path, first)?;
                    continue;
                }
                links.insert(key, rel_path.clone());
            }
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            let file = fs::File::open(&path)?;
            tar.append_data(&mut header, &rel_path, file)?;
        } else {
            let kind = if ft.is_char_device() {
                tar::EntryType::Char
            } else if ft.is_block_device() {
                tar::EntryType::Block
            } else {
                tar::EntryType::Fifo
            };
            header.set_entry_type(kind);
            header.set_size(0);
            let rdev = meta.rdev();
            if kind != tar::EntryType::Fifo {
                header.set_device_major(dev_major(rdev))?;
                header.set_device_minor(dev_minor(rdev))?;
            }
            tar.append_data(&mut header, &rel_path, io::empty())?;
        }
    }
    Ok(())
}

/// Linux's `major()` / `minor()` of a 64-bit dev_t.
fn dev_major(rdev: u64) -> u32 {
    (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)) as u32
}

fn dev_minor(rdev: u64) -> u32 {
    ((rdev & 0xff) | ((rdev >> 12) & !0xff)) as u32
}

/// A PAX extended header with the entry's xattrs, if it has any.
fn append_xattrs(
    tar: &mut tar::Builder<&mut dyn Write>,
    path: &Path,
    rel_path: &str,
) -> io::Result<()> {
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
        if name.starts_with("trusted.overlay.") {
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
    tar.append(&header, records.as_slice())
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
        assert_eq!((dev_major(0x103), dev_minor(0x103)), (1, 3));
        let (major, minor) = (std::hint::black_box(259u64), std::hint::black_box(65537u64));
        let rdev = ((major & 0xfff) << 8)
            | ((major & !0xfff) << 32)
            | (minor & 0xff)
            | ((minor & !0xff) << 12);
        assert_eq!((dev_major(rdev), dev_minor(rdev)), (259, 65537));
    }

    #[test]
    fn tree_round_trips_through_tar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).expect("mkdir");
        fs::write(root.join("a/b/f"), b"hello").expect("write");
        fs::hard_link(root.join("a/b/f"), root.join("a/h")).expect("link");
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
