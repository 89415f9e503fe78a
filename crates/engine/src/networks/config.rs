//! The daemon-wide network settings (daemon.json's `default-address-pools` and `bip`) and
//! the option keys of the bridge driver that muelle reads.

use ipnet::IpNet;
use muelle_net::ipam::Pool;

/// `com.docker.network.bridge.name`: the Linux bridge's name.
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
/// `com.docker.network.driver.mtu`.
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
/// `com.docker.network.bridge.enable_icc`.
pub const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
/// `com.docker.network.bridge.enable_ip_masquerade`.
pub const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
/// The Linux bridge of the built-in `bridge` network (dockerd's is `docker0`; another name
/// lets both daemons run on one host).
pub const DEFAULT_BRIDGE: &str = "muelle0";

/// How the engine picks subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Where subnets come from when a create gives none (and for `bridge`, unless `bip`).
    pub default_address_pools: Vec<Pool>,
    /// `bip`: the default bridge's gateway address with its prefix (`172.26.0.1/16`).
    pub bip: Option<IpNet>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            default_address_pools: muelle_net::ipam::default_pools(),
            bip: None,
        }
    }
}

/// Go's `strconv.ParseBool`, which dockerd uses for the driver's boolean options.
pub(super) fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
