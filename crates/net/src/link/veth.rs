//! `attach`: a container's endpoint as a veth pair, the host end a port of the bridge, the
//! other end made directly inside the container's namespace (the create request names the
//! namespace, the name `eth0`, the MAC and the MTU of the peer), so no end is moved between
//! namespaces afterwards, which would cost the start a network-wide RCU wait; inside, only
//! addresses, up and routes are left to do. Whatever fails after the pair exists, the host
//! end is deleted, which deletes both ends wherever they are.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use rtnetlink::packet_route::link::{InfoData, InfoVeth};
use rtnetlink::{Handle, LinkBridgePort, LinkUnspec, LinkVeth, RouteMessageBuilder};

use super::{names, nl, Endpoint};
use crate::{netns, Result};

pub(super) fn attach(netns_path: &Path, ep: &Endpoint) -> Result<()> {
    names::check(&ep.bridge)?;
    names::check(&ep.host_ifname)?;
    names::check(&ep.ifname)?;
    let ns = File::open(netns_path).map_err(|e| {
        nl::io_err(
            format!(
                "open network namespace {} for {}",
                netns_path.display(),
                ep.host_ifname
            ),
            e,
        )
    })?;
    let ns_ref = &ns;
    nl::session(|h| async move { host_side(&h, ep, ns_ref).await })?;
    let inside = {
        let ep = ep.clone();
        netns::run_in(netns_path, move || {
            nl::session(|h| async move { container_side(&h, &ep).await })
        })
        .and_then(|done| done)
    };
    if let Err(e) = inside {
        // The error worth reporting is the first; a failed cleanup only adds a log line.
        if let Err(undo) = super::delete_link(&ep.host_ifname) {
            tracing::warn!(error = %undo, "removing the veth of a failed attach");
        }
        return Err(e);
    }
    Ok(())
}

/// Make the pair with its container end already in `ns` (named, with its MAC and MTU), put
/// the host end on the bridge and up. Nothing is made when the bridge is missing or the host
/// name taken; after that, a failure deletes the pair.
async fn host_side(h: &Handle, ep: &Endpoint, ns: &File) -> Result<()> {
    let bridge = nl::need_link(h, &ep.bridge).await?;
    let host = ep.host_ifname.as_str();
    let ifname = ep.ifname.as_str();
    let mut peer = LinkUnspec::new_with_name(ifname)
        .address(ep.mac.to_vec())
        .setns_by_fd(ns.as_raw_fd());
    if ep.mtu != 0 {
        peer = peer.mtu(ep.mtu);
    }
    let pair = LinkVeth::new(host, ifname)
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
        .build();
    h.link().add(pair).execute().await.map_err(|e| {
        nl::nl_err(
            format!(
                "create veth pair {host} (peer {ifname}, MAC {}, in the container's namespace)",
                mac_text(&ep.mac)
            ),
            e,
        )
    })?;
    let configured = async {
        let link = nl::need_link(h, host).await?;
        let mut set = LinkUnspec::new_with_index(link.header.index)
            .controller(bridge.header.index)
            .up();
        if ep.mtu != 0 {
            set = set.mtu(ep.mtu);
        }
        let what = format!("attach {host} to bridge {} and set it up", ep.bridge);
        nl::set_link(h, set.build(), what).await?;
        // Hairpin, as Docker sets it: a container reaching its own published port through
        // the host address is sent back out of the port it came in by.
        h.link()
            .set_port(LinkBridgePort::new(link.header.index).hairpin(true).build())
            .execute()
            .await
            .map_err(|e| nl::nl_err(format!("set hairpin mode on {host}"), e))?;
        Ok(())
    }
    .await;
    if configured.is_err() {
        let index = nl::find_link(h, host).await.ok().flatten();
        if let Some(link) = index {
            if let Err(undo) = nl::del_link(h, link.header.index, host).await {
                tracing::warn!(error = %undo, "removing the veth of a failed attach");
            }
        }
    }
    configured
}

/// Inside the container's namespace: addresses, up, default routes.
async fn container_side(h: &Handle, ep: &Endpoint) -> Result<()> {
    let ifname = ep.ifname.as_str();
    let index = nl::need_link(h, ifname).await?.header.index;
    for net in &ep.addrs {
        nl::add_addr(h, index, *net, ifname).await?;
    }
    let up = LinkUnspec::new_with_index(index).up().build();
    nl::set_link(h, up, format!("set {ifname} up")).await?;
    let v4 = ep.gateway4.map(|gw| {
        let r = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gw);
        (gw.to_string(), r.output_interface(index).build())
    });
    let v6 = ep.gateway6.map(|gw| {
        let r = RouteMessageBuilder::<Ipv6Addr>::new().gateway(gw);
        (gw.to_string(), r.output_interface(index).build())
    });
    for (gw, route) in v4.into_iter().chain(v6) {
        h.route()
            .add(route)
            .execute()
            .await
            .map_err(|e| nl::nl_err(format!("add default route via {gw} on {ifname}"), e))?;
    }
    Ok(())
}

/// A MAC address as `02:42:ac:11:00:02` (messages, and how inspect shows it).
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_text_is_lower_hex_with_colons() {
        assert_eq!(
            mac_text(&[0x02, 0x42, 0xac, 0x11, 0x00, 0x02]),
            "02:42:ac:11:00:02"
        );
    }
}
