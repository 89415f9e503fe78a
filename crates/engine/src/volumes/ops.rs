//! The engine's volume operations, each announced on the event bus as dockerd does
//! (`create`, `destroy`): create, list with Docker's filters, inspect, remove (refused while
//! a container refers to the volume), prune, and the usage `system df` shows.

use std::collections::BTreeMap;

use super::{VolumeError, VolumeRecord, ANONYMOUS_LABEL};
use crate::labels::labels_match;
use crate::{Actor, Engine, Event, EventKind};

/// `GET /volumes` filters (moby's `name`, `label`, `dangling`, `driver`).
#[derive(Debug, Clone, Default)]
pub struct VolumeFilters {
    /// Substrings of the name; any may match.
    pub names: Vec<String>,
    /// `key` or `key=value`; all must match.
    pub labels: Vec<String>,
    pub dangling: Option<bool>,
    pub drivers: Vec<String>,
}

/// `POST /volumes/prune` filters.
#[derive(Debug, Clone, Default)]
pub struct VolumesPrune {
    /// Named volumes too (`all=true`, or an API before 1.42).
    pub all: bool,
    pub labels: Vec<String>,
    /// `label!=`: none of these may match.
    pub not_labels: Vec<String>,
}

impl Engine {
    pub fn volumes(&self) -> &super::Volumes {
        &self.volumes
    }

    pub(super) fn volume_event(&self, action: &str, name: &str, extra: &[(&str, String)]) {
        let mut attributes = BTreeMap::from([("driver".to_string(), super::LOCAL.to_string())]);
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.clone());
        }
        self.events().publish(Event::new(
            EventKind::Volume,
            action,
            Actor {
                id: name.to_string(),
                attributes,
            },
        ));
    }

    /// Creates a volume (an empty name makes an anonymous one with a random name). A second
    /// create of a name returns the volume as it is.
    pub fn create_volume(
        &self,
        name: &str,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<VolumeRecord, VolumeError> {
        let mut labels = labels;
        let name = if name.is_empty() {
            labels.insert(ANONYMOUS_LABEL.to_string(), String::new());
            super::store::random_name()
                .map_err(|e| VolumeError::Internal(format!("make a volume name: {e}")))?
        } else {
            name.to_string()
        };
        let (rec, made) = self.volumes.create(&name, driver, labels, options)?;
        if made {
            self.volume_event("create", &name, &[]);
        }
        Ok(rec)
    }

    /// The containers (IDs) whose mounts name the volume.
    pub fn volume_users(&self, name: &str) -> Vec<String> {
        self.containers()
            .records()
            .into_iter()
            .filter(|r| r.mounts.iter().any(|m| m.typ == "volume" && m.name == name))
            .map(|r| r.id)
            .collect()
    }

    pub fn volume(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        self.volumes.get(name)
    }

    pub fn list_volumes(&self, f: &VolumeFilters) -> Vec<VolumeRecord> {
        let records = self.containers().records();
        let used = |name: &str| {
            records
                .iter()
                .any(|r| r.mounts.iter().any(|m| m.typ == "volume" && m.name == name))
        };
        self.volumes
            .list()
            .into_iter()
            .filter(|v| f.names.is_empty() || f.names.iter().any(|n| v.name.contains(n.as_str())))
            .filter(|v| labels_match(&v.labels, &f.labels))
            .filter(|v| f.drivers.is_empty() || f.drivers.contains(&v.driver))
            .filter(|v| f.dangling.is_none_or(|d| d != used(&v.name)))
            .collect()
    }

    /// Removes a volume nothing refers to. With `force`, a missing volume is no error.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), VolumeError> {
        match self.volumes.get(name) {
            Err(VolumeError::NotFound(_)) if force => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let users = self.volume_users(name);
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users,
            });
        }
        self.volumes.remove(name)?;
        self.volume_event("destroy", name, &[]);
        Ok(())
    }

    /// Removes the unused volumes the filters pick; returns their names and the bytes freed.
    pub fn prune_volumes(&self, p: &VolumesPrune) -> (Vec<String>, u64) {
        let mut gone = Vec::new();
        let mut freed = 0;
        let unused = self.list_volumes(&VolumeFilters {
            dangling: Some(true),
            ..Default::default()
        });
        for v in unused {
            if !p.all && !v.is_anonymous() {
                continue;
            }
            if !labels_match(&v.labels, &p.labels)
                || p.not_labels
                    .iter()
                    .any(|l| labels_match(&v.labels, std::slice::from_ref(l)))
            {
                continue;
            }
            let size = crate::fsutil::dir_size(&self.volumes.data_path(&v.name));
            if self.remove_volume(&v.name, false).is_ok() {
                freed += size;
                gone.push(v.name);
            }
        }
        (gone, freed)
    }

    /// `system df`: each volume's size and how many containers refer to it.
    pub fn volume_usage(&self) -> Vec<(VolumeRecord, u64, usize)> {
        let records = self.containers().records();
        self.volumes
            .list()
            .into_iter()
            .map(|v| {
                let refs = records
                    .iter()
                    .filter(|r| {
                        r.mounts
                            .iter()
                            .any(|m| m.typ == "volume" && m.name == v.name)
                    })
                    .count();
                let size = crate::fsutil::dir_size(&self.volumes.data_path(&v.name));
                (v, size, refs)
            })
            .collect()
    }
}
