//! Exec shapes: the create and start bodies clients send and `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

/// `POST /containers/{id}/exec`'s body. Fields the engine does not use are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach_keys: Option<String>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

/// `POST /exec/{id}/start`'s body (an empty body reads as the default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartConfig {
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub tty: bool,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Running")]
    pub running: bool,
    /// `null` until the process exited.
    #[serde(rename = "ExitCode")]
    pub exit_code: Option<i64>,
    #[serde(rename = "ProcessConfig")]
    pub process_config: ExecProcessConfig,
    #[serde(rename = "OpenStdin")]
    pub open_stdin: bool,
    #[serde(rename = "OpenStderr")]
    pub open_stderr: bool,
    #[serde(rename = "OpenStdout")]
    pub open_stdout: bool,
    #[serde(rename = "CanRemove")]
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    #[serde(rename = "DetachKeys")]
    pub detach_keys: String,
    #[serde(rename = "Pid")]
    pub pid: i64,
}

/// The exec's process; Docker spells these keys in lower case.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecProcessConfig {
    pub tty: bool,
    pub entrypoint: String,
    pub arguments: Vec<String>,
    pub privileged: bool,
    pub user: String,
}
