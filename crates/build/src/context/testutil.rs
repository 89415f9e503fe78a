//! Helpers of the context's unit tests: trees in temp dirs, tars read back.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::ignore::IgnoreMatcher;
use super::select::{select, Selection};
use super::ContextError;

pub(crate) fn write(root: &Path, rel: &str, content: &str, mode: u32) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        must(fs::create_dir_all(parent));
    }
    must(fs::write(&p, content));
    must(fs::set_permissions(&p, fs::Permissions::from_mode(mode)));
}

pub(crate) fn mkdir(root: &Path, rel: &str, mode: u32) {
    let p = root.join(rel);
    must(fs::create_dir_all(&p));
    must(fs::set_permissions(&p, fs::Permissions::from_mode(mode)));
}

pub(crate) fn must<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e:?}"),
    }
}

pub(crate) fn tmp() -> tempfile::TempDir {
    must(tempfile::tempdir())
}

pub(crate) fn sel(root: &Path, sources: &[&str]) -> Result<Selection, ContextError> {
    let s: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    select(root, &s, &IgnoreMatcher::empty())
}

/// A tar's entries: (name, type, mode & 0o7777, uid, gid, mtime, content or link target).
pub(crate) type TarEntry = (String, tar::EntryType, u32, u64, u64, u64, String);

pub(crate) fn read_tar(bytes: &[u8]) -> Vec<TarEntry> {
    use std::io::Read;
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in must(ar.entries()) {
        let mut e = must(e);
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let h = e.header().clone();
        let mut body = String::new();
        if h.entry_type().is_file() {
            let mut raw = Vec::new();
            must(e.read_to_end(&mut raw));
            body = String::from_utf8_lossy(&raw).into_owned();
        } else if let Some(l) = e.link_name_bytes() {
            body = String::from_utf8_lossy(&l).into_owned();
        }
        out.push((
            name,
            h.entry_type(),
            must(h.mode()) & 0o7777,
            must(h.uid()),
            must(h.gid()),
            must(h.mtime()),
            body,
        ));
    }
    out
}

/// Extracts a tar with muelle_image's root-scoped extraction, as the executor does.
pub(crate) fn extract(bytes: &[u8], dir: &Path) {
    must(muelle_image::extract_to_dir(
        bytes,
        dir,
        &muelle_image::ExtractOptions::default(),
    ));
}
