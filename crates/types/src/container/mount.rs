//! A container's mount points as inspect and `ps` show them.

use serde::{Deserialize, Serialize};

/// A mount of the container as inspect shows it: a bind (`-v /host:/ctr:ro`, `--mount
/// type=bind`) or a volume (`Name` and `Driver` then set).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub typ: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver: String,
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
