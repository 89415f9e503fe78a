//! COPY/ADD sources resolved in a root (the context, or another stage's or image's rootfs
//! for `--from`), as dockerd's legacy builder does it: each source cleaned with a leading
//! '/' or './' dropped; `..` leaving the root refused; globs (Go's filepath.Match, so `*`
//! stays in one component) expanded in walk order; a symlink as a source followed inside
//! the root (`/etc/passwd` there is the root's, never the host's); sources excluded by
//! .dockerignore are not there. A directory's whole tree is listed (symlinks in it are
//! copied as symlinks) and every file read once for the content hash.

use std::io::{self, Read};
use std::path::Path;

use super::fsutil::{is_missing, join, split, Kind, Meta, Root};
use super::glob;
use super::ignore::{clean, IgnoreMatcher};
use super::tarsum::{self, Names};
use super::ContextError;

pub use super::copy_tar::{
    write_copy_tar, write_copy_tar_probed, write_heredoc_tar, CopyOptions, DestKind,
};

/// Symlinks followed while resolving one source before it counts as a loop (Go's
/// FollowSymlinkInScope allows 255).
const MAX_LINKS: usize = 255;

/// One entry below a selected directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Path relative to the selected directory.
    pub sub: String,
    pub meta: Meta,
}

/// One source after globbing and symlink resolution.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The resolved path relative to the root ("" is the root itself).
    pub rel: String,
    /// The name a file takes inside a destination directory: the last component of the
    /// source as written (a symlink keeps its own name, not its target's).
    pub name: String,
    pub meta: Meta,
    /// For a directory: what is below it, parents before children.
    pub entries: Vec<Entry>,
    /// `file:<hex>` or `dir:<hex>`.
    pub hash: String,
}

/// The matched sources of one COPY/ADD.
#[derive(Debug)]
pub struct Selection {
    pub(crate) root: Root,
    pub(crate) items: Vec<Item>,
}

impl Selection {
    /// Docker's spelling of what is copied: `file:<hex>` or `dir:<hex>` for one source,
    /// `multi:<hex>` over several. Covers names, modes, owners, sizes, symlink targets and
    /// bytes of exactly the selected entries (mtimes are not in it, as in dockerd).
    pub fn content_hash(&self) -> String {
        match self.items.as_slice() {
            [one] => one.hash.clone(),
            many => {
                let hashes: Vec<String> = many.iter().map(|i| i.hash.clone()).collect();
                tarsum::hash_strings("multi", &hashes)
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many sources matched (several need a destination directory).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The matched sources' paths relative to the root, resolved.
    pub fn paths(&self) -> Vec<String> {
        self.items.iter().map(|i| i.rel.clone()).collect()
    }
}

/// Where the sources are: it decides the user and group names in dockerd's hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// The build context (dockerd hashes the uploaded tar's headers, names blanked).
    #[default]
    Context,
    /// Another stage's or an image's rootfs (`--from`), or a download: dockerd's lazy
    /// source, whose headers carry the host's names for the owners' ids.
    Rootfs,
}

/// Resolves `sources` in the build context `root`. Errors as dockerd words them: a source
/// leaving the root, a missing one (naming it), none at all after globbing.
pub fn select(
    root: &Path,
    sources: &[String],
    ignore: &IgnoreMatcher,
) -> Result<Selection, ContextError> {
    select_from(root, sources, ignore, Origin::Context)
}

/// [`select`] in a root of the given origin (a rootfs for `COPY --from`).
pub fn select_from(
    root: &Path,
    sources: &[String],
    ignore: &IgnoreMatcher,
    origin: Origin,
) -> Result<Selection, ContextError> {
    let names = match origin {
        Origin::Context => Names::blank(),
        Origin::Rootfs => Names::host(),
    };
    let root = Root::open(root)?;
    let mut items = Vec::new();
    for source in sources {
        let trimmed = trim_source(source);
        let cleaned = clean(trimmed);
        if cleaned == ".." || cleaned.starts_with("../") {
            return Err(ContextError::OutsideContext {
                path: source.clone(),
            });
        }
        let cleaned = if cleaned == "." {
            String::new()
        } else {
            cleaned
        };
        if glob::has_wildcards(&cleaned) {
            glob::validate(&cleaned).map_err(|_| ContextError::BadPattern {
                pattern: source.clone(),
            })?;
            for rel in expand(&root, &cleaned, ignore)? {
                items.push(item(&root, &rel, &rel, ignore, &names)?);
            }
        } else {
            items.push(item(&root, &cleaned, trimmed, ignore, &names)?);
        }
    }
    if items.is_empty() {
        return Err(ContextError::NoSources);
    }
    Ok(Selection { root, items })
}

/// dockerd drops one leading '/' and then a leading "./" before anything else.
fn trim_source(source: &str) -> &str {
    let s = match source.strip_prefix('/') {
        Some(rest) if !rest.is_empty() => rest,
        _ => source,
    };
    s.strip_prefix("./").unwrap_or(s)
}

fn read_err(root: &Root, rel: &str) -> impl FnOnce(io::Error) -> ContextError {
    ContextError::io("reading", root.show(rel))
}

/// The paths matching the glob `pattern`, in Go's walk order. As `*` never matches '/',
/// only directories matching the pattern's leading components are entered.
fn expand(root: &Root, pattern: &str, ignore: &IgnoreMatcher) -> Result<Vec<String>, ContextError> {
    let comps: Vec<&str> = pattern.split('/').collect();
    let mut level = vec![String::new()];
    for (depth, comp) in comps.iter().enumerate() {
        let last = depth + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &level {
            let names = match root.list(dir) {
                Ok(n) => n,
                Err(e) if is_missing(&e) => continue,
                Err(e) => return Err(read_err(root, dir)(e)),
            };
            for name in names {
                if !glob::matches(comp, &name).map_err(|_| ContextError::BadPattern {
                    pattern: pattern.to_string(),
                })? {
                    continue;
                }
                let rel = join(dir, &name);
                let excluded = ignore.excluded(&rel, false);
                if last {
                    if !excluded {
                        next.push(rel);
                    }
                } else if (!excluded || ignore.may_reinclude_under(&rel))
                    && is_real_dir(root, &rel)?
                {
                    next.push(rel);
                }
            }
        }
        level = next;
    }
    Ok(level)
}

/// Whether `rel` is a directory and not a symlink to one: Go's Walk, which dockerd's glob
/// expansion uses, does not enter symlinked directories.
fn is_real_dir(root: &Root, rel: &str) -> Result<bool, ContextError> {
    match root.lstat(rel) {
        Ok(m) => Ok(m.kind == Kind::Dir),
        Err(e) if is_missing(&e) => Ok(false),
        Err(e) => Err(read_err(root, rel)(e)),
    }
}

/// Follows symlinks in `rel` inside the root (Go's FollowSymlinkInScope): `..` stops at
/// the root, absolute targets start again at the root. None when something is missing.
fn resolve(root: &Root, rel: &str, shown: &str) -> Result<Option<String>, ContextError> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        match comp.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let candidate = join(&done.join("/"), &comp);
        let meta = match root.lstat(&candidate) {
            Ok(m) => m,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(read_err(root, &candidate)(e)),
        };
        match (meta.kind, meta.link) {
            (Kind::Symlink, Some(target)) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ContextError::SymlinkLoop {
                        path: shown.to_string(),
                    });
                }
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_string));
            }
            _ => done.push(comp),
        }
    }
    Ok(Some(done.join("/")))
}

/// One source: resolved, listed and hashed.
fn item(
    root: &Root,
    rel: &str,
    shown: &str,
    ignore: &IgnoreMatcher,
    names: &Names,
) -> Result<Item, ContextError> {
    let not_found = || ContextError::NotFound {
        path: shown.to_string(),
    };
    if ignore.excluded(rel, false) {
        return Err(not_found());
    }
    let resolved = resolve(root, rel, shown)?.ok_or_else(not_found)?;
    if ignore.excluded(&resolved, false) {
        return Err(not_found());
    }
    let meta = match root.lstat(&resolved) {
        Ok(m) => m,
        Err(e) if is_missing(&e) => return Err(not_found()),
        Err(e) => return Err(read_err(root, &resolved)(e)),
    };
    let name = split(rel).1.unwrap_or("").to_string();
    if meta.kind != Kind::Dir {
        let hash = format!("file:{}", entry_sum(root, &resolved, &meta, names)?);
        return Ok(Item {
            rel: resolved,
            name,
            meta,
            entries: Vec::new(),
            hash,
        });
    }
    let mut entries = Vec::new();
    walk(root, &resolved, "", ignore, &mut entries)?;
    let mut sums = Vec::with_capacity(entries.len() + 1);
    if !resolved.is_empty() {
        // dockerd's walk visits the directory itself too, except for the root.
        sums.push(entry_sum(root, &resolved, &meta, names)?);
    }
    for e in &entries {
        sums.push(entry_sum(root, &join(&resolved, &e.sub), &e.meta, names)?);
    }
    sums.sort();
    Ok(Item {
        hash: tarsum::hash_strings("dir", &sums),
        rel: resolved,
        name,
        meta,
        entries,
    })
}

/// Lists everything below `base/sub` that .dockerignore leaves, parents first.
fn walk(
    root: &Root,
    base: &str,
    sub: &str,
    ignore: &IgnoreMatcher,
    out: &mut Vec<Entry>,
) -> Result<(), ContextError> {
    let dir = join(base, sub);
    let names = root.list(&dir).map_err(read_err(root, &dir))?;
    for name in names {
        let sub = join(sub, &name);
        let rel = join(base, &sub);
        let meta = root.lstat(&rel).map_err(read_err(root, &rel))?;
        if meta.kind == Kind::Socket {
            continue;
        }
        let is_dir = meta.kind == Kind::Dir;
        if ignore.excluded(&rel, is_dir) {
            if is_dir && ignore.may_reinclude_under(&rel) {
                walk(root, base, &sub, ignore, out)?;
            }
            continue;
        }
        out.push(Entry {
            sub: sub.clone(),
            meta,
        });
        if is_dir {
            walk(root, base, &sub, ignore, out)?;
        }
    }
    Ok(())
}

/// tarsum of one entry, its bytes read for a regular file.
fn entry_sum(root: &Root, rel: &str, meta: &Meta, names: &Names) -> Result<String, ContextError> {
    let mut h = tarsum::start(rel, meta, names);
    if meta.kind == Kind::File && meta.size > 0 {
        let mut f = root.open_file(rel).map_err(read_err(root, rel))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(root, rel)(e)),
            };
            sha2::Digest::update(&mut h, &buf[..n]);
        }
    }
    Ok(tarsum::finish(h))
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
