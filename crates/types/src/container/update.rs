//! `POST /containers/{id}/update`: Docker's `UpdateConfig` (the resources a running
//! container's cgroup takes, and its restart policy) and the answer.

use serde::{Deserialize, Serialize};

use super::host_config::RestartPolicy;
use crate::serde_util::null_default;

/// The fields `docker update` sends; zero (or absent, or `null`) leaves a setting as it is,
/// as dockerd reads them. Other `Resources` keys clients send are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdate {
    #[serde(default, deserialize_with = "null_default")]
    pub memory: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory_swap: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory_reservation: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub nano_cpus: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_shares: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_period: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_quota: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_mems: String,
    /// `None`: unchanged; 0 or negative: unlimited.
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub blkio_weight: u16,
    #[serde(default, deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
    /// Real-time scheduler period and runtime in microseconds.
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_realtime_period: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_realtime_runtime: i64,
    /// Deprecated; recorded with a warning, never applied.
    #[serde(default, deserialize_with = "null_default")]
    pub kernel_memory: i64,
}

/// The answer of an update; `null` warnings when there are none, as dockerd sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    pub warnings: Option<Vec<String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_docker_clis_body() {
        let body = r#"{"BlkioWeight":0,"CpuShares":0,"Memory":67108864,"CpusetCpus":"",
            "PidsLimit":null,"Devices":null,"Ulimits":null,"RestartPolicy":{"Name":"","MaximumRetryCount":0}}"#;
        let u: ContainerUpdate = serde_json::from_str(body).unwrap();
        assert_eq!(u.memory, 67108864);
        assert_eq!(u.pids_limit, None);
        assert!(u.restart_policy.name.is_empty());
        let u: ContainerUpdate = serde_json::from_str(r#"{"PidsLimit":-1}"#).unwrap();
        assert_eq!(u.pids_limit, Some(-1));
    }
}
