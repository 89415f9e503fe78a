//! `docker container prune`: every stopped container the label and `until` filters select.

use std::time::SystemTime;

use crate::labels::labels_match;
use crate::{Engine, Result};

impl Engine {
    /// Removes every stopped container; returns their IDs.
    pub async fn prune_containers(
        &self,
        labels: &[String],
        until: Option<SystemTime>,
    ) -> Result<Vec<String>> {
        let mut gone = Vec::new();
        for rec in self.containers.records() {
            if rec.state.running() || rec.state.paused() || rec.state.restarting() {
                continue;
            }
            if !labels_match(&rec.config.labels, labels) {
                continue;
            }
            if let Some(u) = until {
                if muelle_types::time::parse_rfc3339(&rec.created).is_some_and(|c| c > u) {
                    continue;
                }
            }
            if self.remove_container(&rec.id, false).await.is_ok() {
                gone.push(rec.id);
            }
        }
        Ok(gone)
    }
}
