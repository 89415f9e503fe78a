//! Removing snapshots and reclaiming what failed or interrupted work left behind.
//!
//! A failure must leave nothing that only a person could find: an unpack that fails (a
//! corrupt layer, a full disk) removes its private `extract-…` snapshot at once, and what a
//! crash or a second failure left (the record of an extraction whose process is gone, a
//! directory no record names, a torn temporary record file) is removed by `cleanup` at open
//! and at prune. Deleting a record needs no room, so removal works on a full disk.

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
        let locked = self.meta.lock(true)?;
        let rec = locked.get(key)?;
        // Only a committed snapshot can be a parent: the walk over every record is for
        // layers, not for containers' snapshots.
        if rec.kind == Kind::Committed {
            let children = locked.children(key)?;
            if children > 0 {
                return Err(SnapshotError::HasChildren {
                    key: key.to_string(),
                    children,
                });
            }
        }
        // Deleting a record needs no room, so this works on a full disk too.
        locked.delete(key)?;
        drop(locked);
        // Unnamed now: if this is interrupted, `cleanup` finishes it.
        remove_tree(&self.meta.snapshot_dir(rec.id)).map_err(Self::snap_err(key, "removing"))
    }

    pub(super) fn cleanup(&self) -> Result<()> {
        let locked = self.meta.lock(true)?;
        let root_err = |path: &Path, what: &'static str| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Root { path, what, source }
        };
        locked.remove_temporary_files()?;
        let mut records = locked.all()?;
        let abandoned: Vec<(String, u64)> = records
            .iter()
            .filter(|(k, r)| r.kind == Kind::Active && abandoned_extraction(k))
            .map(|(k, r)| (k.clone(), r.id))
            .collect();
        // Trees first: on a full disk that is what makes room.
        for (key, id) in &abandoned {
            records.remove(key);
            // Never a tree another record names (only hand-made damage could share one).
            if records.values().any(|r| r.id == *id) {
                continue;
            }
            remove_tree(&self.meta.snapshot_dir(*id))
                .map_err(Self::snap_err(key, "removing an interrupted extraction"))?;
        }
        for (key, _) in &abandoned {
            // Should even that fail, the record stays (naming an empty snapshot nobody
            // sees) and the next cleanup retries; opening must not fail over it.
            let _ = locked.delete(key);
        }
        let live: HashSet<u64> = records.values().map(|r| r.id).collect();
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
        fs::write(root.join("index").join("0123.json.tmp"), b"{\"torn").unwrap();
        let dirs = || fs::read_dir(root.join(SNAPSHOTS_DIR)).unwrap().count();
        assert_eq!(dirs(), 3);

        sn.cleanup().unwrap();
        let keys: Vec<String> = sn.list().unwrap().into_iter().map(|i| i.key).collect();
        assert_eq!(keys, vec!["container-x".to_string(), running.clone()]);
        assert_eq!(dirs(), 2);
        assert!(!root.join("index").join("0123.json.tmp").exists());

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
