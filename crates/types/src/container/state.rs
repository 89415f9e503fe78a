//! Docker's `State` of a container as inspect shows it.

use serde::{Deserialize, Serialize};

use super::Health;

/// Docker's `State` of a container as inspect shows it. The engine derives it from what it
/// records (it never stores `Status` beside the flags it is computed from).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
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
    /// Absent when the container has no health check, as dockerd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}
