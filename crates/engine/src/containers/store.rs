//! The engine's containers by ID: their records in memory and on disk
//! (`<data-root>/containers/ID/config.v2.json`), lookups by ID, name or ID prefix, names
//! taken, and each container's operation lock and progress channel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::attach::PendingAttach;
use super::{internal, ContainerError, ContainerRecord};
use crate::fsutil::{create_private_dir, remove_temporary_files, write_atomic, write_durable};
use crate::{EngineError, Result};

const RECORD: &str = "config.v2.json";

/// What a wait or a follower can watch: how many times the container exited, and whether
/// it is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub exits: u64,
    pub removed: bool,
    pub running: bool,
    /// A supervisor of this container has not exited yet: after answering the exit it
    /// still unmounts the rootfs, so a new start waits before mounting it again.
    pub shim_busy: bool,
}

/// One container: its record and what serialises and announces its operations.
pub(crate) struct Ctr {
    pub(crate) id: String,
    rec: Mutex<ContainerRecord>,
    pub(crate) progress: watch::Sender<Progress>,
    /// Serialises start, stop, kill-and-wait, remove.
    pub(crate) op: tokio::sync::Mutex<()>,
    /// Attaches waiting for the start.
    pub(super) pending: Mutex<Vec<PendingAttach>>,
    /// The health probe loop's control (`true`: paused); dropped, the loop ends.
    pub(super) health: Mutex<Option<watch::Sender<bool>>>,
}

impl Ctr {
    fn new(rec: ContainerRecord) -> Self {
        let (progress, _) = watch::channel(Progress {
            running: rec.state.running(),
            ..Progress::default()
        });
        Ctr {
            id: rec.id.clone(),
            rec: Mutex::new(rec),
            progress,
            op: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            health: Mutex::new(None),
        }
    }

    /// The op lock, once the container is still there: an operation that queued behind a
    /// removal finds it gone (404) instead of working on what is left of it (a restart
    /// recreated its bundle and answered 500 for the missing rootfs.json).
    pub(crate) async fn lock_op(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, ContainerError> {
        let guard = self.op.lock().await;
        if self.progress.borrow().removed {
            return Err(ContainerError::NotFound(self.id.clone()));
        }
        Ok(guard)
    }

    pub(crate) fn record(&self) -> ContainerRecord {
        lock(&self.rec).clone()
    }

    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut ContainerRecord) -> T) -> T {
        f(&mut lock(&self.rec))
    }

    fn name(&self) -> String {
        lock(&self.rec).name.clone()
    }
}

/// The engine's containers.
pub struct Containers {
    dir: PathBuf,
    run: PathBuf,
    runtime_root: PathBuf,
    map: Mutex<BTreeMap<String, Arc<Ctr>>>,
}

impl std::fmt::Debug for Containers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Containers")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// A poisoned lock still holds consistent data here (every writer replaces whole values),
/// so it is used as it is.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Docker's 409 for a name another container has.
fn name_conflict(name: &str, other: &str) -> ContainerError {
    ContainerError::Conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
    ))
}

impl Containers {
    /// Loads the records under `<data-root>/containers` (skipping unreadable ones, after
    /// clearing what interrupted writes left).
    pub(crate) fn open(data_root: &Path, exec_root: &Path) -> Result<Self> {
        let dir = data_root.join("containers");
        let run = exec_root.join("containers");
        let runtime_root = exec_root.join("runtime");
        for d in [&dir, &run, &runtime_root] {
            create_private_dir(d).map_err(|source| EngineError::Io {
                what: "creating",
                path: d.clone(),
                source,
            })?;
        }
        let mut map = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                remove_temporary_files(&e.path());
                let p = e.path().join(RECORD);
                let Ok(bytes) = std::fs::read(&p) else {
                    continue;
                };
                match serde_json::from_slice::<ContainerRecord>(&bytes) {
                    Ok(rec) => {
                        map.insert(rec.id.clone(), Arc::new(Ctr::new(rec)));
                    }
                    Err(e) => {
                        tracing::warn!(path = %p.display(), error = %e, "skipping unreadable container record")
                    }
                }
            }
        }
        Ok(Containers {
            dir,
            run,
            runtime_root,
            map: Mutex::new(map),
        })
    }

    /// `<data-root>/containers`.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn data_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// `<exec-root>/containers`, where the bundles are.
    pub(super) fn run_dir(&self) -> &Path {
        &self.run
    }

    pub(crate) fn bundle(&self, id: &str) -> PathBuf {
        self.run.join(id)
    }

    pub fn runtime_root(&self) -> &Path {
        &self.runtime_root
    }

    /// Whether `dir` (a container directory) holds a record.
    pub(super) fn has_record(dir: &Path) -> bool {
        dir.join(RECORD).exists()
    }

    pub(crate) fn save(&self, rec: &ContainerRecord) -> Result<()> {
        let dir = self.data_dir(&rec.id);
        let data =
            serde_json::to_vec_pretty(rec).map_err(|e| internal("encode record")(e.to_string()))?;
        // A `--rm` container's record is not synced: after a crash of the machine such a
        // container is gone for good, and an orphaned rootfs is removed at the next start.
        let write = if rec.host_config.auto_remove {
            write_atomic
        } else {
            write_durable
        };
        write(&dir.join(RECORD), &data).map_err(|source| EngineError::Io {
            what: "writing",
            path: dir.join(RECORD),
            source,
        })
    }

    /// Deletes a container's record, leaving the rest of its directory: from then on a
    /// daemon start takes the directory for remains to remove.
    pub(super) fn forget_record(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.data_dir(id).join(RECORD)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Finds a container by full ID, name (with or without `/`), or unique ID prefix.
    pub(crate) fn find(&self, name_or_id: &str) -> Result<Arc<Ctr>, ContainerError> {
        let map = lock(&self.map);
        let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if key.is_empty() {
            return Err(ContainerError::NotFound(name_or_id.to_string()));
        }
        if let Some(c) = map.get(key) {
            return Ok(c.clone());
        }
        if let Some(c) = map.values().find(|c| c.name() == key) {
            return Ok(c.clone());
        }
        let matches: Vec<&Arc<Ctr>> = map.values().filter(|c| c.id.starts_with(key)).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ContainerError::NotFound(name_or_id.to_string())),
            _ => Err(ContainerError::Invalid(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            ))),
        }
    }

    /// The container holding `name`, other than `except`.
    pub(super) fn name_in_use(&self, name: &str, except: Option<&str>) -> Option<String> {
        lock(&self.map)
            .values()
            .find(|c| Some(c.id.as_str()) != except && c.name() == name)
            .map(|c| c.id.clone())
    }

    /// Adds a new container, unless its name is taken (checked and taken at once, so two
    /// creates cannot both have it).
    pub(super) fn insert(&self, rec: ContainerRecord) -> Result<Arc<Ctr>, ContainerError> {
        let mut map = lock(&self.map);
        if let Some(other) = map.values().find(|x| x.name() == rec.name) {
            return Err(name_conflict(&rec.name, &other.id));
        }
        let ctr = Arc::new(Ctr::new(rec));
        map.insert(ctr.id.clone(), ctr.clone());
        Ok(ctr)
    }

    /// Renames `ctr`, unless another container has `new` (checked and changed under the
    /// map's lock, so two renames cannot both take it). Returns the old name and the record.
    pub(super) fn rename(
        &self,
        ctr: &Ctr,
        new: &str,
    ) -> Result<(String, ContainerRecord), ContainerError> {
        let map = lock(&self.map);
        let old = ctr.name();
        if old == new {
            return Err(ContainerError::Invalid(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        if let Some(other) = map.values().find(|c| c.id != ctr.id && c.name() == new) {
            return Err(name_conflict(new, &other.id));
        }
        let rec = ctr.update(|r| {
            r.name = new.to_string();
            r.clone()
        });
        Ok((old, rec))
    }

    pub(super) fn remove(&self, id: &str) {
        lock(&self.map).remove(id);
    }

    pub(super) fn all(&self) -> Vec<Arc<Ctr>> {
        lock(&self.map).values().cloned().collect()
    }

    pub(super) fn ids(&self) -> std::collections::BTreeSet<String> {
        lock(&self.map).keys().cloned().collect()
    }

    pub fn records(&self) -> Vec<ContainerRecord> {
        lock(&self.map).values().map(|c| c.record()).collect()
    }

    /// A container made from `image_id` (`sha256:...`), with whether it runs: what stops
    /// `rmi` from taking an image's last name.
    pub(crate) fn user_of_image(&self, image_id: &str) -> Option<(String, bool)> {
        lock(&self.map)
            .values()
            .map(|c| c.record())
            .find(|r| r.image_id == image_id)
            .map(|r| (r.id, r.state.running()))
    }
}
