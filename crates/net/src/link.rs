//! See the crate documentation.
//!
//! PLACEHOLDER (helper "objects"): only `host_routes`, read from /proc, so that the engine's
//! IPAM compiles and avoids the host's routes before the link helper's netlink version is
//! merged. On merge, take the link helper's file whole.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::{NetError, Result};

/// Destination prefixes of the host's IPv4 and IPv6 routes (what IPAM must avoid).
pub fn host_routes() -> Result<Vec<IpNet>> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| NetError::Io { what, source }
    };
    let mut out = Vec::new();
    let v4 = std::fs::read_to_string("/proc/net/route").map_err(io("reading /proc/net/route"))?;
    for line in v4.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // The file holds the addresses in host (little-endian) byte order.
        let dst = Ipv4Addr::from(dst.to_le_bytes());
        let len = mask.count_ones() as u8;
        if let Ok(n) = IpNet::new(IpAddr::V4(dst), len) {
            out.push(n.trunc());
        }
    }
    if let Ok(v6) = std::fs::read_to_string("/proc/net/ipv6_route") {
        for line in v6.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 2 {
                continue;
            }
            let (Ok(dst), Ok(len)) = (u128::from_str_radix(f[0], 16), u8::from_str_radix(f[1], 16))
            else {
                continue;
            };
            if let Ok(n) = IpNet::new(IpAddr::V6(Ipv6Addr::from(dst)), len) {
                out.push(n.trunc());
            }
        }
    }
    Ok(out)
}
