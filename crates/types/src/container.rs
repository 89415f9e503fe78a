//! Docker's container shapes as clients send them and inspect shows them: `Config`,
//! `HostConfig` and the parts they hold. Fields the engine does not interpret are kept
//! (`extra`) so that inspect echoes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::null_default;

/// Docker's container `Config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub working_dir: String,
    /// `None`: the image's; `Some([])`: cleared (`--entrypoint ""`).
    #[serde(default, deserialize_with = "entrypoint")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's clients send Entrypoint as a list, a string (old clients) or null.
fn entrypoint<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum E {
        List(Vec<String>),
        One(String),
    }
    Ok(match Option::<E>::deserialize(d)? {
        None => None,
        Some(E::List(l)) => Some(l),
        Some(E::One(s)) if s.is_empty() => Some(Vec::new()),
        Some(E::One(s)) => Some(vec![s]),
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(default, rename = "Type")]
    pub typ: String,
    #[serde(default, deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ulimit {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Soft")]
    pub soft: u64,
    #[serde(rename = "Hard")]
    pub hard: u64,
}

/// Docker's `HostConfig`: the fields the engine acts on, the rest kept for inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub binds: Vec<String>,
    #[serde(default)]
    pub network_mode: String,
    #[serde(default, deserialize_with = "null_default")]
    pub port_bindings: BTreeMap<String, Value>,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    #[serde(default)]
    pub auto_remove: bool,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub readonly_rootfs: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub cap_add: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cap_drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default)]
    pub log_config: LogConfig,
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub nano_cpus: i64,
    #[serde(default)]
    pub cpu_shares: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub security_opt: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, deserialize_with = "null_default")]
    pub mounts: Vec<Value>,
    /// The OCI runtime's name (`--runtime`); the daemon's default when not asked for.
    #[serde(default)]
    pub runtime: String,
    /// `--group-add`: more groups for the process, names resolved in the container's
    /// /etc/group. `None` (shown as null, as dockerd shows it) when not given.
    #[serde(default)]
    pub group_add: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl HostConfig {
    pub fn network_mode(&self) -> &str {
        if self.network_mode.is_empty() {
            "default"
        } else {
            &self.network_mode
        }
    }

    /// What `--security-opt seccomp=...` asks for; the last one counts, as in dockerd. The
    /// docker CLI sends a profile file's content, not its path.
    pub fn seccomp(&self) -> SeccompOpt<'_> {
        let mut choice = SeccompOpt::Default;
        for o in &self.security_opt {
            let Some(v) = o
                .strip_prefix("seccomp=")
                .or_else(|| o.strip_prefix("seccomp:"))
            else {
                continue;
            };
            choice = match v {
                "unconfined" => SeccompOpt::Unconfined,
                "builtin" | "" => SeccompOpt::Default,
                profile => SeccompOpt::Profile(profile),
            };
        }
        choice
    }

    pub fn no_new_privileges(&self) -> bool {
        self.security_opt.iter().any(|o| {
            o == "no-new-privileges"
                || o == "no-new-privileges:true"
                || o == "no-new-privileges=true"
        })
    }
}

/// A container's choice of seccomp filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompOpt<'a> {
    /// Docker's default profile.
    Default,
    /// No filter.
    Unconfined,
    /// A profile in Docker's JSON format.
    Profile(&'a str),
}

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
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_accepts_docker_shapes() {
        let c: ContainerConfig = serde_json::from_value(serde_json::json!({
            "Image": "busybox", "Cmd": ["true"], "Env": null, "Entrypoint": "",
            "Labels": {"a": "b"}, "Unknown": 1
        }))
        .unwrap();
        assert_eq!(c.entrypoint, Some(vec![]));
        assert!(c.env.is_empty());
        assert_eq!(c.extra.get("Unknown"), Some(&serde_json::json!(1)));
        let c: ContainerConfig =
            serde_json::from_value(serde_json::json!({"Entrypoint": null})).unwrap();
        assert_eq!(c.entrypoint, None);
    }
}
