//! The snapshot index both snapshotters share: one small file per snapshot under `index/`,
//! named by the SHA-256 of its key, so that a change (prepare, commit, remove) writes one
//! record and a lookup reads one record and its parents', whatever the number of snapshots.
//! Only `list`, `cleanup` and the removal of a committed snapshot (which counts its
//! children) read them all.
//!
//! Every change happens under an exclusive flock of `metadata.lock`, reads under a shared
//! one. A record is replaced whole (temporary file, fsync, rename, fsync of `index/`), so a
//! crash leaves the old record or the new one. Ids are the names of the snapshot
//! directories: a new one is the next number whose directory `mkdir` could make, which is
//! unique across the processes sharing the root.
//!
//! The index of earlier versions, one `metadata.json` rewritten whole at each change, is
//! turned into record files when the root is opened; it is deleted once they are synced,
//! and until then it stays the authority (an upgrade cut short runs again).
//!
//! Must not: know what a snapshot's tree is made of or how it is mounted.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use rustix::fs::FlockOperation;
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use super::{Kind, Result, SnapshotError, SNAPSHOTS_DIR};
use crate::digest::Digest;

/// The index of earlier versions, read once to be upgraded.
pub(super) const LEGACY_INDEX_FILE: &str = "metadata.json";
const LEGACY_INDEX_VERSION: u32 = 1;
const LOCK_FILE: &str = "metadata.lock";
pub(super) const INDEX_DIR: &str = "index";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) id: u64,
    pub(super) parent: Option<String>,
    pub(super) kind: Kind,
    pub(super) created: SystemTime,
}

/// A record file: the key (the file name is only its hash) and the record.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    key: String,
    #[serde(flatten)]
    record: Record,
}

#[derive(Debug, Deserialize)]
struct LegacyIndex {
    version: u32,
    next_id: u64,
    snapshots: BTreeMap<String, Record>,
}

/// The index and the layout of a snapshotter root.
#[derive(Debug)]
pub(super) struct MetaStore {
    pub(super) root: PathBuf,
    /// Where the search for a free id starts (the directories decide).
    next_id: AtomicU64,
}

/// The index with the lock held; dropped, it releases the lock.
pub(super) struct Locked<'a> {
    store: &'a MetaStore,
    _lock: File,
}

impl MetaStore {
    pub(super) fn open(root: &Path) -> Result<Self> {
        let Some(s) = root.to_str() else {
            return Err(SnapshotError::InvalidRoot {
                path: root.to_path_buf(),
                reason: "not UTF-8",
            });
        };
        // Overlay options are joined with ',' and lower dirs with ':' (and the fallback for
        // old kernels passes the list in one string), so neither may appear in our paths.
        if s.contains([':', ',', '\n']) {
            return Err(SnapshotError::InvalidRoot {
                path: root.to_path_buf(),
                reason: "the path may not contain ':', ',' or a newline",
            });
        }
        let root = std::path::absolute(root).map_err(|source| SnapshotError::Root {
            path: root.to_path_buf(),
            what: "making the path absolute",
            source,
        })?;
        for dir in [root.join(SNAPSHOTS_DIR), root.join(INDEX_DIR)] {
            fs::create_dir_all(&dir).map_err(|source| SnapshotError::Root {
                path: dir,
                what: "creating the directory",
                source,
            })?;
        }
        let store = MetaStore {
            root,
            next_id: AtomicU64::new(1),
        };
        let first = {
            let locked = store.lock(true)?;
            let legacy_next = locked.upgrade_legacy()?;
            let records = locked.all()?;
            let in_records = records.values().map(|r| r.id).max().unwrap_or(0);
            legacy_next.max(in_records + 1)
        };
        store.next_id.store(first, Ordering::Relaxed);
        Ok(store)
    }

    pub(super) fn snapshot_dir(&self, id: u64) -> PathBuf {
        self.root.join(SNAPSHOTS_DIR).join(id.to_string())
    }

    pub(super) fn fs_dir(&self, id: u64) -> PathBuf {
        self.snapshot_dir(id).join("fs")
    }

    pub(super) fn work_dir(&self, id: u64) -> PathBuf {
        self.snapshot_dir(id).join("work")
    }

    fn index_dir(&self) -> PathBuf {
        self.root.join(INDEX_DIR)
    }

    fn record_path(&self, key: &str) -> PathBuf {
        let name = Digest::sha256_of(key.as_bytes());
        self.index_dir().join(format!("{}.json", name.hex()))
    }

    pub(super) fn index_err(&self, what: &'static str) -> impl Fn(io::Error) -> SnapshotError + '_ {
        move |source| SnapshotError::Index {
            path: self.index_dir(),
            what,
            source,
        }
    }

    /// Takes the lock, shared (`exclusive == false`) or exclusive.
    pub(super) fn lock(&self, exclusive: bool) -> Result<Locked<'_>> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.root.join(LOCK_FILE))
            .map_err(self.index_err("opening the lock file"))?;
        let op = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        loop {
            match rustix::fs::flock(&lock, op) {
                Ok(()) => break,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(self.index_err("locking")(e.into())),
            }
        }
        Ok(Locked {
            store: self,
            _lock: lock,
        })
    }
}

impl Locked<'_> {
    /// The record of `key`, if there is one.
    pub(super) fn find(&self, key: &str) -> Result<Option<Record>> {
        let store = self.store;
        match fs::read(store.record_path(key)) {
            Ok(bytes) => {
                let stored = parse(store, &bytes)?;
                // Two keys with one hash cannot happen with SHA-256; a file that names
                // another key is damage, reported rather than taken for this key.
                if stored.key != key {
                    return Err(store.index_err("reading")(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the record of {key:?} names {:?}", stored.key),
                    )));
                }
                Ok(Some(stored.record))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(store.index_err("reading")(e)),
        }
    }

    /// The record of `key`, or [`SnapshotError::NotFound`].
    pub(super) fn get(&self, key: &str) -> Result<Record> {
        self.find(key)?.ok_or_else(|| SnapshotError::NotFound {
            key: key.to_string(),
        })
    }

    /// Ids of `parent` and its ancestors, nearest first. Every one is committed.
    pub(super) fn chain(&self, parent: Option<&str>) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        let mut next = parent.map(str::to_string);
        while let Some(key) = next {
            // A cycle can only come from hand-edited records; stop rather than spin.
            if !seen.insert(key.clone()) {
                return Err(self.store.index_err("following parents")(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "parent cycle",
                )));
            }
            let rec = self.get(&key)?;
            ids.push(rec.id);
            next = rec.parent;
        }
        Ok(ids)
    }

    /// How many snapshots have `key` as their parent (a walk over every record).
    pub(super) fn children(&self, key: &str) -> Result<usize> {
        Ok(self
            .all()?
            .values()
            .filter(|r| r.parent.as_deref() == Some(key))
            .count())
    }

    /// Every record by key.
    pub(super) fn all(&self) -> Result<BTreeMap<String, Record>> {
        let store = self.store;
        let mut out = BTreeMap::new();
        let dir = store.index_dir();
        for entry in fs::read_dir(&dir).map_err(store.index_err("listing"))? {
            let entry = entry.map_err(store.index_err("listing"))?;
            let name = entry.file_name();
            if !name.to_string_lossy().ends_with(".json") {
                continue;
            }
            let bytes = match fs::read(entry.path()) {
                Ok(b) => b,
                // Removed since the listing (a reader under a shared lock never sees that,
                // but `cleanup` may list while another root shares nothing with it).
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(store.index_err("reading")(e)),
            };
            let stored = parse(store, &bytes)?;
            out.insert(stored.key, stored.record);
        }
        Ok(out)
    }

    /// Makes the directory of a new snapshot and returns its id.
    pub(super) fn new_dir(&self) -> Result<u64> {
        let store = self.store;
        loop {
            let id = store.next_id.fetch_add(1, Ordering::Relaxed);
            match fs::create_dir(store.snapshot_dir(id)) {
                Ok(()) => return Ok(id),
                // Another process's, or the leftover of a crash that `cleanup` takes.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(store.index_err("creating a snapshot directory")(e)),
            }
        }
    }

    /// Writes the record of `key` durably: the old or the new one survives a crash.
    pub(super) fn put(&self, key: &str, record: &Record) -> Result<()> {
        let store = self.store;
        let path = store.record_path(key);
        let tmp = path.with_extension("json.tmp");
        let stored = Stored {
            key: key.to_string(),
            record: record.clone(),
        };
        let written = write_synced(&tmp, &stored)
            .and_then(|()| fs::rename(&tmp, &path))
            .and_then(|()| sync_dir(&store.index_dir()));
        if written.is_err() {
            // A full disk must not keep a torn temporary file: it would hold on to space
            // nothing can reach.
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(store.index_err("writing a record"))
    }

    /// Deletes the record of `key` durably (missing is fine).
    pub(super) fn delete(&self, key: &str) -> Result<()> {
        let store = self.store;
        match fs::remove_file(store.record_path(key)) {
            Ok(()) => sync_dir(&store.index_dir()).map_err(store.index_err("syncing")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(store.index_err("deleting a record")(e)),
        }
    }

    /// Removes the temporary files of record writes cut short: only written under the
    /// exclusive lock, which the caller holds, so any that exists is a leftover.
    pub(super) fn remove_temporary_files(&self) -> Result<()> {
        for dir in [self.store.root.clone(), self.store.index_dir()] {
            let root_err = |path: &Path, what: &'static str| {
                let path = path.to_path_buf();
                move |source| SnapshotError::Root { path, what, source }
            };
            for entry in fs::read_dir(&dir).map_err(root_err(&dir, "listing"))? {
                let entry = entry.map_err(root_err(&dir, "listing"))?;
                if entry.file_name().to_string_lossy().ends_with(".tmp") {
                    match fs::remove_file(entry.path()) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(root_err(&entry.path(), "removing a temporary file")(e))
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Turns the `metadata.json` of earlier versions into record files, then deletes it.
    /// Returns the next id it named (1 without one).
    fn upgrade_legacy(&self) -> Result<u64> {
        let store = self.store;
        let legacy = store.root.join(LEGACY_INDEX_FILE);
        let bytes = match fs::read(&legacy) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(1),
            Err(e) => return Err(store.index_err("reading the old index")(e)),
        };
        let index: LegacyIndex = serde_json::from_slice(&bytes).map_err(|e| {
            store.index_err("parsing the old index")(io::Error::new(io::ErrorKind::InvalidData, e))
        })?;
        if index.version != LEGACY_INDEX_VERSION {
            return Err(store.index_err("reading the old index")(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown index version {}", index.version),
            )));
        }
        // The old index is the authority until it is gone: records written by an upgrade
        // cut short are written again, and ones it does not name are not from it.
        for (key, record) in &index.snapshots {
            let path = store.record_path(key);
            let tmp = path.with_extension("json.tmp");
            let stored = Stored {
                key: key.clone(),
                record: record.clone(),
            };
            write_synced(&tmp, &stored)
                .and_then(|()| fs::rename(&tmp, &path))
                .map_err(store.index_err("upgrading the old index"))?;
        }
        sync_dir(&store.index_dir()).map_err(store.index_err("upgrading the old index"))?;
        fs::remove_file(&legacy)
            .and_then(|()| sync_dir(&store.root))
            .map_err(store.index_err("removing the old index"))?;
        Ok(index.next_id)
    }
}

fn parse(store: &MetaStore, bytes: &[u8]) -> Result<Stored> {
    serde_json::from_slice::<Stored>(bytes)
        .map_err(|e| store.index_err("parsing")(io::Error::new(io::ErrorKind::InvalidData, e)))
}

fn write_synced(path: &Path, stored: &Stored) -> io::Result<()> {
    let bytes = serde_json::to_vec(stored).map_err(io::Error::other)?;
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(&bytes)?;
    f.sync_all()
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
