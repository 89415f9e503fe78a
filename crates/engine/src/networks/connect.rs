//! `docker network connect` and `disconnect`: dockerd's rules for which containers may join
//! which networks (none of them while sharing another's namespace or the host's, never
//! `none` beside another network, aliases and static addresses only on user-defined
//! networks, static addresses only where the subnet was given), the endpoint recorded in
//! the container's record, and for a running container the hot-plug by the datapath and the
//! `connect`/`disconnect` event (a stopped container's endpoint comes up at its start).

use std::net::IpAddr;
use std::sync::Arc;

use muelle_types::container::EndpointSettings;

use super::builtin::is_predefined;
use super::{EndpointRecord, NetworkError, NetworkRecord};
use crate::containers::ContainerRecord;
use crate::{Engine, Result};

const SHARED: &str = "container sharing network namespace with another container or host cannot be connected to any other network";
const HOST: &str =
    "container cannot be disconnected from host network or connected to host network";
const NONE: &str =
    "container cannot be connected to multiple networks with one of the networks in private (none) mode";

/// dockerd's `validateNetworkingConfig` for an endpoint on `net`.
fn check_endpoint(net: &NetworkRecord, ep: &EndpointSettings) -> Result<(), NetworkError> {
    let addr = |k| super::ipam_address(ep, k).unwrap_or("").to_string();
    let (v4, v6) = (addr("IPv4Address"), addr("IPv6Address"));
    let user_defined = !is_predefined(&net.name);
    if !user_defined {
        if !v4.is_empty() || !v6.is_empty() {
            return Err(NetworkError::Invalid(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if ep.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
            return Err(NetworkError::Invalid(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
    }
    for (s, v6fam) in [(&v4, false), (&v6, true)] {
        if s.is_empty() {
            continue;
        }
        let ip: IpAddr = s
            .parse()
            .ok()
            .filter(|ip: &IpAddr| ip.is_ipv6() == v6fam)
            .ok_or_else(|| {
                NetworkError::Invalid(format!(
                    "invalid IPv{} address: {s}",
                    if v6fam { 6 } else { 4 }
                ))
            })?;
        if !net.user_subnets {
            return Err(NetworkError::Invalid(
                "user specified IP address is supported only when connecting to networks with user configured subnets".into(),
            ));
        }
        if !net.subnets.iter().any(|sn| sn.subnet.contains(&ip)) {
            return Err(NetworkError::Invalid(format!(
                "Invalid address {ip}: It does not belong to any of this network's subnets"
            )));
        }
    }
    Ok(())
}

/// Whether `rec` is on `net` (by name or, for a renamed record, by ID); the key if so.
fn endpoint_key(rec: &ContainerRecord, net: &NetworkRecord) -> Option<String> {
    rec.networks
        .iter()
        .find(|(name, ep)| **name == net.name || ep.network_id == net.id)
        .map(|(name, _)| name.clone())
}

impl Engine {
    /// Puts the container `ctr` on the network `net` with the endpoint settings `settings`
    /// (aliases, static addresses, links, MAC, driver options).
    pub async fn connect_network(
        self: &Arc<Self>,
        ctr: &str,
        net: &str,
        settings: EndpointSettings,
    ) -> Result<()> {
        let c = self.containers().find(ctr)?;
        let net = self.network(net)?;
        let _op = c.lock_op().await?;
        let rec = c.record();
        let mode = rec.host_config.network_mode();
        if mode.starts_with("container:") {
            return Err(NetworkError::Forbidden(SHARED.into()).into());
        }
        if mode != "host" && net.driver == "host" {
            return Err(NetworkError::Forbidden(HOST.into()).into());
        }
        if endpoint_key(&rec, &net).is_some() {
            // dockerd checks the settings also for a container already on the network, then
            // lets a second connect of a stopped container pass, changing nothing.
            check_endpoint(&net, &settings)?;
            if !rec.is_running() {
                return Ok(());
            }
            return Err(NetworkError::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                rec.name, net.name
            ))
            .into());
        }
        if mode == "host" {
            return Err(NetworkError::Forbidden(SHARED.into()).into());
        }
        let on_none = mode == "none"
            || rec.networks.values().any(|ep| {
                self.networks
                    .find(&ep.network_id)
                    .is_ok_and(|n| n.driver == "null")
            });
        let others = !rec.networks.is_empty() || matches!(mode, "default" | "bridge");
        if (net.driver == "null" && others) || on_none {
            return Err(NetworkError::Forbidden(NONE.into()).into());
        }
        check_endpoint(&net, &settings)?;
        let mut config = settings;
        if !is_predefined(&net.name) {
            // dockerd adds the short ID as an alias on user-defined networks.
            let short = rec.id[..12.min(rec.id.len())].to_string();
            let aliases = config.aliases.get_or_insert_with(Vec::new);
            if !aliases.contains(&short) {
                aliases.push(short);
            }
        }
        let ep = EndpointRecord {
            network_id: net.id.clone(),
            config,
            active: None,
        };
        let name = net.name.clone();
        let updated = c.update(|r| {
            r.networks.insert(name.clone(), ep);
            r.clone()
        });
        // A removal of the network between the lookup and now (it checks for active
        // endpoints, which this one is not yet) leaves nothing to connect to.
        if self.networks.find(&net.id).is_err() {
            c.update(|r| r.networks.remove(&name));
            return Err(NetworkError::NotFound(net.name.clone()).into());
        }
        if updated.is_running() {
            match self.datapath_connect(&updated, &name).await {
                Ok(live) => {
                    if let Some(ep) = live.networks.get(&name) {
                        c.update(|r| r.networks.insert(name.clone(), ep.clone()));
                    }
                }
                Err(e) => {
                    c.update(|r| r.networks.remove(&name));
                    return Err(e);
                }
            }
        }
        let saved = c.record();
        self.containers().save(&saved)?;
        if saved.is_running() {
            self.network_event("connect", &net, Some(&saved.id));
        }
        Ok(())
    }

    /// Takes the container `ctr` off the network `net`. With `force`, a network that no
    /// longer exists is taken off by name.
    pub async fn disconnect_network(
        self: &Arc<Self>,
        ctr: &str,
        net: &str,
        force: bool,
    ) -> Result<()> {
        let found = self.network(net);
        let c = self.containers().find(ctr)?;
        let _op = c.lock_op().await?;
        let rec = c.record();
        if !rec.is_running() || (found.is_err() && force) {
            let key = match &found {
                Ok(n) => endpoint_key(&rec, n),
                Err(_) => rec.networks.contains_key(net).then(|| net.to_string()),
            };
            let Some(key) = key else {
                return Err(NetworkError::Other(format!(
                    "container {} is not connected to the network {net}",
                    rec.id
                ))
                .into());
            };
            let saved = c.update(|r| {
                r.networks.remove(&key);
                r.clone()
            });
            self.containers().save(&saved)?;
            return Ok(());
        }
        let n = found?;
        if rec.host_config.network_mode() == "host" && n.driver == "host" {
            return Err(NetworkError::Forbidden(HOST.into()).into());
        }
        let Some(key) = endpoint_key(&rec, &n) else {
            return Err(NetworkError::Other(format!(
                "container {} is not connected to network {}",
                rec.id, n.name
            ))
            .into());
        };
        self.datapath_disconnect(&rec, &key).await?;
        let saved = c.update(|r| {
            r.networks.remove(&key);
            r.clone()
        });
        self.containers().save(&saved)?;
        self.network_event("disconnect", &n, Some(&saved.id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn net(name: &str, user_subnets: bool) -> NetworkRecord {
        NetworkRecord {
            id: "f".repeat(64),
            name: name.into(),
            created: String::new(),
            driver: "bridge".into(),
            internal: false,
            attachable: false,
            enable_ipv6: false,
            subnets: vec![super::super::SubnetRecord {
                subnet: "10.5.0.0/24".parse().unwrap(),
                gateway: "10.5.0.1".parse().unwrap(),
                ip_range: None,
                aux: BTreeMap::new(),
            }],
            ipam_options: None,
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            bridge: "br-x".into(),
            mtu: 0,
            icc: true,
            masquerade: true,
            user_subnets,
        }
    }

    fn with_ip(ip: &str) -> EndpointSettings {
        EndpointSettings {
            ipam_config: Some(serde_json::json!({ "IPv4Address": ip })),
            ..EndpointSettings::default()
        }
    }

    #[test]
    fn endpoint_rules_are_dockerds() {
        let e = check_endpoint(&net("bridge", false), &with_ip("10.5.0.9")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "user specified IP address is supported on user defined networks only"
        );
        let alias = EndpointSettings {
            aliases: Some(vec!["a".into()]),
            ..EndpointSettings::default()
        };
        let e = check_endpoint(&net("bridge", false), &alias).unwrap_err();
        assert!(e.to_string().starts_with("network-scoped alias"), "{e}");
        check_endpoint(&net("mine", false), &alias).unwrap();
        let e = check_endpoint(&net("mine", false), &with_ip("10.5.0.9")).unwrap_err();
        assert!(e.to_string().contains("user configured subnets"), "{e}");
        check_endpoint(&net("mine", true), &with_ip("10.5.0.9")).unwrap();
        let e = check_endpoint(&net("mine", true), &with_ip("10.6.0.9")).unwrap_err();
        assert!(e.to_string().contains("does not belong"), "{e}");
        let e = check_endpoint(&net("mine", true), &with_ip("nope")).unwrap_err();
        assert_eq!(e.to_string(), "invalid IPv4 address: nope");
    }
}
