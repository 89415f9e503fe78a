//! The client's context tar, as the docker CLI makes it (`archive.TarWithOptions` with the
//! .dockerignore's patterns): the directory walked in Go's order (names sorted, parents
//! first, the root itself not an entry); excluded files never opened; an excluded
//! directory entered (without an entry of its own) only when an exception's text starts
//! with its path, the CLI's test (`!**/*.go` does not reach into one); the Dockerfile and
//! .dockerignore always sent. Headers as the CLI 28 writes them: ustar, uid/gid 0, no user
//! or group names, permission bits only, mtimes in seconds, directories named `d/`, hard
//! links as links to the first name seen; sockets skipped. A Dockerfile from outside the
//! directory (`-f path` or `-f -`) is added under a name of the caller's choosing, mode
//! 0600, and that name is appended to the sent .dockerignore so the daemon does not offer
//! it to COPY, as the CLI does.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ignore::{clean, IgnoreMatcher};
use super::ContextError;

/// What to send besides the directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions<'a> {
    /// The Dockerfile's path inside the directory (default `Dockerfile`): always sent.
    pub dockerfile: Option<&'a str>,
    /// A Dockerfile from elsewhere, added as (name, contents).
    pub dockerfile_override: Option<(&'a str, &'a [u8])>,
}

/// The context tar of `dir` with the Dockerfile at `Dockerfile` or the override.
pub fn write_context_tar(
    dir: &Path,
    dockerfile_override: Option<(&str, &[u8])>,
    out: &mut dyn Write,
) -> Result<(), ContextError> {
    write_context_tar_with(
        dir,
        &SendOptions {
            dockerfile: None,
            dockerfile_override,
        },
        out,
    )
}

/// The .dockerignore of `dir` (empty when there is none).
pub fn read_ignore(dir: &Path) -> Result<IgnoreMatcher, ContextError> {
    let path = dir.join(".dockerignore");
    match fs::read(&path) {
        Ok(bytes) => IgnoreMatcher::parse(&String::from_utf8_lossy(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IgnoreMatcher::empty()),
        Err(e) => Err(ContextError::io("reading", path)(e)),
    }
}

/// The context tar of `dir` as [`SendOptions`] say.
pub fn write_context_tar_with(
    dir: &Path,
    opts: &SendOptions<'_>,
    out: &mut dyn Write,
) -> Result<(), ContextError> {
    let ignore = read_ignore(dir)?;
    let dockerfile = clean(opts.dockerfile.unwrap_or("Dockerfile"));
    let keep: Vec<&str> = match opts.dockerfile_override {
        Some(_) => vec![".dockerignore"],
        None => vec![".dockerignore", dockerfile.as_str()],
    };
    let ignore = ignore.with_exceptions(&keep);
    let mut w = Sender {
        b: tar::Builder::new(out),
        ignore,
        links: HashMap::new(),
        skip: opts.dockerfile_override.map(|(n, _)| clean(n)),
        extra_ignore: opts.dockerfile_override.map(|(n, _)| clean(n)),
        wrote_ignore: false,
    };
    w.b.mode(tar::HeaderMode::Complete);
    w.walk(dir, Path::new(""))?;
    if let Some((name, content)) = opts.dockerfile_override {
        w.override_files(dir, &clean(name), content)?;
    }
    w.b.finish()
        .map_err(ContextError::io("writing the context tar", dir))
}

struct Sender<'a> {
    b: tar::Builder<&'a mut dyn Write>,
    ignore: IgnoreMatcher,
    /// (dev, inode) of files with several links → the first name sent.
    links: HashMap<(u64, u64), PathBuf>,
    /// The override's name: a file of that name in the directory is replaced.
    skip: Option<String>,
    /// The name to append to the sent .dockerignore.
    extra_ignore: Option<String>,
    wrote_ignore: bool,
}

/// A directory's name in the tar: with a trailing '/', as the CLI writes it.
fn dir_name(rel: &Path) -> PathBuf {
    let mut n = OsString::from(rel.as_os_str());
    n.push("/");
    PathBuf::from(n)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Sender<'_> {
    /// Names are kept as the OS gives them (a non-UTF-8 name is sent as its bytes); the
    /// matcher sees them lossily converted.
    fn walk(&mut self, dir: &Path, rel: &Path) -> Result<(), ContextError> {
        let host = dir.join(rel);
        let mut names: Vec<_> = fs::read_dir(&host)
            .map_err(ContextError::io("reading", &host))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(ContextError::io("reading", &host))?;
        names.sort();
        for name in names {
            let rel_path = rel.join(&name);
            let rel = rel_path.to_string_lossy().into_owned();
            let path = dir.join(&rel_path);
            let md = fs::symlink_metadata(&path).map_err(ContextError::io("reading", &path))?;
            let is_dir = md.is_dir();
            if self.ignore.excluded(&rel, is_dir) {
                if is_dir && self.ignore.cli_descends_into(&rel) {
                    self.walk(dir, &rel_path)?;
                }
                continue;
            }
            if self.skip.as_deref() == Some(rel.as_str()) {
                continue;
            }
            self.entry(&path, &rel_path, &md)?;
            if is_dir {
                self.walk(dir, &rel_path)?;
            }
        }
        Ok(())
    }

    fn header(md: &fs::Metadata, t: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(t);
        // Permission bits only, as the docker CLI 28 writes them (20.10's added the type).
        h.set_mode(md.mode() & 0o7777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(md.mtime().max(0) as u64);
        h.set_size(0);
        h
    }

    fn entry(&mut self, path: &Path, rel: &Path, md: &fs::Metadata) -> Result<(), ContextError> {
        let werr = ContextError::io("writing the context tar", path);
        let ft = md.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        if ft.is_dir() {
            let mut h = Self::header(md, tar::EntryType::Directory);
            return self
                .b
                .append_data(&mut h, dir_name(rel), io::empty())
                .map_err(werr);
        }
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(ContextError::io("reading", path))?;
            let mut h = Self::header(md, tar::EntryType::Symlink);
            return self.b.append_link(&mut h, rel, target).map_err(werr);
        }
        if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = self.links.get(&key) {
                    let mut h = Self::header(md, tar::EntryType::Link);
                    let first = first.clone();
                    return self.b.append_link(&mut h, rel, first).map_err(werr);
                }
                self.links.insert(key, rel.to_path_buf());
            }
            if rel == Path::new(".dockerignore") {
                if let Some(extra) = self.extra_ignore.clone() {
                    let mut text = fs::read(path).map_err(ContextError::io("reading", path))?;
                    text.extend_from_slice(format!("\n{extra}\n").as_bytes());
                    let mut h = Self::header(md, tar::EntryType::Regular);
                    h.set_size(text.len() as u64);
                    self.wrote_ignore = true;
                    return self.b.append_data(&mut h, rel, &text[..]).map_err(werr);
                }
            }
            let f = File::open(path).map_err(ContextError::io("reading", path))?;
            let mut h = Self::header(md, tar::EntryType::Regular);
            h.set_size(md.len());
            return self
                .b
                .append_data(&mut h, rel, io::Read::take(f, md.len()))
                .map_err(werr);
        }
        let t = if ft.is_fifo() {
            tar::EntryType::Fifo
        } else if ft.is_char_device() {
            tar::EntryType::Char
        } else {
            tar::EntryType::Block
        };
        let mut h = Self::header(md, t);
        if t != tar::EntryType::Fifo {
            let rdev = md.rdev();
            h.set_device_major(rustix::fs::major(rdev))
                .and_then(|_| h.set_device_minor(rustix::fs::minor(rdev)))
                .map_err(ContextError::io("writing the context tar", path))?;
        }
        self.b.append_data(&mut h, rel, io::empty()).map_err(werr)
    }

    /// The outside Dockerfile, and a .dockerignore naming it if the directory had none.
    fn override_files(
        &mut self,
        dir: &Path,
        name: &str,
        content: &[u8],
    ) -> Result<(), ContextError> {
        let werr = || ContextError::io("writing the context tar", dir);
        let file = |size: usize| {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o600);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(now());
            h.set_size(size as u64);
            h
        };
        let mut h = file(content.len());
        self.b.append_data(&mut h, name, content).map_err(werr())?;
        if !self.wrote_ignore {
            let text = format!("\n{name}\n");
            let mut h = file(text.len());
            self.b
                .append_data(&mut h, ".dockerignore", text.as_bytes())
                .map_err(werr())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
