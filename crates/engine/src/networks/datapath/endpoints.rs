//! A container's endpoints: an address from its network's allocator, the network's bridge,
//! a veth into the container's namespace; and the reverse at stop or disconnect.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use muelle_net::ipam::{self, Allocator};
use muelle_net::link::{BridgeConfig, Endpoint};

use super::{blocking, lock, Datapath};
use crate::containers::ContainerRecord;
use crate::networks::{ipam_address, ActiveEndpoint, EndpointRecord, NetworkRecord};
use crate::{Engine, EngineError, Result};

/// The host side of every veth of ours starts with this, so leaked ones can be found.
pub(super) const VETH_PREFIX: &str = "mveth";

fn net_err(msg: String) -> EngineError {
    EngineError::Net(muelle_net::NetError::Invalid(msg))
}

/// The order of a container's interfaces: the network of its network mode first (eth0),
/// then the others by name.
pub(super) fn ordered(rec: &ContainerRecord) -> Vec<String> {
    let mode = rec.host_config.network_mode();
    let primary = if mode == "default" { "bridge" } else { mode };
    let mut names: Vec<String> = rec.networks.keys().cloned().collect();
    names.sort_by_key(|n| (n != primary, n.clone()));
    names
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}

impl Datapath {
    /// The allocators of `net`, made on first use from its subnets and the addresses its
    /// running containers hold.
    fn with_allocators<T>(
        &self,
        net: &NetworkRecord,
        held: impl FnOnce() -> Vec<IpAddr>,
        f: impl FnOnce(&mut Vec<Allocator>) -> T,
    ) -> muelle_net::Result<T> {
        let mut st = lock(&self.state);
        if !st.allocators.contains_key(&net.id) {
            let mut list = Vec::new();
            for s in &net.subnets {
                let reserved: Vec<IpAddr> = s.aux.values().copied().collect();
                list.push(Allocator::new(s.subnet, s.ip_range, s.gateway, &reserved)?);
            }
            for ip in held() {
                for a in list.iter_mut() {
                    a.mark(ip);
                }
            }
            st.allocators.insert(net.id.clone(), list);
        }
        let list = st.allocators.entry(net.id.clone()).or_default();
        Ok(f(list))
    }
}

impl Engine {
    /// dockerd's check at start: a static address only on a user-defined network.
    pub(super) fn check_static_addresses(&self, rec: &ContainerRecord) -> Result<()> {
        for ep in rec.networks.values() {
            let fixed = ipam_address(&ep.config, "IPv4Address").is_some()
                || ipam_address(&ep.config, "IPv6Address").is_some();
            let builtin = self
                .network(&ep.network_id)
                .is_ok_and(|n| crate::networks::is_predefined(&n.name));
            if fixed && builtin {
                return Err(EngineError::Container(
                    crate::containers::ContainerError::Invalid(
                        "user specified IP address is supported on user defined networks only"
                            .into(),
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Addresses held on `net_id` by running containers' live endpoints.
    fn held_addresses(&self, net_id: &str) -> Vec<IpAddr> {
        // Read in place: copying every record to find a few addresses cost more than the
        // allocation itself with a thousand containers.
        self.containers
            .filter_map(|r| {
                let held: Vec<IpAddr> = r
                    .networks
                    .values()
                    .filter(|e| e.network_id == net_id)
                    .filter_map(|e| e.active.as_ref())
                    .flat_map(|a| [a.ipv4.map(|n| n.addr()), a.ipv6.map(|n| n.addr())])
                    .flatten()
                    .collect();
                (r.is_running() && !held.is_empty()).then_some(held)
            })
            .into_iter()
            .flatten()
            .collect()
    }

    /// After a restart: the addresses of a running container's endpoints are taken.
    pub(super) fn mark_addresses(&self, rec: &ContainerRecord) {
        let mut st = lock(&self.datapath.state);
        for ep in rec.networks.values() {
            let Some(a) = &ep.active else { continue };
            if let Some(list) = st.allocators.get_mut(&ep.network_id) {
                for ip in [a.ipv4.map(|n| n.addr()), a.ipv6.map(|n| n.addr())]
                    .into_iter()
                    .flatten()
                {
                    for al in list.iter_mut() {
                        al.mark(ip);
                    }
                }
            }
        }
    }

    fn allocate(
        &self,
        net: &NetworkRecord,
        ep: &EndpointRecord,
    ) -> Result<(Option<IpNet>, Option<IpNet>)> {
        let want4 = ipam_address(&ep.config, "IPv4Address")
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| net_err(format!("invalid IPv4 address: {s}")))
            })
            .transpose()?;
        let want6 = ipam_address(&ep.config, "IPv6Address")
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| net_err(format!("invalid IPv6 address: {s}")))
            })
            .transpose()?;
        let net_id = net.id.clone();
        let result = self.datapath.with_allocators(
            net,
            || self.held_addresses(&net_id),
            |list| -> muelle_net::Result<(Option<IpNet>, Option<IpNet>)> {
                let mut v4 = None;
                let mut v6 = None;
                for (al, sub) in list.iter_mut().zip(&net.subnets) {
                    let is_v4 = sub.subnet.addr().is_ipv4();
                    if is_v4 && v4.is_none() {
                        let ip = al.allocate(want4)?;
                        v4 = IpNet::new(ip, sub.subnet.prefix_len()).ok();
                    } else if !is_v4 && v6.is_none() && net.enable_ipv6 {
                        let ip = al.allocate(want6)?;
                        v6 = IpNet::new(ip, sub.subnet.prefix_len()).ok();
                    }
                }
                if let (Some(w), None) = (want4, v4) {
                    return Err(muelle_net::NetError::Invalid(format!(
                        "no configured subnet contains IP address {w}"
                    )));
                }
                Ok((v4, v6))
            },
        );
        let (v4, v6) = result.and_then(|r| r).map_err(EngineError::Net)?;
        Ok((v4, v6))
    }

    fn release(&self, net_id: &str, a: &ActiveEndpoint) {
        let mut st = lock(&self.datapath.state);
        if let Some(list) = st.allocators.get_mut(net_id) {
            for ip in [a.ipv4.map(|n| n.addr()), a.ipv6.map(|n| n.addr())]
                .into_iter()
                .flatten()
            {
                for al in list.iter_mut() {
                    al.release(ip);
                }
            }
        }
    }

    /// Every endpoint of the record, in interface order.
    pub(super) async fn attach_endpoints(
        self: &Arc<Self>,
        live: &mut ContainerRecord,
    ) -> Result<()> {
        for name in ordered(live) {
            self.attach_one(live, &name).await?;
            // dockerd announces each endpoint of a starting container.
            if let Some(net) = live
                .networks
                .get(&name)
                .filter(|e| e.active.is_some())
                .and_then(|e| self.network(&e.network_id).ok())
            {
                self.network_event("connect", &net, Some(&live.id));
            }
        }
        Ok(())
    }

    /// The endpoint on network `name`: address, bridge, veth; recorded in `live`.
    pub(super) async fn attach_one(
        self: &Arc<Self>,
        live: &mut ContainerRecord,
        name: &str,
    ) -> Result<()> {
        let Some(ep) = live.networks.get(name).cloned() else {
            return Err(net_err(format!("network {name} not found")));
        };
        let missing = || {
            EngineError::Container(crate::containers::ContainerError::Missing(format!(
                "network {name} not found"
            )))
        };
        if ep.network_id.is_empty() {
            return Err(missing());
        }
        let net = self.network(&ep.network_id).map_err(|_| missing())?;
        if !net.is_bridge() {
            return Ok(());
        }
        let used: std::collections::HashSet<&str> = live
            .networks
            .values()
            .filter_map(|e| e.active.as_ref().map(|a| a.ifname.as_str()))
            .collect();
        let index = (0..)
            .find(|i| !used.contains(format!("eth{i}").as_str()))
            .unwrap_or(0);
        let ifname = format!("eth{index}");
        let (ipv4, ipv6) = self.allocate(&net, &ep)?;
        let endpoint_id = crate::containers::names::new_id().map_err(|source| EngineError::Io {
            what: "making an endpoint id",
            path: Default::default(),
            source,
        })?;
        let mac = parse_mac(&ep.config.mac_address)
            .or_else(|| match ipv4.map(|n| n.addr()) {
                Some(IpAddr::V4(v4)) => Some(ipam::mac_for(v4)),
                _ => None,
            })
            .unwrap_or([0x02, 0x42, 0, 0, 0, index as u8]);
        let gw = |v4: bool| {
            net.subnets
                .iter()
                .find(|s| s.subnet.addr().is_ipv4() == v4)
                .map(|s| s.gateway)
        };
        let (gateway4, gateway6) = (ipv4.and(gw(true)), ipv6.and(gw(false)));
        let active = ActiveEndpoint {
            endpoint_id: endpoint_id.clone(),
            ifname: ifname.clone(),
            host_ifname: format!("{VETH_PREFIX}{}", &endpoint_id[..9]),
            mac: muelle_net::link::mac_text(&mac),
            ipv4,
            ipv6,
            gateway4,
            gateway6,
        };
        // Docker's default MTU is the host's: what the default route's device carries.
        let cached = lock(&self.datapath.state).host_mtu;
        let mtu = match (net.mtu, cached) {
            (0, Some(m)) => m,
            (0, None) => {
                let m = tokio::task::spawn_blocking(muelle_net::link::host_mtu)
                    .await
                    .unwrap_or(1500);
                lock(&self.datapath.state).host_mtu = Some(m);
                m
            }
            (m, _) => m,
        };
        let bridge = BridgeConfig {
            name: net.bridge.clone(),
            addrs: net
                .subnets
                .iter()
                .filter(|s| net.enable_ipv6 || s.subnet.addr().is_ipv4())
                .filter_map(|s| IpNet::new(s.gateway, s.subnet.prefix_len()).ok())
                .collect(),
            mtu,
        };
        // The first interface gets the default route, on an internal network too (as
        // dockerd 20.10 does): the firewall is what keeps an internal network in.
        let link = Endpoint {
            bridge: net.bridge.clone(),
            host_ifname: active.host_ifname.clone(),
            ifname,
            mac,
            addrs: ipv4.into_iter().chain(ipv6).collect(),
            gateway4: match gateway4 {
                Some(IpAddr::V4(g)) if index == 0 => Some(g),
                _ => None,
            },
            gateway6: match gateway6 {
                Some(IpAddr::V6(g)) if index == 0 => Some(g),
                _ => None,
            },
            mtu,
        };
        let netns = self.netns_path(&live.id);
        let ready = lock(&self.datapath.state)
            .bridges_ready
            .contains(&net.bridge);
        let attached = blocking(move || {
            // A bridge believed ready may have been deleted behind the daemon's back: on a
            // failure the bridge is made again and the attach tried once more.
            let first = if ready {
                muelle_net::link::attach(&netns, &link)
            } else {
                Err(muelle_net::NetError::Invalid(String::new()))
            };
            match first {
                Ok(()) => Ok(()),
                Err(_) => {
                    muelle_net::link::ensure_bridge(&bridge)?;
                    muelle_net::link::attach(&netns, &link)
                }
            }
        })
        .await;
        if attached.is_ok() {
            lock(&self.datapath.state)
                .bridges_ready
                .insert(net.bridge.clone());
        }
        if let Err(e) = attached {
            self.release(&net.id, &active);
            return Err(e);
        }
        if let Some(e) = live.networks.get_mut(name) {
            e.active = Some(active);
        }
        Ok(())
    }

    /// Every live endpoint of the record goes, its address back to its network.
    /// Every live endpoint of a stopping container is given up: its address goes back to
    /// its network. The veths are not deleted one by one: they go with the namespace when
    /// its file is removed (the kernel deletes a namespace's devices with it, and a veth
    /// pair with either end), which spares the stop a synchronous RTM_DELLINK each.
    pub(super) async fn detach_endpoints(self: &Arc<Self>, live: &mut ContainerRecord) {
        let names: Vec<String> = live.networks.keys().cloned().collect();
        for name in names {
            let was_live = live.networks.get(&name).is_some_and(|e| e.active.is_some());
            self.detach_one(live, &name, false).await;
            if was_live {
                if let Some(net) = live
                    .networks
                    .get(&name)
                    .and_then(|e| self.network(&e.network_id).ok())
                {
                    self.network_event("disconnect", &net, Some(&live.id));
                }
            }
        }
    }

    /// The endpoint on network `name` is given up; with `delete`, its veth is deleted now
    /// (a hot-unplug, where the namespace stays).
    pub(super) async fn detach_one(
        self: &Arc<Self>,
        live: &mut ContainerRecord,
        name: &str,
        delete: bool,
    ) {
        let Some(ep) = live.networks.get_mut(name) else {
            return;
        };
        let Some(active) = ep.active.take() else {
            return;
        };
        let host = active.host_ifname.clone();
        if !delete {
            let net_id = ep.network_id.clone();
            self.release(&net_id, &active);
            return;
        }
        if let Err(e) = blocking(move || muelle_net::link::detach(&host)).await {
            tracing::warn!(container = %live.id, network = name, error = %e, "removing an endpoint");
        }
        let net_id = ep.network_id.clone();
        self.release(&net_id, &active);
    }
}
