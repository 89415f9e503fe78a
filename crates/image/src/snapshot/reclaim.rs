//! Removing snapshots and reclaiming what failed or interrupted work left behind.
//!
//! A failure must leave nothing that only a person could find: an unpack that fails (a
//! corrupt layer, a full disk) removes its private `extract-…` snapshot at once, and what a
//! crash or a second failure left (the record of an extraction whose process is gone, a
//! directory no record names, a torn `metadata.json.tmp`) is removed by `cleanup` at open
//! and at prune. On a full disk the index cannot be rewritten before space is freed, so a
//! snapshot nobody stacks on loses its tree first.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::{remove_tree, Core, Kind, Result, SnapshotError, EXTRACT_PREFIX, SNAPSHOTS_DIR};

/// Keys of the extractions this process is running (across every snapshotter root: keys
/// carry the pid, a sequence number and a timestamp, so they never collide).
static IN_FLIGHT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn in_flight() -> MutexGuard<'static, BTreeSet<String>> {
    match IN_FLIGHT.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// An extraction in progress in this process, for as long as the value lives.
pub(super) struct InFlight(String);

impl InFlight {
    pub(super) fn register(key: &str) -> InFlight {
        in_flight().insert(key.to_string());
        InFlight(key.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        in_flight().remove(&self.0);
    }
}

/// Whether `key` names a layer extraction that nobody is running any more: its process is
/// gone, or it is this process and the extraction is not in flight (its discard failed).
fn abandoned_extraction(key: &str) -> bool {
    let Some(rest) = key
        .strip_prefix(EXTRACT_PREFIX)
        .and_then(|r| r.strip_prefix('-'))
    else {
        return false;
    };
    let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    if pid == std::process::id() {
        return !in_flight().contains(key);
    }
    // Another process on the same root (tests, tools) may be unpacking; only a dead one
    // has surely stopped. A reused pid keeps a leftover until that process is gone too.
    !Path::new("/proc").join(pid.to_string()).exists()
}

impl Core {
    pub(super) fn remove(&self, key: &str) -> Result<()> {
        let mut locked = self.meta.lock(true)?;
        let rec = locked.index.get(key)?.clone();
        let children = locked.index.children(key);
        if children > 0 {
            return Err(SnapshotError::HasChildren {
                key: key.to_string(),
                children,
            });
        }
        locked.index.snapshots.remove(key);
        let dir = self.meta.snapshot_dir(rec.id);
        match locked.save() {
            Ok(()) => {}
            // The disk may be too full for the new index (a layer that filled it, a
            // container's log): an active snapshot or a view is nobody's parent, so its
            // tree can go while it is still named, and the index is written into the room
            // that freed. A committed one keeps its tree: its name would promise a layer.
            Err(first) if rec.kind != Kind::Committed => {
                remove_tree(&dir).map_err(Self::snap_err(key, "removing"))?;
                return locked.save().map_err(|_| first);
            }
            Err(e) => return Err(e),
        }
        drop(locked);
        // Unnamed now: if this is interrupted, `cleanup` finishes it.
        remove_tree(&dir).map_err(Self::snap_err(key, "removing"))
    }

    pub(super) fn cleanup(&self) -> Result<()> {
        let mut locked = self.meta.lock(true)?;
        let root_err = |path: &Path, what: &'static str| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Root { path, what, source }
        };
        // Temporary index files are only written under the exclusive lock held here, so
        // any that exists is the remains of a failed or interrupted save.
        let root = self.meta.root.clone();
        for entry in fs::read_dir(&root).map_err(root_err(&root, "listing"))? {
            let entry = entry.map_err(root_err(&root, "listing"))?;
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                match fs::remove_file(entry.path()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(root_err(&entry.path(), "removing a temporary file")(e)),
                }
            }
        }
        let abandoned: Vec<(String, u64)> = locked
            .index
            .snapshots
            .iter()
            .filter(|(k, r)| r.kind == Kind::Active && abandoned_extraction(k))
            .map(|(k, r)| (k.clone(), r.id))
            .collect();
        if !abandoned.is_empty() {
            // Trees first: on a full disk that is what makes room for the smaller index.
            for (key, id) in &abandoned {
                remove_tree(&self.meta.snapshot_dir(*id))
                    .map_err(Self::snap_err(key, "removing an interrupted extraction"))?;
                locked.index.snapshots.remove(key);
            }
            // Should even that not fit, the records stay on disk (naming empty snapshots
            // nobody sees) and the next cleanup retries; opening must not fail over it.
            let _ = locked.save();
        }
        let live: HashSet<u64> = locked.index.snapshots.values().map(|r| r.id).collect();
        let dir = self.meta.root.join(SNAPSHOTS_DIR);
        for entry in fs::read_dir(&dir).map_err(root_err(&dir, "listing"))? {
            let entry = entry.map_err(root_err(&dir, "listing"))?;
            let name = entry.file_name();
            let known = name
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|id| live.contains(&id));
            if !known {
                remove_tree(&entry.path()).map_err(root_err(
                    &entry.path(),
                    "removing an unreferenced snapshot directory",
                ))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{NativeSnapshotter, Snapshotter};
    use super::*;

    /// An extraction whose process died and a torn index save are gone after cleanup (and
    /// so after open); an extraction still running in this process stays until it ends.
    #[test]
    fn cleanup_reclaims_interrupted_extractions_and_temporary_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("native");
        let sn = NativeSnapshotter::open(&root).unwrap();
        let dead = "extract-4294967295-0-1 sha256:dead";
        sn.prepare(dead, None).unwrap();
        let running = format!("extract-{}-0-1 sha256:running", std::process::id());
        let guard = InFlight::register(&running);
        sn.prepare(&running, None).unwrap();
        sn.prepare("container-x", None).unwrap();
        fs::write(root.join("metadata.json.tmp"), b"{\"torn").unwrap();
        let dirs = || fs::read_dir(root.join(SNAPSHOTS_DIR)).unwrap().count();
        assert_eq!(dirs(), 3);

        sn.cleanup().unwrap();
        let keys: Vec<String> = sn.list().unwrap().into_iter().map(|i| i.key).collect();
        assert_eq!(keys, vec!["container-x".to_string(), running.clone()]);
        assert_eq!(dirs(), 2);
        assert!(!root.join("metadata.json.tmp").exists());

        // Its discard failed and the extraction is over: the next cleanup takes it.
        drop(guard);
        drop(sn);
        let sn = NativeSnapshotter::open(&root).unwrap();
        let keys: Vec<String> = sn.list().unwrap().into_iter().map(|i| i.key).collect();
        assert_eq!(keys, vec!["container-x".to_string()]);
        assert_eq!(dirs(), 1);
    }

    #[test]
    fn extraction_keys_are_judged_by_their_process() {
        let ours = format!("extract-{}-0-1 sha256:x", std::process::id());
        assert!(abandoned_extraction(&ours), "not in flight");
        let guard = InFlight::register(&ours);
        assert!(!abandoned_extraction(&ours));
        drop(guard);
        assert!(abandoned_extraction(&ours));
        // pid 1 is always there; a pid above the kernel's maximum never is.
        assert!(!abandoned_extraction("extract-1-0-1 sha256:x"));
        assert!(abandoned_extraction("extract-4294967295-0-1 sha256:x"));
        assert!(!abandoned_extraction("container-abc"));
        assert!(!abandoned_extraction("extract-notapid-0-1 x"));
    }
}
