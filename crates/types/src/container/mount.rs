//! A container's mount points as inspect and `ps` show them.

use serde::{Deserialize, Serialize};

/// A bind mount of the container (`-v /host:/ctr:ro`, `--mount type=bind`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub typ: String,
    pub source: String,
    pub destination: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

impl MountPoint {
    pub fn propagation_or_default(&self) -> &str {
        if self.propagation.is_empty() {
            "private"
        } else {
            &self.propagation
        }
    }
}
