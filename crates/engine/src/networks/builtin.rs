//! The networks every daemon has: `bridge` (the default bridge, Linux bridge `muelle0`, its
//! subnet from `bip` or chosen from the pools away from the host's routes), `host` and
//! `none`. Made at open when absent; kept as they are across restarts, except that a changed
//! `bip` moves the default bridge.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::config::{DEFAULT_BRIDGE, OPT_BRIDGE_NAME, OPT_ICC, OPT_MASQUERADE, OPT_MTU};
use super::{NetworkConfig, NetworkError, NetworkRecord, NetworkStore, SubnetRecord};

/// The names dockerd keeps for itself: no create may take them.
pub fn is_predefined(name: &str) -> bool {
    matches!(name, "bridge" | "host" | "none" | "default")
}

/// The first usable address of a subnet: Docker's default gateway.
pub(super) fn first_host(subnet: &IpNet) -> IpAddr {
    match subnet.network() {
        IpAddr::V4(a) => IpAddr::V4(std::net::Ipv4Addr::from(u32::from(a).wrapping_add(1))),
        IpAddr::V6(a) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(a).wrapping_add(1))),
    }
}

/// Now, as Go's JSON prints a time (RFC 3339, nanoseconds without trailing zeros), which
/// is how dockerd's `Created` of a network reads.
pub(super) fn created_now() -> String {
    muelle_types::time::go_rfc3339_nano(std::time::SystemTime::now())
}

fn record(name: &str, driver: &str) -> Result<NetworkRecord, NetworkError> {
    Ok(NetworkRecord {
        id: crate::containers::names::new_id()
            .map_err(|e| NetworkError::Other(format!("make a network ID: {e}")))?,
        name: name.to_string(),
        created: created_now(),
        driver: driver.to_string(),
        internal: false,
        attachable: false,
        enable_ipv6: false,
        subnets: Vec::new(),
        ipam_options: None,
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        bridge: String::new(),
        mtu: 0,
        icc: true,
        masquerade: true,
        user_subnets: false,
    })
}

/// The default bridge's subnet: `bip`'s, else the first pool subnet clear of the host's
/// routes and the other networks.
fn default_subnet(
    config: &NetworkConfig,
    others: &[IpNet],
    routes: &[IpNet],
) -> Result<SubnetRecord, NetworkError> {
    if let Some(bip) = config.bip {
        return Ok(SubnetRecord {
            subnet: bip.trunc(),
            gateway: bip.addr(),
            ip_range: None,
            aux: BTreeMap::new(),
        });
    }
    let mut taken = others.to_vec();
    taken.extend_from_slice(routes);
    let subnet = muelle_net::ipam::choose_subnet(&config.default_address_pools, &taken)
        .ok_or_else(no_pool)?;
    Ok(SubnetRecord {
        subnet,
        gateway: first_host(&subnet),
        ip_range: None,
        aux: BTreeMap::new(),
    })
}

pub(super) fn no_pool() -> NetworkError {
    NetworkError::Missing(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
    )
}

/// Makes `bridge`, `host` and `none` when absent. `routes` are the host's (from
/// `routes::host_routes`), which the default bridge's subnet must not overlap.
pub fn ensure_builtins(
    store: &NetworkStore,
    config: &NetworkConfig,
    routes: &[IpNet],
) -> Result<(), NetworkError> {
    let mut records = store.records();
    let find = |records: &BTreeMap<String, NetworkRecord>, name: &str, driver: &str| {
        records
            .values()
            .find(|r| r.name == name && r.driver == driver)
            .cloned()
    };
    for (name, driver) in [("host", "host"), ("none", "null")] {
        if find(&records, name, driver).is_none() {
            let rec = record(name, driver)?;
            store.save(&mut records, &rec)?;
        }
    }
    let existing = find(&records, "bridge", "bridge");
    let others: Vec<IpNet> = records
        .values()
        .filter(|r| !r.is_default_bridge())
        .flat_map(|r| r.subnets.iter().map(|s| s.subnet))
        .collect();
    let rec = match existing {
        Some(mut r) => {
            let moved = config.bip.is_some_and(|bip| {
                r.subnets
                    .first()
                    .is_none_or(|s| s.gateway != bip.addr() || s.subnet != bip.trunc())
            });
            if !moved {
                return Ok(());
            }
            r.subnets = vec![default_subnet(config, &others, routes)?];
            r
        }
        None => {
            let mut r = record("bridge", "bridge")?;
            r.subnets = vec![default_subnet(config, &others, routes)?];
            r.bridge = DEFAULT_BRIDGE.to_string();
            r.options = BTreeMap::from(
                [
                    ("com.docker.network.bridge.default_bridge", "true"),
                    (OPT_ICC, "true"),
                    (OPT_MASQUERADE, "true"),
                    ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                    (OPT_BRIDGE_NAME, DEFAULT_BRIDGE),
                    (OPT_MTU, "1500"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            r
        }
    };
    store.save(&mut records, &rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_made_once_and_avoid_routes() {
        let dir = tempfile::tempdir().unwrap();
        let store = NetworkStore::open(dir.path()).unwrap();
        let routes: Vec<IpNet> = vec![
            "172.17.0.0/16".parse().unwrap(),
            "0.0.0.0/0".parse().unwrap(),
        ];
        // A default route is filtered out by the wrapper; here only docker0's counts.
        ensure_builtins(&store, &NetworkConfig::default(), &routes[..1]).unwrap();
        let bridge = store.find("bridge").unwrap();
        assert_eq!(
            bridge.subnets[0].subnet,
            "172.18.0.0/16".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            bridge.subnets[0].gateway,
            "172.18.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(bridge.bridge, "muelle0");
        assert_eq!(store.find("none").unwrap().driver, "null");
        assert_eq!(store.find("host").unwrap().driver, "host");
        ensure_builtins(&store, &NetworkConfig::default(), &[]).unwrap();
        let again = NetworkStore::open(dir.path()).unwrap();
        assert_eq!(
            again.find("bridge").unwrap(),
            bridge,
            "kept across restarts"
        );
        assert_eq!(again.list().len(), 3);
        let cfg = NetworkConfig {
            bip: Some("10.99.0.1/24".parse().unwrap()),
            ..NetworkConfig::default()
        };
        ensure_builtins(&again, &cfg, &[]).unwrap();
        let moved = again.find(&bridge.id[..12]).unwrap();
        assert_eq!(
            moved.subnets[0].subnet,
            "10.99.0.0/24".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            moved.subnets[0].gateway,
            "10.99.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
