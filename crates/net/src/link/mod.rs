//! Bridges and veth pairs over netlink (rtnetlink; never the `ip` binary), their addresses,
//! routes and MTU, and what the host's routing table says (its default MTU, the prefixes a new
//! network must not overlap).
//!
//! Every function works in the network namespace of the calling thread ("the host" from the
//! engine's side; a test runs them inside `netns::run_in` of a namespace of its own), except
//! what `attach` does inside the container's namespace, which it enters by path.

mod bridge;
mod names;
mod nl;
mod routes;
mod veth;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::IpNet;

use crate::Result;

pub(crate) use nl::loopback_up;
pub use veth::mac_text;

/// A bridge as a network wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    pub name: String,
    /// The gateway addresses with the subnet's prefix (`172.18.0.1/16`, `fd00::1/64`).
    pub addrs: Vec<IpNet>,
    /// 0 leaves the kernel's default (1500, as Docker's default `mtu`).
    pub mtu: u32,
}

/// Create the bridge if absent (else make sure addresses and MTU are as given), set it up.
/// Addresses already on the bridge that `cfg` does not name are left alone; a link of that
/// name that is not a bridge is a `Conflict`.
pub fn ensure_bridge(cfg: &BridgeConfig) -> Result<()> {
    names::check(&cfg.name)?;
    nl::session(|h| async move { bridge::ensure(&h, cfg).await })
}

/// Delete a link by name in the current (host) namespace; Ok if absent.
pub fn delete_link(name: &str) -> Result<()> {
    names::check(name)?;
    nl::session(|h| async move {
        match nl::find_link(&h, name).await? {
            Some(link) => nl::del_link(&h, link.header.index, name).await,
            None => Ok(()),
        }
    })
}

/// Whether a link called `name` exists (false too when netlink cannot be asked).
pub fn link_exists(name: &str) -> bool {
    if names::check(name).is_err() {
        return false;
    }
    matches!(
        nl::session(|h| async move { nl::find_link(&h, name).await }),
        Ok(Some(_))
    )
}

/// What a link looks like, for checks and diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkState {
    pub name: String,
    pub index: u32,
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub up: bool,
    pub mac: Option<[u8; 6]>,
    /// The bridge (or other controller) it is a port of.
    pub controller: Option<String>,
    pub addrs: Vec<IpNet>,
}

/// The link called `name` in the calling thread's namespace, or None when there is none.
pub fn link_state(name: &str) -> Result<Option<LinkState>> {
    names::check(name)?;
    nl::session(|h| async move { nl::state(&h, name).await })
}

/// Names of host links starting with `prefix` (to find veths leaked by a crash).
pub fn links_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let links = nl::session(|h| async move { nl::all_links(&h).await })?;
    let mut found: Vec<String> = links
        .iter()
        .filter_map(nl::name_of)
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect();
    found.sort();
    Ok(found)
}

/// One end of a container's connection to a bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub bridge: String,
    /// The host side, e.g. "veth" + 7 hex chars (at most 15 bytes).
    pub host_ifname: String,
    /// The name inside the container: "eth0", "eth1", ...
    pub ifname: String,
    pub mac: [u8; 6],
    /// Address/prefix inside the container.
    pub addrs: Vec<IpNet>,
    /// Default route via it when Some.
    pub gateway4: Option<Ipv4Addr>,
    pub gateway6: Option<Ipv6Addr>,
    /// 0 leaves the kernel's default (1500).
    pub mtu: u32,
}

/// veth pair: host side on the bridge and up; peer moved into the namespace at `netns`,
/// renamed to `ifname`, MAC, addresses, MTU, up, default route(s). On error removes what it made.
pub fn attach(netns: &Path, ep: &Endpoint) -> Result<()> {
    veth::attach(netns, ep)
}

/// Remove an endpoint by its host side (hot-unplug or stop); Ok if absent. Deleting one end
/// of a veth pair deletes the other, inside the container.
pub fn detach(host_ifname: &str) -> Result<()> {
    delete_link(host_ifname)
}

/// The MTU of the host's default route's device (1500 when there is none).
pub fn host_mtu() -> u32 {
    routes::host_mtu()
}

/// Destination prefixes of the host's IPv4 and IPv6 routes (what IPAM must avoid): the main
/// table's, default routes excepted.
pub fn host_routes() -> Result<Vec<IpNet>> {
    routes::host_routes()
}
