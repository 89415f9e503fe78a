//! A container's record: what was asked (Docker's `Config` and `HostConfig`, kept with any
//! field we do not interpret so that inspect echoes it), and what happened (`State`, in
//! the state module).
//! Serialized in Docker's field names, one JSON file per container written atomically.

use serde::{Deserialize, Serialize};

pub use super::state::{State, Status, ZERO_TIME};
pub use muelle_types::container::{
    ContainerConfig, HostConfig, LogConfig, MountPoint, RestartPolicy, SeccompOpt, Ulimit,
};

/// Everything the engine keeps about one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub created: String,
    /// The image ID (`sha256:...`) the container was made from.
    pub image_id: String,
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub mounts: Vec<MountPoint>,
    /// Destinations of volumes that get the image's content while they are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_up: Vec<String>,
    /// What mounts need at start beyond their mount points (bind recursion, tmpfs size and
    /// mode, volume subpath), by destination.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mount_extras: std::collections::BTreeMap<String, crate::volumes::MountExtra>,
    pub state: State,
    pub restart_count: i64,
    /// Set while a stop was asked for, so the restart policy leaves the container alone.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// The snapshotter, for inspect's GraphDriver.
    pub driver: String,
    #[serde(default)]
    pub log_path: String,
    #[serde(default)]
    pub hosts_path: String,
    #[serde(default)]
    pub hostname_path: String,
    #[serde(default)]
    pub resolv_conf_path: String,
    /// The networks the container is on, by network name, in the order Docker keeps them
    /// (by name). Set at create from `NetworkingConfig` and the network mode, changed by
    /// connect and disconnect.
    #[serde(default)]
    pub networks: std::collections::BTreeMap<String, crate::networks::EndpointRecord>,
    /// The ports published at start (with the host port chosen for an ephemeral one), so a
    /// daemon restart reserves the same ones; empty while the container is not running.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<crate::networks::ports::Published>,
}

impl ContainerRecord {
    pub fn is_running(&self) -> bool {
        self.state.running()
    }

    /// Docker's `Status` text of `ps`: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`.
    pub fn status_text(&self, now: std::time::SystemTime) -> String {
        self.state.status_text(now)
    }
}
