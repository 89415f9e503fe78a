//! `POST /networks/create`: dockerd's checks of a new network (driver, name, duplicate,
//! IPAM configuration, driver options) and the record they produce. Only the `bridge`
//! driver makes user networks; `host` and `null` have their one built-in instance.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use muelle_net::ipam;
use muelle_types::network::{IpamConfig, NetworkCreateRequest, NetworkCreateResponse};

use super::builtin::{first_host, is_predefined, no_pool};
use super::config::{go_bool, OPT_BRIDGE_NAME, OPT_ICC, OPT_MASQUERADE, OPT_MTU};
use super::store::find_in;
use super::{NetworkError, NetworkRecord, SubnetRecord};
use crate::{Engine, Result};

/// dockerd's answer when a subnet overlaps another network's.
const OVERLAP: &str = "Pool overlaps with other one on this address space";

fn parse_cidr(s: &str) -> Result<IpNet, NetworkError> {
    s.parse::<IpNet>()
        .map(|n| n.trunc())
        .map_err(|_| NetworkError::Invalid(format!("invalid CIDR address: {s}")))
}

fn parse_ip(s: &str, what: &str) -> Result<IpAddr, NetworkError> {
    s.parse::<IpAddr>()
        .map_err(|_| NetworkError::Invalid(format!("invalid {what} address: {s}")))
}

/// One `IPAM.Config` entry checked: range and gateway inside the subnet, auxiliary
/// addresses parsable and inside it.
fn subnet_of(cfg: &IpamConfig, name: &str) -> Result<SubnetRecord, NetworkError> {
    if cfg.subnet.is_empty() {
        return Err(NetworkError::Invalid(
            "a subnet is required with a gateway, an ip-range or auxiliary addresses".into(),
        ));
    }
    let subnet = parse_cidr(&cfg.subnet)?;
    let ip_range = if cfg.ip_range.is_empty() {
        None
    } else {
        let r = parse_cidr(&cfg.ip_range)?;
        if r.addr().is_ipv4() != subnet.addr().is_ipv4()
            || r.prefix_len() < subnet.prefix_len()
            || !subnet.contains(&r.network())
        {
            return Err(NetworkError::Invalid("Invalid Address SubPool".into()));
        }
        Some(r)
    };
    let gateway = if cfg.gateway.is_empty() {
        first_host(&subnet)
    } else {
        let g = parse_ip(&cfg.gateway, "gateway")?;
        if !subnet.contains(&g) {
            return Err(NetworkError::Other(format!(
                "failed to allocate gateway ({g}): Requested address is out of range"
            )));
        }
        g
    };
    let mut aux = BTreeMap::new();
    for (k, v) in &cfg.auxiliary_addresses {
        let ip = v.parse::<IpAddr>().map_err(|_| {
            NetworkError::Invalid(format!(
                "non parsable secondary ip address ({k}:{v}) passed for network {name}"
            ))
        })?;
        if !subnet.contains(&ip) {
            return Err(NetworkError::Forbidden(format!(
                "auxiliary address: ({k}:{v}) must belong to the master pool: {subnet}"
            )));
        }
        aux.insert(k.clone(), ip);
    }
    Ok(SubnetRecord {
        subnet,
        gateway,
        ip_range,
        aux,
    })
}

/// The bridge driver's options: name (at most 15 bytes, Linux's limit), MTU, ICC,
/// masquerade.
struct BridgeOpts {
    bridge: Option<String>,
    mtu: u32,
    icc: bool,
    masquerade: bool,
}

fn bridge_opts(options: &BTreeMap<String, String>) -> Result<BridgeOpts, NetworkError> {
    let bool_opt = |key: &str| -> Result<bool, NetworkError> {
        match options.get(key) {
            None => Ok(true),
            Some(v) => go_bool(v).ok_or_else(|| {
                NetworkError::Invalid(format!("failed to parse {key} value: invalid syntax ({v})"))
            }),
        }
    };
    let bridge = match options.get(OPT_BRIDGE_NAME) {
        None => None,
        Some(b) if b.is_empty() || b.len() > 15 || b.contains(['/', ' ']) => {
            return Err(NetworkError::Invalid(format!(
                "invalid bridge name {b:?}: at most 15 characters, no '/' or spaces"
            )))
        }
        Some(b) => Some(b.clone()),
    };
    let mtu = match options.get(OPT_MTU) {
        None => 0,
        Some(v) => v.parse::<u32>().map_err(|_| {
            NetworkError::Invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
        })?,
    };
    Ok(BridgeOpts {
        bridge,
        mtu,
        icc: bool_opt(OPT_ICC)?,
        masquerade: bool_opt(OPT_MASQUERADE)?,
    })
}

impl Engine {
    /// Creates a user-defined network, announcing `create`.
    pub fn create_network(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        let rec = self.new_network_record(req)?;
        self.network_event("create", &rec, None);
        Ok(NetworkCreateResponse {
            id: rec.id,
            warning: String::new(),
        })
    }

    fn new_network_record(&self, req: NetworkCreateRequest) -> Result<NetworkRecord, NetworkError> {
        let name = req.name.clone();
        if is_predefined(&name) {
            return Err(NetworkError::Forbidden(format!(
                "operation is not permitted on predefined {name} network "
            )));
        }
        if name.trim().is_empty() {
            // dockerd answers this one with 500.
            return Err(NetworkError::Other(format!("invalid name: {name}")));
        }
        let driver = if req.driver.is_empty() {
            "bridge"
        } else {
            req.driver.as_str()
        };
        match driver {
            "bridge" => {}
            "host" | "null" => {
                return Err(NetworkError::Forbidden(format!(
                    "only one instance of \"{driver}\" network is allowed"
                )))
            }
            other => return Err(NetworkError::UnknownDriver(other.to_string())),
        }
        if req.config_only
            || req
                .config_from
                .as_ref()
                .is_some_and(|c| !c.network.is_empty())
        {
            return Err(NetworkError::Invalid(
                "config-only networks (--config-only, --config-from) are not supported by muelle"
                    .into(),
            ));
        }
        if req.ingress {
            return Err(NetworkError::Forbidden(
                "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.".into(),
            ));
        }
        if !matches!(req.scope.as_str(), "" | "local") {
            return Err(NetworkError::Invalid(format!(
                "invalid scope {:?}: only \"local\" networks exist without a swarm",
                req.scope
            )));
        }
        let ipam_req = req.ipam.clone().unwrap_or_default();
        if !matches!(ipam_req.driver.as_str(), "" | "default") {
            return Err(NetworkError::UnknownDriver(ipam_req.driver.clone()));
        }
        let opts = bridge_opts(&req.options)?;
        let mut subnets = Vec::new();
        for cfg in &ipam_req.config {
            let s = subnet_of(cfg, &name)?;
            if subnets
                .iter()
                .any(|o: &SubnetRecord| ipam::overlaps(&o.subnet, &s.subnet))
            {
                return Err(NetworkError::Forbidden(OVERLAP.into()));
            }
            subnets.push(s);
        }
        let user_subnets = !subnets.is_empty();
        let has_v4 = subnets.iter().any(|s| s.subnet.addr().is_ipv4());
        let routes = if has_v4 {
            Vec::new()
        } else {
            super::routes::host_routes()
        };
        let id = crate::containers::names::new_id()
            .map_err(|e| NetworkError::Other(format!("make a network ID: {e}")))?;

        // From here on the store is locked: the checks against other networks and the save
        // are one step, so two creates cannot both take a name or a subnet.
        let mut records = self.networks.records();
        if records.values().any(|r| r.name == name) {
            return Err(NetworkError::Conflict(format!(
                "network with name {name} already exists"
            )));
        }
        if find_in(&records, &id).is_ok() {
            return Err(NetworkError::Other(
                "network ID collision; try again".into(),
            ));
        }
        let taken: Vec<IpNet> = records
            .values()
            .flat_map(|r| r.subnets.iter().map(|s| s.subnet))
            .collect();
        if subnets
            .iter()
            .any(|s| taken.iter().any(|t| ipam::overlaps(t, &s.subnet)))
        {
            return Err(NetworkError::Forbidden(OVERLAP.into()));
        }
        if !has_v4 {
            let mut avoid = taken.clone();
            avoid.extend(routes);
            let subnet = ipam::choose_subnet(&self.config.network.default_address_pools, &avoid)
                .ok_or_else(no_pool)?;
            subnets.insert(
                0,
                SubnetRecord {
                    subnet,
                    gateway: first_host(&subnet),
                    ip_range: None,
                    aux: BTreeMap::new(),
                },
            );
        }
        if req.enable_ipv6 && !subnets.iter().any(|s| s.subnet.addr().is_ipv6()) {
            let subnet = ipam::ula_subnet(&id);
            if taken.iter().any(|t| ipam::overlaps(t, &subnet)) {
                return Err(NetworkError::Forbidden(OVERLAP.into()));
            }
            subnets.push(SubnetRecord {
                subnet,
                gateway: first_host(&subnet),
                ip_range: None,
                aux: BTreeMap::new(),
            });
        }
        // IPv4 first, then IPv6, as the record promises.
        subnets.sort_by_key(|s| s.subnet.addr().is_ipv6());
        let bridge = opts.bridge.unwrap_or_else(|| format!("br-{}", &id[..12]));
        if records.values().any(|r| r.bridge == bridge) {
            return Err(NetworkError::Conflict(format!(
                "bridge name {bridge} is already in use by another network"
            )));
        }
        let rec = NetworkRecord {
            id,
            name,
            created: super::builtin::created_now(),
            driver: driver.to_string(),
            internal: req.internal,
            attachable: req.attachable,
            enable_ipv6: req.enable_ipv6,
            subnets,
            // dockerd keeps `null` when none were sent.
            ipam_options: ipam_req.options,
            options: req.options,
            labels: req.labels,
            bridge,
            mtu: opts.mtu,
            icc: opts.icc,
            masquerade: opts.masquerade,
            user_subnets,
        };
        self.networks.save(&mut records, &rec)?;
        Ok(rec)
    }
}
