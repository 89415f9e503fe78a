//! The tar a COPY/ADD extracts at the stage rootfs's '/', built as dockerd's legacy builder
//! lays out a copy: a file lands at the destination, or inside it when the destination ends
//! with '/' or is an existing directory; a directory's contents land in the destination;
//! several sources need a destination ending with '/'. Copied entries are owned by root,
//! or by `--chown`'s ids; `--chmod` replaces the permissions of files and directories;
//! modes and mtimes are otherwise the source's. Missing directories are created 0755: a
//! file's parents owned as the copy (dockerd's `mkdirAllWithChown`), a directory copy's
//! destination owned as the copy and its parents by root. Existing directories get no
//! entry, so their mode and owner stay. ADD of a local archive (detected by content)
//! extracts it into the destination with the archive's own owners and modes.
//!
//! Entry names are relative ('/' stripped); the executor's root-scoped extraction resolves
//! them inside the rootfs.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use super::archive;
use super::fsutil::{join, Kind};
use super::ignore::clean;
use super::select::{Item, Selection};
use super::ContextError;

/// How a COPY/ADD writes what it selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Absolute and cleaned, a trailing '/' kept (it makes the destination a directory).
    pub dest: String,
    pub chown: Option<(u32, u32)>,
    pub chmod: Option<u32>,
    /// ADD: a local tar (plain, gzip, bzip2, xz, zstd) is extracted instead of copied.
    pub add_extract: bool,
    /// Every entry's mtime is now instead of the source's.
    pub mtime_now: bool,
}

/// What a path in the stage's rootfs is, as the executor finds it (symlinks resolved
/// inside the rootfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestKind {
    Missing,
    Dir,
    Other,
}

/// [`write_copy_tar_probed`] knowing only whether the destination is an existing
/// directory; its parents are taken as existing (the extraction creates missing ones 0755,
/// owned by root).
pub fn write_copy_tar(
    sel: &Selection,
    opts: &CopyOptions,
    dest_is_dir: bool,
    out: &mut dyn Write,
) -> Result<(), ContextError> {
    let dest = dest_path(&opts.dest);
    let probe = move |p: &str| {
        if p == dest {
            if dest_is_dir {
                DestKind::Dir
            } else {
                DestKind::Missing
            }
        } else if dest.starts_with(&format!("{p}/")) {
            DestKind::Dir
        } else {
            DestKind::Missing
        }
    };
    write_copy_tar_probed(sel, opts, &probe, out)
}

/// The copy's tar; `probe` answers what a path (relative to '/', no leading '/') is in the
/// stage's rootfs before the copy.
pub fn write_copy_tar_probed(
    sel: &Selection,
    opts: &CopyOptions,
    probe: &dyn Fn(&str) -> DestKind,
    out: &mut dyn Write,
) -> Result<(), ContextError> {
    let cmd = if opts.add_extract { "ADD" } else { "COPY" };
    let dir_form = opts.dest.ends_with('/');
    if sel.items.len() > 1 && !dir_form {
        return Err(ContextError::DestNotDir { cmd });
    }
    let mut w = TarOut::new(out, opts, probe);
    let dest = dest_path(&opts.dest);
    for item in &sel.items {
        if item.meta.kind == Kind::Dir {
            w.parents(&dest, (0, 0))?;
            w.dir_if_missing(&dest, w.owner())?;
            copy_tree(&mut w, sel, item, &dest)?;
        } else if opts.add_extract && item.meta.kind == Kind::File && is_archive(sel, item) {
            w.parents(&dest, (0, 0))?;
            w.dir_if_missing(&dest, (0, 0))?;
            extract_archive(&mut w, sel, item, &dest)?;
        } else {
            let target = if dir_form || w.kind(&dest) == DestKind::Dir {
                join(&dest, &item.name)
            } else {
                dest.clone()
            };
            if target.is_empty() {
                return Err(ContextError::BadDest {
                    dest: opts.dest.clone(),
                    reason: "a file cannot replace the root".into(),
                });
            }
            w.parents(&target, w.owner())?;
            copy_one(&mut w, sel, &item.rel, &target, &item.meta)?;
        }
    }
    w.finish()
}

/// COPY <<EOF: the heredoc's text as the file `name` (0644 unless `--chmod`).
pub fn write_heredoc_tar(
    name: &str,
    content: &[u8],
    opts: &CopyOptions,
    dest_is_dir: bool,
    out: &mut dyn Write,
) -> Result<(), ContextError> {
    let dest = dest_path(&opts.dest);
    let target = if opts.dest.ends_with('/') || dest_is_dir {
        join(&dest, name)
    } else {
        dest.clone()
    };
    let probe = |p: &str| {
        if dest.starts_with(&format!("{p}/")) || (p == dest && dest_is_dir) {
            DestKind::Dir
        } else {
            DestKind::Missing
        }
    };
    let mut w = TarOut::new(out, opts, &probe);
    w.parents(&target, w.owner())?;
    let mode = opts.chmod.unwrap_or(0o644);
    let (uid, gid) = w.owner();
    let mut h = w.header(tar::EntryType::Regular, mode, (uid, gid), w.now);
    h.set_size(content.len() as u64);
    w.append(&mut h, &target, content)?;
    w.finish()
}

/// The destination relative to '/', without leading or trailing '/' ("" is the root).
fn dest_path(dest: &str) -> String {
    let c = clean(&format!("/{dest}"));
    c.trim_start_matches('/').to_string()
}

fn is_archive(sel: &Selection, item: &Item) -> bool {
    match sel.root.open_file(&item.rel) {
        Ok(f) => archive::is_archive(f),
        Err(_) => false,
    }
}

fn copy_tree(
    w: &mut TarOut<'_>,
    sel: &Selection,
    item: &Item,
    dest: &str,
) -> Result<(), ContextError> {
    for e in &item.entries {
        copy_one(
            w,
            sel,
            &join(&item.rel, &e.sub),
            &join(dest, &e.sub),
            &e.meta,
        )?;
    }
    Ok(())
}

/// One selected entry at `target`, owned as the copy.
fn copy_one(
    w: &mut TarOut<'_>,
    sel: &Selection,
    rel: &str,
    target: &str,
    meta: &super::fsutil::Meta,
) -> Result<(), ContextError> {
    let owner = w.owner();
    let mtime = if w.opts.mtime_now {
        w.now
    } else {
        meta.mtime.max(0) as u64
    };
    let perm = match (meta.kind, w.opts.chmod) {
        (Kind::File | Kind::Dir, Some(m)) => m & 0o7777,
        _ => meta.perm(),
    };
    let show = || sel.root.show(rel);
    match meta.kind {
        Kind::Dir => {
            let mut h = w.header(tar::EntryType::Directory, perm, owner, mtime);
            w.append(&mut h, target, io::empty())?;
            w.made.insert(target.to_string());
        }
        Kind::File => {
            let f = sel
                .root
                .open_file(rel)
                .map_err(ContextError::io("reading", show()))?;
            let mut h = w.header(tar::EntryType::Regular, perm, owner, mtime);
            h.set_size(meta.size);
            w.append(&mut h, target, Exact::new(f, meta.size))?;
        }
        Kind::Symlink => {
            let mut h = w.header(tar::EntryType::Symlink, perm, owner, mtime);
            let link = meta.link.clone().unwrap_or_default();
            w.b.append_link(&mut h, target, &link)
                .map_err(ContextError::io("writing the copy's tar", target))?;
        }
        Kind::Fifo | Kind::Char | Kind::Block => {
            let t = match meta.kind {
                Kind::Fifo => tar::EntryType::Fifo,
                Kind::Char => tar::EntryType::Char,
                _ => tar::EntryType::Block,
            };
            let mut h = w.header(t, perm, owner, mtime);
            h.set_device_major(meta.dev_major)
                .and_then(|_| h.set_device_minor(meta.dev_minor))
                .map_err(ContextError::io("writing the copy's tar", target))?;
            w.append(&mut h, target, io::empty())?;
        }
        Kind::Socket => {}
    }
    Ok(())
}

/// ADD of a local archive: its entries below `dest`, refusing names, symlinks and hard
/// links that would leave it (dockerd's breakout checks).
fn extract_archive(
    w: &mut TarOut<'_>,
    sel: &Selection,
    item: &Item,
    dest: &str,
) -> Result<(), ContextError> {
    let show = sel.root.show(&item.rel);
    let bad = |reason: String| ContextError::BadArchive {
        reason: format!("{}: {reason}", show.display()),
    };
    let f = sel
        .root
        .open_file(&item.rel)
        .map_err(ContextError::io("reading", show.clone()))?;
    let (_, reader) = archive::decompress(f).map_err(ContextError::io("reading", show.clone()))?;
    let mut ar = tar::Archive::new(reader);
    let entries = ar.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name =
            inside(&raw).ok_or_else(|| bad(format!("{raw:?} is outside the destination")))?;
        if name.is_empty() {
            continue;
        }
        let target = join(dest, &name);
        let h = entry.header();
        let kind = h.entry_type();
        let perm = h.mode().map_err(|e| bad(e.to_string()))? & 0o7777;
        let owner = (
            h.uid().map_err(|e| bad(e.to_string()))? as u32,
            h.gid().map_err(|e| bad(e.to_string()))? as u32,
        );
        let mtime = if w.opts.mtime_now {
            w.now
        } else {
            h.mtime().unwrap_or(0)
        };
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.size();
            let mut nh = w.header(tar::EntryType::Regular, perm, owner, mtime);
            nh.set_size(size);
            w.append(&mut nh, &target, &mut entry)?;
        } else if kind.is_dir() {
            let mut nh = w.header(tar::EntryType::Directory, perm, owner, mtime);
            w.append(&mut nh, &target, io::empty())?;
            w.made.insert(target);
        } else if kind.is_symlink() {
            let link = link.unwrap_or_default();
            let parent = super::fsutil::split(&name).0;
            if !link.starts_with('/') && inside(&join(parent, &link)).is_none() {
                return Err(bad(format!(
                    "symlink {raw:?} -> {link:?} leaves the destination"
                )));
            }
            let mut nh = w.header(tar::EntryType::Symlink, perm, owner, mtime);
            w.b.append_link(&mut nh, &target, &link)
                .map_err(ContextError::io("writing the copy's tar", target.clone()))?;
        } else if kind.is_hard_link() {
            let link = link.unwrap_or_default();
            let to = inside(&link).filter(|t| !t.is_empty()).ok_or_else(|| {
                bad(format!(
                    "hard link {raw:?} -> {link:?} leaves the destination"
                ))
            })?;
            let mut nh = w.header(tar::EntryType::Link, perm, owner, mtime);
            w.b.append_link(&mut nh, &target, join(dest, &to))
                .map_err(ContextError::io("writing the copy's tar", target.clone()))?;
        } else if kind.is_fifo() || kind.is_character_special() || kind.is_block_special() {
            let mut nh = w.header(kind, perm, owner, mtime);
            let major = h.device_major().ok().flatten().unwrap_or(0);
            let minor = h.device_minor().ok().flatten().unwrap_or(0);
            nh.set_device_major(major)
                .and_then(|_| nh.set_device_minor(minor))
                .map_err(ContextError::io("writing the copy's tar", target.clone()))?;
            w.append(&mut nh, &target, io::empty())?;
        }
        // Other types (pax globals, GNU volume labels…) carry no file.
    }
    Ok(())
}

/// An archive name cleaned inside its destination; None when it climbs out.
fn inside(name: &str) -> Option<String> {
    let c = clean(name.trim_start_matches('/'));
    if c == ".." || c.starts_with("../") {
        return None;
    }
    Some(if c == "." { String::new() } else { c })
}

/// The tar being written and the directories it makes.
struct TarOut<'a> {
    b: tar::Builder<&'a mut dyn Write>,
    opts: &'a CopyOptions,
    probe: &'a dyn Fn(&str) -> DestKind,
    made: HashSet<String>,
    now: u64,
}

impl<'a> TarOut<'a> {
    fn new(
        out: &'a mut dyn Write,
        opts: &'a CopyOptions,
        probe: &'a dyn Fn(&str) -> DestKind,
    ) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut b = tar::Builder::new(out);
        b.mode(tar::HeaderMode::Complete);
        TarOut {
            b,
            opts,
            probe,
            made: HashSet::new(),
            now,
        }
    }

    fn owner(&self) -> (u32, u32) {
        self.opts.chown.unwrap_or((0, 0))
    }

    fn kind(&self, path: &str) -> DestKind {
        if path.is_empty() || self.made.contains(path) {
            DestKind::Dir
        } else {
            (self.probe)(path)
        }
    }

    fn header(&self, t: tar::EntryType, perm: u32, owner: (u32, u32), mtime: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(t);
        h.set_mode(perm);
        h.set_uid(u64::from(owner.0));
        h.set_gid(u64::from(owner.1));
        h.set_mtime(mtime);
        h.set_size(0);
        h
    }

    fn append<R: Read>(
        &mut self,
        h: &mut tar::Header,
        path: &str,
        data: R,
    ) -> Result<(), ContextError> {
        self.b
            .append_data(h, path, data)
            .map_err(ContextError::io("writing the copy's tar", path))
    }

    /// The missing directories above `path`, 0755, owned by `owner`.
    fn parents(&mut self, path: &str, owner: (u32, u32)) -> Result<(), ContextError> {
        let mut prefix = String::new();
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        for comp in comps.iter().take(comps.len().saturating_sub(1)) {
            prefix = join(&prefix, comp);
            self.dir_if_missing(&prefix.clone(), owner)?;
        }
        Ok(())
    }

    fn dir_if_missing(&mut self, path: &str, owner: (u32, u32)) -> Result<(), ContextError> {
        if self.kind(path) != DestKind::Missing {
            return Ok(());
        }
        let mut h = self.header(tar::EntryType::Directory, 0o755, owner, self.now);
        self.append(&mut h, path, io::empty())?;
        self.made.insert(path.to_string());
        Ok(())
    }

    fn finish(mut self) -> Result<(), ContextError> {
        self.b
            .finish()
            .map_err(ContextError::io("writing the copy's tar", "/"))
    }
}

/// A file's bytes as exactly `size` long as its header says: a file that shrank since it
/// was listed is padded with zeros, one that grew is cut, so the tar stays well-formed.
struct Exact<R> {
    inner: io::Take<R>,
    left: u64,
}

impl<R: Read> Exact<R> {
    fn new(inner: R, size: u64) -> Self {
        Exact {
            inner: inner.take(size),
            left: size,
        }
    }
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let mut n = self.inner.read(buf)?;
        if n == 0 {
            let pad = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            buf[..pad].fill(0);
            n = pad;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
