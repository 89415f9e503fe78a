//! The volume store of the `local` driver: one directory per volume under
//! `<data-root>/volumes` holding the volume's record (`volume.json`, written durably) and its
//! data (`_data`, which containers mount). Records are read once at open and kept in memory;
//! which containers use a volume is not stored here (the containers' records say it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::local::LocalOptions;
use super::VolumeError;
use crate::fsutil::{create_private_dir, remove_temporary_files, write_durable};

/// The record beside a volume's data.
const RECORD: &str = "volume.json";
/// The data directory: what containers mount.
const DATA: &str = "_data";
/// The only driver muelle has.
pub const LOCAL: &str = "local";
/// The label Docker (23 and later) puts on a volume made for a container without a name.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// What the engine keeps about one volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    /// RFC 3339 in seconds, as dockerd shows it.
    pub created_at: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The driver options as given (`type`, `device`, `o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl VolumeRecord {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(ANONYMOUS_LABEL)
    }
}

/// Docker's rule for a local volume's name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A name for an anonymous volume: 64 random hex digits, as Docker's.
pub(super) fn random_name() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The volumes of one data root.
#[derive(Debug)]
pub struct Volumes {
    root: PathBuf,
    records: Mutex<BTreeMap<String, VolumeRecord>>,
    /// Volumes whose driver options are mounted on `_data`, with the containers using them.
    mounted: Mutex<HashMap<String, HashSet<String>>>,
}

impl Volumes {
    /// Opens (creating) `<data-root>/volumes` and reads every volume's record. A directory
    /// without a readable record is skipped with a warning, not fatal to the daemon.
    pub fn open(data_root: &Path) -> Result<Self, VolumeError> {
        let root = data_root.join("volumes");
        create_private_dir(&root).map_err(|source| VolumeError::Io {
            what: "creating",
            path: root.clone(),
            source,
        })?;
        let mut records = BTreeMap::new();
        let rd = std::fs::read_dir(&root).map_err(|source| VolumeError::Io {
            what: "reading",
            path: root.clone(),
            source,
        })?;
        for e in rd.flatten() {
            let dir = e.path();
            remove_temporary_files(&dir);
            let p = dir.join(RECORD);
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<VolumeRecord>(&b).map_err(|e| e.to_string()))
            {
                Ok(r) => {
                    records.insert(r.name.clone(), r);
                }
                Err(e) => tracing::warn!(path = %p.display(), error = %e, "volume record skipped"),
            }
        }
        Ok(Volumes {
            root,
            records: Mutex::new(records),
            mounted: Mutex::new(HashMap::new()),
        })
    }

    fn records(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, VolumeRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn mounted(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.mounted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where a volume's data lives (Docker's `Mountpoint`).
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join(DATA)
    }

    pub fn get(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        self.records()
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))
    }

    pub fn list(&self) -> Vec<VolumeRecord> {
        self.records().values().cloned().collect()
    }

    /// Creates a volume, or returns the one of that name (as Docker: a second create of a
    /// name is no error, and changes nothing). Nothing is left on disk when it fails.
    /// Returns the record and whether it was made now.
    pub fn create(
        &self,
        name: &str,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<(VolumeRecord, bool), VolumeError> {
        let driver = if driver.is_empty() { LOCAL } else { driver };
        if !valid_name(name) {
            return Err(VolumeError::InvalidName(name.to_string()));
        }
        let mut records = self.records();
        if let Some(r) = records.get(name) {
            if r.driver != driver {
                return Err(VolumeError::Conflict(format!(
                    "create {name}: volume name must be unique"
                )));
            }
            return Ok((r.clone(), false));
        }
        if driver != LOCAL {
            return Err(VolumeError::UnknownDriver {
                name: name.to_string(),
                driver: driver.to_string(),
            });
        }
        LocalOptions::parse(&options)
            .map_err(|e| VolumeError::Invalid(format!("create {name}: {e}")))?;
        let rec = VolumeRecord {
            name: name.to_string(),
            driver: driver.to_string(),
            created_at: muelle_types::time::rfc3339(muelle_types::time::unix_secs(
                std::time::SystemTime::now(),
            )),
            labels,
            options,
        };
        let dir = self.root.join(name);
        if let Err(e) = self.write_new(&dir, &rec) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        records.insert(name.to_string(), rec.clone());
        Ok((rec, true))
    }

    fn write_new(&self, dir: &Path, rec: &VolumeRecord) -> Result<(), VolumeError> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| VolumeError::Io { what, path, source }
        };
        create_private_dir(dir).map_err(io("creating", dir))?;
        let data = dir.join(DATA);
        // As Docker: the data directory is open to the users of the container.
        std::fs::create_dir(&data)
            .and_then(|()| std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)))
            .map_err(io("creating", &data))?;
        let bytes = serde_json::to_vec(rec).map_err(|e| VolumeError::Internal(e.to_string()))?;
        let p = dir.join(RECORD);
        write_durable(&p, &bytes).map_err(io("writing", &p))
    }

    /// Deletes a volume's record and data. The caller has checked that nothing uses it.
    pub fn remove(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        let mut records = self.records();
        let rec = records
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
        let dir = self.root.join(name);
        // The record goes first: a removal cut short leaves no half volume that lists.
        let p = dir.join(RECORD);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(VolumeError::Io {
                    what: "removing",
                    path: p,
                    source,
                })
            }
        }
        records.remove(name);
        drop(records);
        // A left-over mount of the driver's options must not take its device's files along.
        let _ = rustix::mount::unmount(dir.join(DATA), rustix::mount::UnmountFlags::DETACH);
        std::fs::remove_dir_all(&dir).map_err(|source| VolumeError::Io {
            what: "removing",
            path: dir,
            source,
        })?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        for ok in ["ab", "a.b-c_d", "0x", "my-vol"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["a", "", "a/b", "-ab", ".ab", "a b", "a:b", "/abs"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn create_is_idempotent_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let v = Volumes::open(dir.path()).unwrap();
        let (a, made) = v
            .create(
                "vol1",
                "",
                BTreeMap::from([("k".into(), "v".into())]),
                BTreeMap::new(),
            )
            .unwrap();
        assert!(made);
        let (b, made) = v
            .create("vol1", "local", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        assert!(!made);
        assert_eq!(a, b);
        let data = v.data_path("vol1");
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        let mode = std::fs::metadata(data.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        assert!(v
            .create("a/b", "", BTreeMap::new(), BTreeMap::new())
            .is_err());
        assert!(v
            .create("vol2", "nope", BTreeMap::new(), BTreeMap::new())
            .is_err());
        let bad = BTreeMap::from([("bogus".into(), "1".into())]);
        assert!(v.create("vol3", "", BTreeMap::new(), bad).is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path().join("volumes"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("vol1")]);
        let again = Volumes::open(dir.path()).unwrap();
        assert_eq!(again.get("vol1").unwrap(), a);
        again.remove("vol1").unwrap();
        assert!(!dir.path().join("volumes/vol1").exists());
        assert!(matches!(again.get("vol1"), Err(VolumeError::NotFound(_))));
    }
}
