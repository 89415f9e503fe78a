//! The legacy builder's source hashes: tarsum v1 of each entry (the tar header fields
//! name, mode, uid, gid, size, typeflag, linkname, uname, gname, devmajor, devminor, then
//! the content), `dir:` as the sha256 of the sorted entry sums joined by ',', and `multi:`
//! over several sources. Computed from the tree as dockerd's lazy source does, so the
//! spelling in `created_by` matches dockerd's for the same files.

use sha2::{Digest, Sha256};

use super::fsutil::{Kind, Meta};

/// The tar typeflag of a kind, as Go's archive/tar writes it.
pub(crate) fn typeflag(kind: Kind) -> u8 {
    match kind {
        Kind::File => b'0',
        Kind::Symlink => b'2',
        Kind::Char => b'3',
        Kind::Block => b'4',
        Kind::Dir => b'5',
        Kind::Fifo => b'6',
        Kind::Socket => b'0',
    }
}

/// A started tarsum of one entry: its header is in, file content may follow.
pub(crate) fn start(rel: &str, meta: &Meta) -> Sha256 {
    let name = if meta.kind == Kind::Dir {
        format!("{rel}/")
    } else {
        rel.to_string()
    };
    let fields: [(&str, String); 11] = [
        ("name", name),
        ("mode", meta.mode.to_string()),
        ("uid", meta.uid.to_string()),
        ("gid", meta.gid.to_string()),
        ("size", meta.size.to_string()),
        ("typeflag", (typeflag(meta.kind) as char).to_string()),
        ("linkname", meta.link.clone().unwrap_or_default()),
        // tarsum blanks the user and group names (compatibility with Go before 1.10).
        ("uname", String::new()),
        ("gname", String::new()),
        ("devmajor", meta.dev_major.to_string()),
        ("devminor", meta.dev_minor.to_string()),
    ];
    let mut h = Sha256::new();
    for (k, v) in fields {
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    h
}

pub(crate) fn finish(h: Sha256) -> String {
    hex::encode(h.finalize())
}

/// `prefix:` + sha256 of the strings joined by ',' (dockerd's `hashStringSlice`).
pub(crate) fn hash_strings(prefix: &str, items: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(items.join(",").as_bytes());
    format!("{prefix}:{}", hex::encode(h.finalize()))
}
