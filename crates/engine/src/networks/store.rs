//! The network store: one record per network (`<data-root>/networks/ID.json`, written
//! durably), read once at open and kept in memory, looked up as dockerd does (full ID, exact
//! name, unique ID prefix). Which containers are on a network is not stored here: the
//! containers' records say it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::{NetworkError, NetworkRecord};
use crate::fsutil::{create_private_dir, remove_temporary_files, write_durable};

/// The networks of one data root.
#[derive(Debug)]
pub struct NetworkStore {
    dir: PathBuf,
    records: Mutex<BTreeMap<String, NetworkRecord>>,
}

impl NetworkStore {
    /// Opens (creating) `<data-root>/networks` and reads every record; an unreadable one is
    /// skipped with a warning, not fatal to the daemon.
    pub fn open(data_root: &Path) -> Result<Self, NetworkError> {
        let dir = data_root.join("networks");
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| NetworkError::Io { what, path, source }
        };
        create_private_dir(&dir).map_err(io("creating", &dir))?;
        remove_temporary_files(&dir);
        let mut records = BTreeMap::new();
        for e in std::fs::read_dir(&dir)
            .map_err(io("reading", &dir))?
            .flatten()
        {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            match std::fs::read(&p).map_err(|e| e.to_string()).and_then(|b| {
                serde_json::from_slice::<NetworkRecord>(&b).map_err(|e| e.to_string())
            }) {
                Ok(r) => {
                    records.insert(r.id.clone(), r);
                }
                Err(e) => tracing::warn!(path = %p.display(), error = %e, "network record skipped"),
            }
        }
        Ok(NetworkStore {
            dir,
            records: Mutex::new(records),
        })
    }

    /// Every writer replaces whole records, so a poisoned lock still holds consistent data.
    pub(super) fn records(&self) -> MutexGuard<'_, BTreeMap<String, NetworkRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// dockerd's lookup: full ID, then exact name, then a unique ID prefix.
    pub fn find(&self, key: &str) -> Result<NetworkRecord, NetworkError> {
        let records = self.records();
        find_in(&records, key).cloned()
    }

    pub fn list(&self) -> Vec<NetworkRecord> {
        self.records().values().cloned().collect()
    }

    /// Writes `rec` (new or changed) to disk, then to the map.
    pub(super) fn save(
        &self,
        records: &mut BTreeMap<String, NetworkRecord>,
        rec: &NetworkRecord,
    ) -> Result<(), NetworkError> {
        let bytes =
            serde_json::to_vec_pretty(rec).map_err(|e| NetworkError::Other(e.to_string()))?;
        let p = self.path(&rec.id);
        write_durable(&p, &bytes).map_err(|source| NetworkError::Io {
            what: "writing",
            path: p,
            source,
        })?;
        records.insert(rec.id.clone(), rec.clone());
        Ok(())
    }

    /// Deletes the record of `id`; Ok when it is already gone.
    pub(super) fn delete(
        &self,
        records: &mut BTreeMap<String, NetworkRecord>,
        id: &str,
    ) -> Result<(), NetworkError> {
        let p = self.path(id);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(NetworkError::Io {
                    what: "removing",
                    path: p,
                    source,
                })
            }
        }
        records.remove(id);
        Ok(())
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }
}

/// The lookup of [`NetworkStore::find`] over a map already locked.
pub(super) fn find_in<'a>(
    records: &'a BTreeMap<String, NetworkRecord>,
    key: &str,
) -> Result<&'a NetworkRecord, NetworkError> {
    if key.is_empty() {
        return Err(NetworkError::NotFound(key.to_string()));
    }
    if let Some(r) = records.get(key) {
        return Ok(r);
    }
    if let Some(r) = records.values().find(|r| r.name == key) {
        return Ok(r);
    }
    let matches: Vec<&NetworkRecord> = records.values().filter(|r| r.id.starts_with(key)).collect();
    match matches.as_slice() {
        [] => Err(NetworkError::NotFound(key.to_string())),
        [one] => Ok(one),
        many => Err(NetworkError::Invalid(format!(
            "network {key} is ambiguous ({} matches found based on ID prefix)",
            many.len()
        ))),
    }
}
