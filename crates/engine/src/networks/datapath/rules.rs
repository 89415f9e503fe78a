//! Published ports (held host sockets, recorded in the container's record) and the
//! firewall: the whole rule set computed from the bridge networks and the running
//! containers' published ports, applied as one transaction whenever either changes.

use std::net::IpAddr;
use std::sync::Arc;

use muelle_net::firewall::{NetRule, PortRule, Rules};
use muelle_net::ports;

use super::{blocking, endpoints, lock, FIREWALL_TABLE};
use crate::containers::ContainerRecord;
use crate::networks::ports::{wanted, Published};
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Reserves the container's host ports: what its record says after a restart, what it
    /// asks for at start. Only a container with a live endpoint on a network with a way
    /// out publishes.
    pub(super) fn publish_ports(&self, live: &mut ContainerRecord, restoring: bool) -> Result<()> {
        if self.publishing_endpoint(live).is_none() {
            live.published.clear();
            return Ok(());
        }
        let mut held = Vec::new();
        let mut made = Vec::new();
        if restoring {
            for p in &live.published {
                match ports::reserve(p.proto, p.host_ip, p.host_port) {
                    Ok(r) => held.push(r),
                    Err(e) => {
                        tracing::warn!(container = %live.id, error = %e, "reserving a published port again")
                    }
                }
            }
            made = live.published.clone();
        } else {
            let list = wanted(&live.config, &live.host_config)
                .map_err(|m| EngineError::Net(muelle_net::NetError::Invalid(m)))?;
            for w in list {
                let (port, r) = match w.host_ports {
                    (0, 0) => ports::reserve_any(w.proto, w.host_ip),
                    (lo, hi) if lo == hi => ports::reserve(w.proto, w.host_ip, lo).map(|r| (lo, r)),
                    (lo, hi) => ports::reserve_in_range(w.proto, w.host_ip, lo, hi),
                }
                .map_err(|e| {
                    let ep = live
                        .networks
                        .values()
                        .find_map(|e| e.active.as_ref())
                        .map(|a| a.endpoint_id.clone())
                        .unwrap_or_default();
                    // dockerd answers a port it cannot take with a server error.
                    EngineError::Container(crate::containers::ContainerError::Internal(format!(
                        "driver failed programming external connectivity on endpoint {} ({ep}): {e}",
                        live.name
                    )))
                })?;
                held.push(r);
                made.push(Published {
                    proto: w.proto,
                    ctr_port: w.ctr_port,
                    host_ip: w.host_ip,
                    host_port: port,
                });
            }
        }
        live.published = made;
        lock(&self.datapath.state)
            .reservations
            .insert(live.id.clone(), held);
        Ok(())
    }

    /// The endpoint ports are published to: the first live one (interface order) on a
    /// bridge network that is not internal.
    fn publishing_endpoint(&self, rec: &ContainerRecord) -> Option<(String, IpAddr)> {
        for name in endpoints::ordered(rec) {
            let ep = rec.networks.get(&name)?;
            let Some(a) = &ep.active else { continue };
            let Ok(net) = self.network(&ep.network_id) else {
                continue;
            };
            if net.internal || !net.is_bridge() {
                continue;
            }
            if let Some(ip) = a.ipv4.map(|n| n.addr()) {
                return Some((net.bridge, ip));
            }
        }
        None
    }

    /// Applies the rules for every bridge network and every running container's ports,
    /// counting `extra` as running (it is about to be) and `without` as gone.
    pub(super) async fn apply_rules(
        self: &Arc<Self>,
        extra: Option<&ContainerRecord>,
        without: Option<&str>,
    ) -> Result<()> {
        // Only bridges that exist: a network's rules (and the sysctls of its bridge) come
        // with its first endpoint, so adding the bridge changes the rule set.
        let ready = lock(&self.datapath.state).bridges_ready.clone();
        let networks: Vec<NetRule> = self
            .networks()
            .into_iter()
            .filter(|n| n.is_bridge() && ready.contains(&n.bridge))
            .flat_map(|n| {
                n.subnets
                    .iter()
                    .filter(|s| n.enable_ipv6 || s.subnet.addr().is_ipv4())
                    .map(|s| NetRule {
                        bridge: n.bridge.clone(),
                        subnet: s.subnet,
                        internal: n.internal,
                        masquerade: n.masquerade,
                        icc: n.icc,
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // Only records with published ports make port rules: the others are not copied.
        let mut records: Vec<ContainerRecord> = self.containers.filter_map(|r| {
            (r.is_running()
                && !r.published.is_empty()
                && Some(r.id.as_str()) != without
                && extra.is_none_or(|x| x.id != r.id))
            .then(|| r.clone())
        });
        if let Some(x) = extra {
            records.push(x.clone());
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let mut port_rules = Vec::new();
        for r in &records {
            let Some((bridge, ctr_ip)) = self.publishing_endpoint(r) else {
                continue;
            };
            for p in &r.published {
                port_rules.push(PortRule {
                    proto: p.proto,
                    host_ip: p.host_ip,
                    host_port: p.host_port,
                    ctr_ip,
                    ctr_port: p.ctr_port,
                    bridge: bridge.clone(),
                });
            }
        }
        let rules = Rules {
            table: FIREWALL_TABLE.to_string(),
            networks,
            ports: port_rules,
        };
        // Most starts and stops change no rule (no published port, a network already in
        // use): nft is only run when the rule set differs from the one applied.
        if lock(&self.datapath.state).applied.as_ref() == Some(&rules) {
            return Ok(());
        }
        let applying = rules.clone();
        let result = blocking(move || muelle_net::firewall::apply(&applying)).await;
        let mut st = lock(&self.datapath.state);
        st.applied = result.is_ok().then_some(rules);
        result
    }
}
