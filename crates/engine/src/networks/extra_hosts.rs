//! `--add-host` entries as dockerd reads them: `name=ip` (docker 25+) or `name:ip`, the IP
//! possibly in brackets, and `host-gateway` standing for the host's address: the default
//! bridge's gateway, as dockerd uses; without one, the host's own IPv4 address on the
//! interface of its default route; without a default route it is refused as dockerd refuses
//! it when it cannot derive the address.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The name dockerd replaces with the host's address.
pub const HOST_GATEWAY: &str = "host-gateway";

/// `(name, ip)` of one entry, `host-gateway` left as it is.
pub fn split(entry: &str) -> Result<(&str, &str), String> {
    let (name, ip) = entry
        .split_once('=')
        .or_else(|| entry.split_once(':'))
        .ok_or_else(|| format!("invalid extra host entry: {entry:?}"))?;
    let ip = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if name.is_empty() || ip.is_empty() {
        return Err(format!("invalid extra host entry: {entry:?}"));
    }
    Ok((name, ip))
}

/// The gateway of the host's default IPv4 route, from /proc/net/route.
fn default_gateway() -> Option<Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.get(1) != Some(&"00000000") {
            return None;
        }
        let g = u32::from_str_radix(f.get(2)?, 16).ok()?;
        Some(Ipv4Addr::from(g.to_le_bytes()))
    })
}

/// The host's address on its default route: the source address the kernel picks for the
/// gateway (a UDP connect sends nothing).
pub fn host_gateway_ip() -> Result<IpAddr, String> {
    let unable = || "unable to derive the IP value for host-gateway".to_owned();
    let gw = default_gateway().ok_or_else(unable)?;
    let s = UdpSocket::bind("0.0.0.0:0").map_err(|_| unable())?;
    s.connect((gw, 9)).map_err(|_| unable())?;
    Ok(s.local_addr().map_err(|_| unable())?.ip())
}

/// Entries as `name:ip` with `host-gateway` replaced, in the order given.
/// `bridge_gateway` is the default bridge's address, which dockerd gives `host-gateway`;
/// without one, the host's own address on its default-route interface.
pub fn resolve(entries: &[String], bridge_gateway: Option<IpAddr>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut gateway = bridge_gateway;
    for e in entries {
        let (name, ip) = split(e)?;
        let ip = if ip == HOST_GATEWAY {
            if gateway.is_none() {
                gateway = Some(host_gateway_ip()?);
            }
            gateway.map(|g| g.to_string()).unwrap_or_default()
        } else {
            ip.parse::<IpAddr>()
                .map_err(|_| format!("invalid IP address in add-host: {ip:?}"))?
                .to_string()
        };
        out.push(format!("{name}:{ip}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_brackets() {
        assert_eq!(split("db:10.0.0.2").unwrap(), ("db", "10.0.0.2"));
        assert_eq!(split("db=10.0.0.2").unwrap(), ("db", "10.0.0.2"));
        assert_eq!(split("v6:::1").unwrap(), ("v6", "::1"));
        assert_eq!(split("v6=[::1]").unwrap(), ("v6", "::1"));
        assert!(split("nothing").is_err());
        assert_eq!(
            resolve(&["a=10.0.0.1".into(), "b:::1".into()], None).unwrap(),
            ["a:10.0.0.1", "b:::1"]
        );
        assert!(resolve(&["a:notanip".into()], None).is_err());
        let gw = Some("172.18.0.1".parse().unwrap());
        assert_eq!(
            resolve(&["h:host-gateway".into()], gw).unwrap(),
            ["h:172.18.0.1"]
        );
    }
}
