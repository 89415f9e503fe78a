//! A container's record: what was asked (Docker's `Config` and `HostConfig`, kept with any
//! field we do not interpret so that inspect echoes it), and what happened (`State`).
//! Serialized in Docker's field names, one JSON file per container written atomically.

use serde::{Deserialize, Serialize};

pub use muelle_types::container::{
    ContainerConfig, HostConfig, LogConfig, MountPoint, RestartPolicy, SeccompOpt, Ulimit,
};

/// Docker's `State`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl State {
    pub fn created() -> Self {
        State {
            status: "created".into(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            ..State::default()
        }
    }
}

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
}

impl ContainerRecord {
    pub fn is_running(&self) -> bool {
        self.state.running
    }

    /// Docker's `Status` text of `ps`: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`.
    pub fn status_text(&self, now: std::time::SystemTime) -> String {
        let since = |t: &str| {
            muelle_types::time::parse_rfc3339(t)
                .and_then(|t| now.duration_since(t).ok())
                .map(muelle_types::time::human_duration)
                .unwrap_or_else(|| "Less than a second".into())
        };
        match self.state.status.as_str() {
            "running" => format!("Up {}", since(&self.state.started_at)),
            "paused" => format!("Up {} (Paused)", since(&self.state.started_at)),
            "restarting" => format!(
                "Restarting ({}) {} ago",
                self.state.exit_code,
                since(&self.state.finished_at)
            ),
            "exited" => format!(
                "Exited ({}) {} ago",
                self.state.exit_code,
                since(&self.state.finished_at)
            ),
            "created" => "Created".into(),
            "removing" => "Removal In Progress".into(),
            "dead" => "Dead".into(),
            other => other.to_string(),
        }
    }
}
