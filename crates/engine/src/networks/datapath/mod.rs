//! The datapath: what makes a container's endpoints real on the host. At start it creates the
//! container's network namespace file, a veth per network on that network's bridge with an
//! address from the network's allocator, the published ports (reservations and nftables
//! rules) and, on user-defined networks, the embedded DNS server; at stop it takes them down
//! again; after a daemon restart it rebuilds what running containers need.
//!
//! What is live is kept in the container's record (`EndpointRecord::active`,
//! `ContainerRecord::published`); this module's own state is only what cannot be written
//! down: the address allocators (rebuilt from the records), the held port sockets and the
//! DNS servers' stop switches.

mod dns;
mod endpoints;
mod links;
mod rules;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use muelle_net::ipam::Allocator;
use muelle_net::ports::Reservation;

use super::NetworkRecord;
use crate::containers::{ContainerRecord, Ctr};
use crate::{Engine, Result};

/// Docker's defaults for a network namespace of the container's own (ping without
/// CAP_NET_RAW, any port without CAP_NET_BIND_SERVICE; both reach only that namespace),
/// written by the daemon into the namespaces it makes.
pub(crate) const NETNS_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.ip_unprivileged_port_start", "0"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
];

/// The name of the daemon's nftables tables (`ip muelle`, `ip6 muelle`).
pub const FIREWALL_TABLE: &str = "muelle";

/// The datapath's in-memory state.
#[derive(Default)]
pub(crate) struct Datapath {
    state: Mutex<State>,
    /// One change of bridges, endpoints and rules at a time, so the rules applied are
    /// always computed from a settled set of containers.
    apply: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Datapath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapath").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// By network id, one per subnet of the network, in its order.
    allocators: HashMap<String, Vec<Allocator>>,
    /// By container id.
    reservations: HashMap<String, Vec<Reservation>>,
    /// By container id: the switch that stops its DNS server.
    dns: HashMap<String, tokio::sync::watch::Sender<bool>>,
    /// The rule set last applied, so an unchanged one is not applied again.
    applied: Option<muelle_net::firewall::Rules>,
    /// Bridges made or checked since the daemon started: a start on a network already in
    /// use does not ask the kernel again.
    bridges_ready: std::collections::HashSet<String>,
    /// The host's default-route MTU, read once.
    host_mtu: Option<u32>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Does the container need a namespace of its own with endpoints (a bridge network)?
pub(crate) fn wants_endpoints(rec: &ContainerRecord) -> bool {
    let mode = rec.host_config.network_mode();
    !(mode == "host" || mode == "none" || mode.starts_with("container:") || rec.networks.is_empty())
}

/// Does the container have live endpoints?
pub(crate) fn has_active(rec: &ContainerRecord) -> bool {
    rec.networks.values().any(|e| e.active.is_some())
}

impl Engine {
    /// Where the container's network namespace is bound while it runs (`SandboxKey`).
    pub fn netns_path(&self, id: &str) -> PathBuf {
        self.config()
            .exec_root
            .join("netns")
            .join(&id[..id.len().min(12)])
    }

    /// Sets up the container's networking before its process is made: returns the record
    /// with its endpoints active and its ports published, or an error with nothing left
    /// behind.
    pub(crate) async fn network_up(
        self: &Arc<Self>,
        rec: &ContainerRecord,
    ) -> Result<ContainerRecord> {
        self.check_static_addresses(rec)?;
        if !wants_endpoints(rec) {
            return Ok(rec.clone());
        }
        let _guard = self.datapath.apply.lock().await;
        let mut live = rec.clone();
        let result = self.network_up_locked(&mut live, false).await;
        if let Err(e) = result {
            self.network_down_locked(&mut live).await;
            return Err(e);
        }
        Ok(live)
    }

    async fn network_up_locked(
        self: &Arc<Self>,
        live: &mut ContainerRecord,
        restoring: bool,
    ) -> Result<()> {
        let netns = self.netns_path(&live.id);
        let t0 = std::time::Instant::now();
        // A container on a user-defined network gets its resolver's sockets bound in the same
        // visit to its new namespace that writes the sysctls.
        let mut resolver = None;
        if !restoring {
            let path = netns.clone();
            let with_dns = self.uses_embedded_dns(live);
            resolver = blocking(move || new_namespace(&path, with_dns)).await?;
            let made = t0.elapsed();
            self.attach_endpoints(live).await?;
            tracing::debug!(container = %live.id, netns_us = made.as_micros() as u64, endpoints_us = (t0.elapsed() - made).as_micros() as u64, "network namespace and endpoints");
        }
        let t1 = std::time::Instant::now();
        self.publish_ports(live, restoring)?;
        // At a daemon start the rules of all restored containers are applied once, by
        // `network_settle`: per container, each apply compared (and at first ran nft for)
        // a rule set built from every running record.
        if !restoring {
            self.apply_rules(Some(live), None).await?;
        }
        let t2 = std::time::Instant::now();
        self.start_dns(live, resolver)?;
        tracing::debug!(container = %live.id, rules_us = (t2 - t1).as_micros() as u64, dns_us = t2.elapsed().as_micros() as u64, "ports, rules, resolver");
        Ok(())
    }

    /// Takes the container's networking down (its exit, a failed start) and records that it
    /// has no live endpoint and no published port any more.
    pub(crate) async fn network_down(self: &Arc<Self>, ctr: &Ctr) {
        let mut live = ctr.record();
        if !has_active(&live) && live.published.is_empty() && !self.netns_path(&live.id).exists() {
            return;
        }
        let _guard = self.datapath.apply.lock().await;
        let t0 = std::time::Instant::now();
        self.network_down_locked(&mut live).await;
        tracing::debug!(container = %live.id, down_us = t0.elapsed().as_micros() as u64, "network down");
        ctr.update(|r| {
            r.networks = live.networks;
            r.published = live.published;
        });
    }

    async fn network_down_locked(self: &Arc<Self>, live: &mut ContainerRecord) {
        self.stop_dns(&live.id);
        lock(&self.datapath.state).reservations.remove(&live.id);
        self.detach_endpoints(live).await;
        live.published.clear();
        let path = self.netns_path(&live.id);
        if let Err(e) = blocking(move || muelle_net::netns::remove(&path)).await {
            tracing::warn!(container = %live.id, error = %e, "removing the network namespace");
        }
        if let Err(e) = self.apply_rules(None, Some(&live.id)).await {
            tracing::warn!(container = %live.id, error = %e, "updating the firewall after a stop");
        }
    }

    /// After a daemon restart: the ports and DNS servers of a running container whose
    /// namespace and endpoints outlived the daemon; its rules come with `network_settle`.
    pub(crate) async fn network_restore(self: &Arc<Self>, rec: &ContainerRecord) -> Result<()> {
        if !has_active(rec) {
            return Ok(());
        }
        let _guard = self.datapath.apply.lock().await;
        self.mark_addresses(rec);
        // Its endpoints outlived the daemon, and so did their bridges.
        for ep in rec.networks.values().filter(|e| e.active.is_some()) {
            if let Ok(net) = self.network(&ep.network_id) {
                lock(&self.datapath.state).bridges_ready.insert(net.bridge);
            }
        }
        let mut live = rec.clone();
        self.network_up_locked(&mut live, true).await
    }

    /// After all containers were restored: the rules for what runs (also when nothing
    /// does, which removes a crashed daemon's rules), and no veth or namespace file of
    /// ours that no running container owns.
    pub async fn network_settle(self: &Arc<Self>) {
        let _guard = self.datapath.apply.lock().await;
        let records = self.containers.records();
        let running: Vec<&ContainerRecord> = records.iter().filter(|r| r.is_running()).collect();
        let owned: std::collections::HashSet<String> = running
            .iter()
            .flat_map(|r| r.networks.values())
            .filter_map(|e| e.active.as_ref().map(|a| a.host_ifname.clone()))
            .collect();
        let leaked = blocking(|| muelle_net::link::links_with_prefix(endpoints::VETH_PREFIX))
            .await
            .unwrap_or_default();
        for name in leaked.into_iter().filter(|n| !owned.contains(n)) {
            let _ = blocking(move || muelle_net::link::detach(&name)).await;
        }
        let dir = self.config().exec_root.join("netns");
        let keep: std::collections::HashSet<PathBuf> =
            running.iter().map(|r| self.netns_path(&r.id)).collect();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if !keep.contains(&p) {
                    let _ = blocking(move || muelle_net::netns::remove(&p)).await;
                }
            }
        }
        if let Err(e) = self.apply_rules(None, None).await {
            tracing::warn!(error = %e, "applying the firewall rules at daemon start");
        }
    }

    /// At a clean daemon stop with no container running: no rule, bridge or namespace of
    /// ours stays on the host.
    pub async fn network_shutdown(self: &Arc<Self>) {
        if !self
            .containers
            .filter_map(|r| r.is_running().then_some(()))
            .is_empty()
        {
            return;
        }
        let _guard = self.datapath.apply.lock().await;
        let bridges: Vec<String> = self
            .networks()
            .into_iter()
            .filter(|n| n.is_bridge() && !n.bridge.is_empty())
            .map(|n| n.bridge)
            .collect();
        let _ = blocking(move || {
            for b in bridges {
                let _ = muelle_net::link::delete_link(&b);
            }
            muelle_net::firewall::clear(FIREWALL_TABLE)
        })
        .await;
        let mut st = lock(&self.datapath.state);
        st.applied = None;
        st.bridges_ready.clear();
        // The directory is a private bind mount of itself (so the namespaces bound in it do
        // not propagate); it goes with its mount.
        let dir = self.config().exec_root.join("netns");
        let _ = rustix::mount::unmount(&dir, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir(&dir);
    }

    /// Hot-plug: give the running container `rec` its endpoint on `network` (already in
    /// `rec.networks`); the caller records the returned record.
    pub(crate) async fn datapath_connect(
        self: &Arc<Self>,
        rec: &ContainerRecord,
        network: &str,
    ) -> Result<ContainerRecord> {
        let _guard = self.datapath.apply.lock().await;
        let mut live = rec.clone();
        self.attach_one(&mut live, network).await?;
        self.apply_rules(Some(&live), None).await?;
        // The resolver looks names up afresh for every query: one already serving sees the
        // new network at once; a container that had none gets one now.
        if !lock(&self.datapath.state).dns.contains_key(&live.id) {
            self.start_dns(&live, None)?;
        }
        Ok(live)
    }

    /// Hot-unplug: remove the running container's endpoint on `network` (still in
    /// `rec.networks`); the caller removes it from the record afterwards.
    pub(crate) async fn datapath_disconnect(
        self: &Arc<Self>,
        rec: &ContainerRecord,
        network: &str,
    ) -> Result<()> {
        let _guard = self.datapath.apply.lock().await;
        let mut live = rec.clone();
        self.detach_one(&mut live, network, true).await;
        live.networks.remove(network);
        self.apply_rules(Some(&live), None).await?;
        if !self.uses_embedded_dns(&live) {
            self.stop_dns(&live.id);
        }
        Ok(())
    }

    /// A network was removed: its bridge goes, and its rules with the next apply.
    pub(crate) async fn datapath_network_removed(self: &Arc<Self>, net: &NetworkRecord) {
        let _guard = self.datapath.apply.lock().await;
        {
            let mut st = lock(&self.datapath.state);
            st.allocators.remove(&net.id);
            st.bridges_ready.remove(&net.bridge);
        }
        if net.is_bridge() && !net.bridge.is_empty() {
            let b = net.bridge.clone();
            if let Err(e) = blocking(move || muelle_net::link::delete_link(&b)).await {
                tracing::warn!(network = %net.name, error = %e, "deleting the bridge");
            }
        }
        if let Err(e) = self.apply_rules(None, None).await {
            tracing::warn!(error = %e, "updating the firewall after a network removal");
        }
    }
}

/// The container's namespace file, made afresh, with Docker's sysctls written inside it (a
/// remapped container's user namespace could not) and, on a user-defined network, the
/// resolver's sockets bound in that same visit.
fn new_namespace(path: &Path, with_dns: bool) -> muelle_net::Result<Option<Resolver>> {
    let _ = muelle_net::netns::remove(path);
    muelle_net::netns::create(path)?;
    // /proc/sys/net is the namespace of the thread that opens it.
    muelle_net::netns::run_in(path, move || {
        for (k, v) in NETNS_SYSCTLS {
            let file = format!("/proc/sys/{}", k.replace('.', "/"));
            std::fs::write(&file, v).map_err(|source| muelle_net::NetError::Io {
                what: format!("writing {file} in the container's namespace"),
                source,
            })?;
        }
        if !with_dns {
            return Ok(None);
        }
        muelle_net::dns::bind_here()
            .map(Some)
            .map_err(|source| muelle_net::NetError::Io {
                what: "binding the DNS resolver in the container's namespace".into(),
                source,
            })
    })?
}

/// The resolver's sockets, bound inside a container's namespace.
type Resolver = (std::net::UdpSocket, std::net::TcpListener);

/// Runs blocking host networking work (netlink, nft, mounts) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> muelle_net::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::EngineError::Task {
            what: "host networking",
            reason: e.to_string(),
        })?
        .map_err(crate::EngineError::Net)
}
