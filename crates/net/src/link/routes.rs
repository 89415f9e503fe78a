//! What the host's main routing table says: the device (hence MTU) of its default route, and
//! the prefixes it routes, which a new network's subnet must not overlap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::{Handle, RouteMessageBuilder};

use super::nl;
use crate::Result;

/// What an interface without an explicit MTU gets, and Docker's default.
const DEFAULT_MTU: u32 = 1500;

pub(super) fn host_mtu() -> u32 {
    let found = nl::session(|h| async move {
        let routes = main_routes(&h).await?;
        // IPv4's default route first: it is the one Docker looks at.
        let Some(oif) = routes
            .iter()
            .filter(|r| r.header.destination_prefix_length == 0)
            .filter_map(oif_of)
            .next()
        else {
            return Ok(None);
        };
        let links = nl::all_links(&h).await?;
        Ok(links
            .iter()
            .find(|l| l.header.index == oif)
            .and_then(nl::mtu_of))
    });
    match found {
        Ok(Some(mtu)) => mtu,
        Ok(None) => DEFAULT_MTU,
        Err(e) => {
            tracing::warn!(error = %e, "reading the host's default route; assuming MTU {DEFAULT_MTU}");
            DEFAULT_MTU
        }
    }
}

pub(super) fn host_routes() -> Result<Vec<IpNet>> {
    nl::session(|h| async move {
        let routes = main_routes(&h).await?;
        let mut nets: Vec<IpNet> = routes.iter().filter_map(destination).collect();
        nets.sort();
        nets.dedup();
        Ok(nets)
    })
}

/// IPv4 then IPv6 routes of the main table.
async fn main_routes(h: &Handle) -> Result<Vec<RouteMessage>> {
    let mut all = dump(h, RouteMessageBuilder::<Ipv4Addr>::new().build()).await?;
    all.extend(dump(h, RouteMessageBuilder::<Ipv6Addr>::new().build()).await?);
    all.retain(in_main_table);
    Ok(all)
}

async fn dump(h: &Handle, filter: RouteMessage) -> Result<Vec<RouteMessage>> {
    h.route()
        .get(filter)
        .execute()
        .try_collect()
        .await
        .map_err(|e| nl::nl_err("list the routes".into(), e))
}

/// Table ids above 255 travel in RTA_TABLE, the header's byte then saying RT_TABLE_COMPAT.
fn in_main_table(r: &RouteMessage) -> bool {
    let table = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(r.header.table));
    table == u32::from(RouteHeader::RT_TABLE_MAIN)
}

fn oif_of(r: &RouteMessage) -> Option<u32> {
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Oif(i) => Some(*i),
        _ => None,
    })
}

/// The prefix a route leads to; None for default routes (and anything not IP).
fn destination(r: &RouteMessage) -> Option<IpNet> {
    let len = r.header.destination_prefix_length;
    if len == 0 {
        return None;
    }
    let addr: IpAddr = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(RouteAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Destination(RouteAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })?;
    IpNet::new(addr, len).ok().map(|n| n.trunc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: Option<IpAddr>, len: u8, table: u8, table_attr: Option<u32>) -> RouteMessage {
        let mut r = RouteMessage::default();
        r.header.destination_prefix_length = len;
        r.header.table = table;
        if let Some(ip) = dst {
            r.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(ip)));
        }
        if let Some(t) = table_attr {
            r.attributes.push(RouteAttribute::Table(t));
        }
        r
    }

    #[test]
    fn destinations_skip_default_routes() {
        let v4 = route(Some("10.1.2.0".parse().unwrap()), 24, 254, None);
        assert_eq!(destination(&v4), Some("10.1.2.0/24".parse().unwrap()));
        let v6 = route(Some("fd00:1::".parse().unwrap()), 64, 254, None);
        assert_eq!(destination(&v6), Some("fd00:1::/64".parse().unwrap()));
        assert_eq!(destination(&route(None, 0, 254, None)), None);
    }

    #[test]
    fn main_table_is_read_from_the_attribute_when_present() {
        assert!(in_main_table(&route(None, 0, 254, None)));
        assert!(!in_main_table(&route(None, 0, 255, None)));
        assert!(in_main_table(&route(None, 0, 252, Some(254))));
        assert!(!in_main_table(&route(None, 0, 254, Some(1000))));
    }
}
