//! The upstream resolvers of a resolv.conf text: where the embedded resolver forwards the
//! names it does not own.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use super::RESOLVER_IP;

/// The nameservers of a resolv.conf text (port 53), skipping 127.0.0.11 itself.
///
/// Loopback resolvers (systemd-resolved's 127.0.0.53, a local dnsmasq) are kept: queries are
/// forwarded from the daemon's namespace, where they are reachable. An IPv6 address may carry
/// a zone (`fe80::1%eth0` or `%2`); one naming an interface that does not exist is skipped,
/// since a link-local address means nothing without its link.
pub fn upstreams_from_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => parse_nameserver(addr),
                _ => None,
            }
        })
        .filter(|addr| addr.ip() != IpAddr::V4(RESOLVER_IP))
        .collect()
}

fn parse_nameserver(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    let (ip, zone) = text.split_once('%')?;
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope = match zone.parse::<u32>() {
        Ok(index) => index,
        Err(_) => interface_index(zone)?,
    };
    Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
}

/// The index of the host interface `name`, if it exists.
fn interface_index(name: &str) -> Option<u32> {
    let socket = std::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).ok()?;
    rustix::net::netdevice::name_to_index(&socket, name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_in_order_without_ourselves() {
        let text = "# generated\nsearch example.internal\nnameserver 10.0.0.2\n\
                    nameserver 127.0.0.11\n  nameserver\t2001:db8::53 \n; comment\n\
                    nameserver fe80::1%1\nnameserver not-an-ip\noptions ndots:0\n\
                    #nameserver 10.9.9.9\n";
        let got = upstreams_from_resolv_conf(text);
        assert_eq!(
            got,
            vec![
                "10.0.0.2:53".parse().unwrap(),
                "[2001:db8::53]:53".parse().unwrap(),
                SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 1)),
            ]
        );
    }

    #[test]
    fn systemd_resolved_stub_is_kept() {
        assert_eq!(
            upstreams_from_resolv_conf("nameserver 127.0.0.53\noptions edns0 trust-ad\n"),
            vec!["127.0.0.53:53".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn zone_by_interface_name() {
        let got =
            upstreams_from_resolv_conf("nameserver fe80::1%lo\nnameserver fe80::2%nosuchif0\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].port(), 53);
    }

    #[test]
    fn nothing_usable_is_empty() {
        assert!(upstreams_from_resolv_conf("").is_empty());
        assert!(upstreams_from_resolv_conf("nameserver 127.0.0.11\n").is_empty());
    }
}
