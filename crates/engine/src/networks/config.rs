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

impl NetworkConfig {
    /// The settings from daemon.json's `default-address-pools` and `bip` (or `--bip`):
    /// pools as given (the defaults when absent or empty), `bip` an IPv4 address with its
    /// prefix.
    pub fn from_daemon(pools: Option<Vec<Pool>>, bip: Option<&str>) -> Result<Self, String> {
        let mut cfg = NetworkConfig::default();
        if let Some(p) = pools.filter(|p| !p.is_empty()) {
            for pool in &p {
                if pool.size < pool.base.prefix_len() || pool.size > pool.base.max_prefix_len() {
                    return Err(format!(
                        "invalid default-address-pools entry {}/{}: the size must be between the base's prefix length and {}",
                        pool.base,
                        pool.size,
                        pool.base.max_prefix_len()
                    ));
                }
            }
            cfg.default_address_pools = p;
        }
        if let Some(b) = bip.filter(|b| !b.is_empty()) {
            let net: IpNet = b.parse().map_err(|_| {
                format!(
                    "invalid bip {b:?}: expected an address with its prefix, e.g. 172.26.0.1/16"
                )
            })?;
            if !net.addr().is_ipv4() || net.addr() == net.network() {
                return Err(format!(
                    "invalid bip {b:?}: expected the bridge's IPv4 address (not the subnet's first) with its prefix"
                ));
            }
            cfg.bip = Some(net);
        }
        Ok(cfg)
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
