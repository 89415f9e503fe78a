//! `GET /version`: the server's version, its API range and the host's kernel.

use std::collections::BTreeMap;

use axum::Json;
use muelle_engine::host::{go_arch, HostInfo};
use muelle_engine::VERSION;
use muelle_types::system::{ComponentVersion, Platform, Version};

use crate::version::{MAX_VERSION, MIN_VERSION};

pub async fn version() -> Json<Version> {
    Json(version_body(&HostInfo::read()))
}

fn version_body(host: &HostInfo) -> Version {
    let details = BTreeMap::from(
        [
            ("ApiVersion", MAX_VERSION.to_string()),
            ("Arch", go_arch().to_string()),
            ("BuildTime", String::new()),
            ("Experimental", "false".to_string()),
            ("GitCommit", String::new()),
            ("GoVersion", String::new()),
            ("KernelVersion", host.kernel_version.clone()),
            ("MinAPIVersion", MIN_VERSION.to_string()),
            ("Os", "linux".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    Version {
        platform: Platform {
            name: "muelle".to_string(),
        },
        components: vec![ComponentVersion {
            name: "Engine".to_string(),
            version: VERSION.to_string(),
            details,
        }],
        version: VERSION.to_string(),
        api_version: MAX_VERSION.to_string(),
        min_api_version: MIN_VERSION.to_string(),
        git_commit: String::new(),
        go_version: String::new(),
        os: "linux".to_string(),
        arch: go_arch().to_string(),
        kernel_version: host.kernel_version.clone(),
        build_time: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_in_mobys_order() {
        let host = HostInfo {
            kernel_version: "6.1.0".to_string(),
            operating_system: String::new(),
            os_version: String::new(),
            architecture: String::new(),
            hostname: String::new(),
            ncpu: 1,
            mem_total: 1,
            cgroup_version: "2",
        };
        let (v, arch) = (VERSION, go_arch());
        assert_eq!(
            serde_json::to_string(&version_body(&host)).unwrap(),
            format!(
                r#"{{"Platform":{{"Name":"muelle"}},"Components":[{{"Name":"Engine","Version":"{v}","Details":{{"ApiVersion":"1.47","Arch":"{arch}","BuildTime":"","Experimental":"false","GitCommit":"","GoVersion":"","KernelVersion":"6.1.0","MinAPIVersion":"1.24","Os":"linux"}}}}],"Version":"{v}","ApiVersion":"1.47","MinAPIVersion":"1.24","GitCommit":"","GoVersion":"","Os":"linux","Arch":"{arch}","KernelVersion":"6.1.0","BuildTime":""}}"#
            )
        );
    }
}
