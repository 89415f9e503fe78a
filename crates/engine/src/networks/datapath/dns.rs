//! The engine's side of the embedded DNS server: which containers a container can find by
//! name (those sharing a user-defined network with it, by container name, short id,
//! hostname and network aliases, plus its own links' aliases), and starting and stopping
//! the server bound inside its namespace.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use super::{lock, Engine};
use crate::containers::ContainerRecord;
use crate::Result;

/// The names a container's resolver answers, looked up afresh for every query so that
/// containers starting, stopping and connecting are seen at once.
struct ContainerNames {
    engine: Weak<Engine>,
    id: String,
}

impl muelle_net::dns::Names for ContainerNames {
    fn lookup(&self, name: &str) -> Vec<IpAddr> {
        match self.engine.upgrade() {
            Some(e) => e.dns_lookup(&self.id, name),
            None => Vec::new(),
        }
    }

    fn reverse(&self, ip: IpAddr) -> Option<String> {
        self.engine.upgrade()?.dns_reverse(&self.id, ip)
    }
}

/// The user-defined networks `rec` has a live endpoint on, by id.
fn user_networks(engine: &Engine, rec: &ContainerRecord) -> Vec<(String, String)> {
    rec.networks
        .iter()
        .filter(|(_, e)| e.active.is_some())
        .filter_map(|(name, e)| {
            let net = engine.network(&e.network_id).ok()?;
            (net.is_bridge() && !net.is_default_bridge()).then(|| (net.id, name.clone()))
        })
        .collect()
}

impl Engine {
    /// Does the container get the embedded resolver (a live endpoint on a user-defined
    /// network)?
    pub(crate) fn uses_embedded_dns(&self, rec: &ContainerRecord) -> bool {
        rec.networks.iter().any(|(_, e)| {
            self.network(&e.network_id)
                .is_ok_and(|n| n.is_bridge() && !n.is_default_bridge())
        })
    }

    fn dns_lookup(&self, asker: &str, name: &str) -> Vec<IpAddr> {
        let Ok(me) = self.container(asker) else {
            return Vec::new();
        };
        let nets = user_networks(self, &me);
        // A link's alias names its target on the networks the two share.
        let mut wanted = name.to_string();
        for (target, alias) in crate::containers::links(&me.host_config) {
            if alias.eq_ignore_ascii_case(name) {
                wanted = target;
            }
        }
        let mut out = Vec::new();
        for rec in &self
            .containers
            .filter_map(|r| r.is_running().then(|| r.clone()))
        {
            for (net_id, _) in &nets {
                let Some(ep) = rec.networks.values().find(|e| &e.network_id == net_id) else {
                    continue;
                };
                let Some(a) = &ep.active else { continue };
                let aliases = ep.config.aliases.iter().flatten();
                let hit = rec.name.eq_ignore_ascii_case(&wanted)
                    || rec
                        .id
                        .get(..12)
                        .is_some_and(|s| s.eq_ignore_ascii_case(&wanted))
                    || rec.config.hostname.eq_ignore_ascii_case(&wanted)
                    || aliases.into_iter().any(|x| x.eq_ignore_ascii_case(&wanted));
                if hit {
                    for ip in [a.ipv4.map(|n| n.addr()), a.ipv6.map(|n| n.addr())]
                        .into_iter()
                        .flatten()
                    {
                        if !out.contains(&ip) {
                            out.push(ip);
                        }
                    }
                }
            }
        }
        out
    }

    fn dns_reverse(&self, asker: &str, ip: IpAddr) -> Option<String> {
        let me = self.container(asker).ok()?;
        let nets = user_networks(self, &me);
        for rec in &self
            .containers
            .filter_map(|r| r.is_running().then(|| r.clone()))
        {
            for (net_id, net_name) in &nets {
                let Some(ep) = rec.networks.values().find(|e| &e.network_id == net_id) else {
                    continue;
                };
                let Some(a) = &ep.active else { continue };
                if a.ipv4.map(|n| n.addr()) == Some(ip) || a.ipv6.map(|n| n.addr()) == Some(ip) {
                    return Some(format!("{}.{net_name}", rec.name));
                }
            }
        }
        None
    }

    /// Serves the container's resolver from sockets bound inside its namespace, when it is
    /// on a user-defined network.
    /// `bound`: the sockets when the caller already bound them inside the namespace.
    pub(super) fn start_dns(
        self: &Arc<Self>,
        rec: &ContainerRecord,
        bound: Option<super::Resolver>,
    ) -> Result<()> {
        if !self.uses_embedded_dns(rec) || !super::has_active(rec) {
            return Ok(());
        }
        let (udp, tcp) = match bound {
            Some(pair) => pair,
            None => muelle_net::dns::bind_in(&self.netns_path(&rec.id))
                .map_err(crate::EngineError::Net)?,
        };
        let dns: Vec<String> = crate::containers::host_config_list(&rec.host_config, "Dns");
        let upstreams: Vec<SocketAddr> = if dns.is_empty() {
            let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            muelle_net::dns::upstreams_from_resolv_conf(&text)
        } else {
            dns.iter()
                .filter_map(|d| d.parse::<IpAddr>().ok())
                .map(|ip| SocketAddr::new(ip, 53))
                .collect()
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let names = Arc::new(ContainerNames {
            engine: Arc::downgrade(self),
            id: rec.id.clone(),
        });
        tokio::spawn(muelle_net::dns::serve(udp, tcp, names, upstreams, rx));
        lock(&self.datapath.state).dns.insert(rec.id.clone(), tx);
        Ok(())
    }

    pub(super) fn stop_dns(&self, id: &str) {
        if let Some(tx) = lock(&self.datapath.state).dns.remove(id) {
            let _ = tx.send(true);
        }
    }
}
