//! What the engine records of a network and of a container's place on one. A network record
//! is written once at create (the datapath reads it, `network ls/inspect` shows it); an
//! endpoint record lives in the container's record: what was asked for (aliases, a static
//! address, links, a MAC) from create or connect, and what the datapath gave it at start
//! (address, gateway, MAC, endpoint id), cleared again at stop. Which addresses are taken on
//! a network is derived from the running containers' endpoints, never stored twice.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use muelle_types::container::EndpointSettings;

/// One subnet of a network's IPAM configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetRecord {
    pub subnet: IpNet,
    pub gateway: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<IpNet>,
    /// `AuxiliaryAddresses`: names for addresses never handed to a container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux: BTreeMap<String, IpAddr>,
}

/// A network as `network create` made it (or the daemon, for `bridge`, `host`, `none`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// RFC 3339 with nanoseconds, as Docker shows `Created`.
    pub created: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    /// IPv4 subnets first, then IPv6; empty for `host` and `null`.
    pub subnets: Vec<SubnetRecord>,
    /// `IPAM.Options`.
    #[serde(default)]
    pub ipam_options: Option<BTreeMap<String, String>>,
    /// The driver options as given (`com.docker.network.bridge.name`, `...driver.mtu`, ...).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The host-side Linux bridge (`muelle0` for `bridge`, `br-<id12>` otherwise); empty
    /// for `host` and `null`.
    #[serde(default)]
    pub bridge: String,
    /// The MTU of the bridge and its veths; 0 means the host default route's.
    #[serde(default)]
    pub mtu: u32,
    /// Inter-container communication on this bridge (`...bridge.enable_icc`).
    #[serde(default = "yes")]
    pub icc: bool,
    /// Masquerade of traffic leaving the bridge (`...bridge.enable_ip_masquerade`).
    #[serde(default = "yes")]
    pub masquerade: bool,
    /// Whether the subnets were given at create (not chosen from the pools): dockerd takes a
    /// static container address (`--ip`) only on such networks.
    #[serde(default)]
    pub user_subnets: bool,
}

/// The address an endpoint's `IPAMConfig` asks for (`IPv4Address` or `IPv6Address`), when
/// it names one.
pub fn ipam_address<'a>(ep: &'a EndpointSettings, key: &str) -> Option<&'a str> {
    ep.ipam_config
        .as_ref()
        .and_then(|v| v.get(key))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

fn yes() -> bool {
    true
}

impl NetworkRecord {
    /// The built-in `bridge` network: no DNS by name, links instead.
    pub fn is_default_bridge(&self) -> bool {
        self.name == "bridge" && self.driver == "bridge"
    }

    /// A network of the `bridge` driver (default or user-defined).
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }
}

/// A container's place on one network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub network_id: String,
    /// What create or connect asked for: `Aliases`, `IPAMConfig`, `Links`, `MacAddress`,
    /// `DriverOpts` (the runtime fields of this value are not used).
    pub config: EndpointSettings,
    /// What the datapath gave it at start; `None` while the container is not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<ActiveEndpoint>,
}

/// The live side of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveEndpoint {
    /// 64 hex digits.
    pub endpoint_id: String,
    /// The interface inside the container (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// The veth's host side.
    pub host_ifname: String,
    /// `02:42:...` form.
    pub mac: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway4: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<IpAddr>,
}
