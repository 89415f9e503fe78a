//! The legacy builder's source hashes: tarsum v1 of each entry (the tar header fields
//! name, mode, uid, gid, size, typeflag, linkname, uname, gname, devmajor, devminor, then
//! the content), `dir:` as the sha256 of the sorted entry sums joined by ',', and `multi:`
//! over several sources. Computed from the tree as dockerd's lazy source does, so the
//! spelling in `created_by` matches dockerd's for the same files.

use std::collections::HashMap;

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

/// User and group names in the header: blank for the context (tarsum blanks them), the
/// host's names for a rootfs or a download (dockerd's lazy source takes the header from
/// Go's `FileInfoHeader`, which looks the ids up in dockerd's own /etc/passwd and group).
#[derive(Debug, Default)]
pub(crate) struct Names {
    users: Option<HashMap<u32, String>>,
    groups: Option<HashMap<u32, String>>,
}

impl Names {
    /// Blank names (the context).
    pub fn blank() -> Names {
        Names::default()
    }

    /// The host's names, read once.
    pub fn host() -> Names {
        Names {
            users: Some(read_ids("/etc/passwd")),
            groups: Some(read_ids("/etc/group")),
        }
    }

    fn user(&self, uid: u32) -> String {
        lookup(&self.users, uid)
    }

    fn group(&self, gid: u32) -> String {
        lookup(&self.groups, gid)
    }
}

fn lookup(map: &Option<HashMap<u32, String>>, id: u32) -> String {
    map.as_ref()
        .and_then(|m| m.get(&id).cloned())
        .unwrap_or_default()
}

/// `name:x:id:…` lines; the first name of an id wins, as getpwuid answers.
fn read_ids(path: &str) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return out;
    };
    for line in text.lines() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(id) = id.parse::<u32>() {
            out.entry(id).or_insert_with(|| name.to_string());
        }
    }
    out
}

/// A started tarsum of one entry: its header is in, file content may follow.
pub(crate) fn start(rel: &str, meta: &Meta, names: &Names) -> Sha256 {
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
        ("uname", names.user(meta.uid)),
        ("gname", names.group(meta.gid)),
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
