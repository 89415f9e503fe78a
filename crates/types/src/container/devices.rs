//! Docker's device and block-I/O shapes of `HostConfig`: a host device given to a container
//! (`Devices`), a device request (`DeviceRequests`, `--gpus`), and the per-device weights and
//! throttles of the blkio cgroup (`BlkioWeightDevice`, `BlkioDevice{Read,Write}{Bps,IOps}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::null_default;

/// `--device HOST[:CTR][:PERMS]`: a host device (or a directory of them) made in the
/// container and allowed in its device cgroup with `CgroupPermissions` (`rwm` letters).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    #[serde(default, deserialize_with = "null_default")]
    pub path_on_host: String,
    #[serde(default, deserialize_with = "null_default")]
    pub path_in_container: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cgroup_permissions: String,
}

/// `--gpus` and other device requests, handled by a device driver of the daemon's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub driver: String,
    #[serde(default, deserialize_with = "null_default")]
    pub count: i64,
    #[serde(default, rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    #[serde(default)]
    pub capabilities: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

/// `--blkio-weight-device PATH:WEIGHT`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    #[serde(default, deserialize_with = "null_default")]
    pub weight: u16,
}

/// `--device-{read,write}-{bps,iops} PATH:RATE`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ThrottleDevice {
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    #[serde(default, deserialize_with = "null_default")]
    pub rate: u64,
}

impl DeviceRequest {
    /// The capabilities as Go's `%v` prints `[][]string` (`[[gpu utility]]`), the form of
    /// dockerd's messages.
    pub fn capabilities_go(&self) -> String {
        let sets: Vec<String> = self
            .capabilities
            .iter()
            .flatten()
            .map(|s| format!("[{}]", s.join(" ")))
            .collect();
        format!("[{}]", sets.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_docker_clis_shapes() {
        let d: DeviceMapping = serde_json::from_str(
            r#"{"PathOnHost":"/dev/loop7","PathInContainer":"/dev/l","CgroupPermissions":"r"}"#,
        )
        .unwrap();
        assert_eq!(d.path_in_container, "/dev/l");
        let r: DeviceRequest = serde_json::from_str(
            r#"{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}"#,
        )
        .unwrap();
        assert_eq!(r.capabilities_go(), "[[gpu]]");
        let t: ThrottleDevice =
            serde_json::from_str(r#"{"Path":"/dev/vda","Rate":1048576}"#).unwrap();
        assert_eq!(t.rate, 1 << 20);
    }
}
