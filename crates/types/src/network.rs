//! Networks as the Engine API shows them: moby's `types.NetworkResource` (inspect and list),
//! the body and answer of `POST /networks/create`, the connect and disconnect bodies and
//! the prune answer. Field order and explicit nulls are dockerd's (20.10, API 1.41).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::EndpointSettings;

/// A network (`GET /networks/{id}`, and each entry of `GET /networks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    pub name: String,
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// Always `local` here (no swarm).
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub config_from: ConfigReference,
    pub config_only: bool,
    /// The running containers with an endpoint on it, by container ID (empty in a list).
    pub containers: BTreeMap<String, NetworkContainer>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// `IPAM`: the address management of a network (or what a create asks for).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub driver: String,
    /// `null` for the built-in networks, as dockerd answers.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub config: Vec<IpamConfig>,
}

/// One subnet of `IPAM.Config`; empty fields are left out, as dockerd does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub subnet: String,
    #[serde(
        default,
        rename = "IPRange",
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub ip_range: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub gateway: String,
    #[serde(
        default,
        rename = "AuxiliaryAddresses",
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// `ConfigFrom`: the config-only network a network took its configuration from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigReference {
    #[serde(default)]
    pub network: String,
}

/// One entry of a network's `Containers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkContainer {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "MacAddress")]
    pub mac_address: String,
    /// `a.b.c.d/len`, empty when none.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// `POST /networks/create`'s body (moby's `types.NetworkCreateRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkCreateRequest {
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub name: String,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub check_duplicate: bool,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub driver: String,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub scope: String,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub internal: bool,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub attachable: bool,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub ingress: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    #[serde(
        rename = "EnableIPv6",
        deserialize_with = "crate::serde_util::null_default"
    )]
    pub enable_ipv6: bool,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "crate::serde_util::null_default")]
    pub config_only: bool,
    pub config_from: Option<ConfigReference>,
}

/// `POST /networks/create`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    pub id: String,
    #[serde(default)]
    pub warning: String,
}

/// `POST /networks/{id}/connect`'s body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkConnect {
    pub container: String,
    pub endpoint_config: Option<EndpointSettings>,
}

/// `POST /networks/{id}/disconnect`'s body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkDisconnect {
    pub container: String,
    pub force: bool,
}

/// `POST /networks/prune`'s answer; `null` when nothing was removed, as dockerd answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworksPruneReport {
    pub networks_deleted: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_serializes_in_dockerds_order_with_its_nulls() {
        let n = Network {
            name: "bridge".into(),
            id: "abc".into(),
            created: "2026-01-01T00:00:00.5Z".into(),
            scope: "local".into(),
            driver: "bridge".into(),
            ipam: Ipam {
                driver: "default".into(),
                options: None,
                config: vec![IpamConfig {
                    subnet: "172.18.0.0/16".into(),
                    gateway: "172.18.0.1".into(),
                    ..IpamConfig::default()
                }],
            },
            ..Network::default()
        };
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            r#"{"Name":"bridge","Id":"abc","Created":"2026-01-01T00:00:00.5Z","Scope":"local","Driver":"bridge","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{}}"#
        );
    }

    #[test]
    fn create_request_takes_what_the_docker_cli_sends() {
        let body = r#"{"Name":"n1","CheckDuplicate":true,"Driver":"bridge","Scope":"","EnableIPv6":false,
            "IPAM":{"Driver":"default","Config":[{"Subnet":"10.1.0.0/24","IPRange":"10.1.0.128/25","Gateway":"10.1.0.1","AuxiliaryAddresses":{"a":"10.1.0.5"}}],"Options":{}},
            "Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":null}"#;
        let r: NetworkCreateRequest = serde_json::from_str(body).unwrap();
        let ipam = r.ipam.unwrap();
        assert_eq!(ipam.config[0].ip_range, "10.1.0.128/25");
        assert_eq!(ipam.config[0].auxiliary_addresses["a"], "10.1.0.5");
        assert!(r.labels.is_empty());
        let p = NetworksPruneReport::default();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"NetworksDeleted":null}"#
        );
    }
}
