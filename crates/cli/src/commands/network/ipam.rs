//! The docker CLI's consolidation of `network create`'s `--subnet`, `--ip-range`,
//! `--gateway` and `--aux-address` into `IPAM.Config` entries, with its messages: each range,
//! gateway and auxiliary address must fall in exactly one of the subnets given.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{bail, Result};
use muelle_types::network::IpamConfig;

/// `a.b.c.d/n` as (first address, prefix, is IPv4) in u128 arithmetic.
fn cidr(s: &str) -> Result<(u128, u8, bool)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (ip, len.parse::<u8>().ok()),
        None => (s, None),
    };
    let ip: IpAddr = match ip.parse() {
        Ok(ip) => ip,
        Err(_) => bail!("invalid CIDR address: {s}"),
    };
    let (v, max, v4) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32, true),
        IpAddr::V6(a) => (u128::from(a), 128, false),
    };
    let len = len.unwrap_or(max);
    if len > max {
        bail!("invalid CIDR address: {s}");
    }
    let host = u32::from(max - len);
    let mask = if host >= 128 {
        0
    } else {
        !((1u128 << host) - 1)
    };
    Ok((v & mask, len, v4))
}

/// Whether `sub` (a CIDR or a plain address) lies in `subnet`.
fn matches(subnet: &str, sub: &str) -> Result<bool> {
    let (net, len, v4) = cidr(subnet)?;
    let (addr, _, v4b) = cidr(sub)?;
    if v4 != v4b {
        return Ok(false);
    }
    let max = if v4 { 32 } else { 128 };
    let host = u32::from(max - len);
    let mask = if host >= 128 {
        0
    } else {
        !((1u128 << host) - 1)
    };
    Ok(addr & mask == net)
}

/// The docker CLI's `consolidateIpam`.
pub fn consolidate(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> Result<Vec<IpamConfig>> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut out: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for o in &out {
            if matches(&o.subnet, s)? || matches(s, &o.subnet)? {
                bail!("multiple overlapping subnet configuration is not allowed");
            }
        }
        out.push(IpamConfig {
            subnet: s.clone(),
            ..IpamConfig::default()
        });
    }
    for r in ranges {
        let mut found = false;
        for c in out.iter_mut() {
            if !matches(&c.subnet, r)? {
                continue;
            }
            if !c.ip_range.is_empty() {
                bail!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    c.ip_range,
                    c.subnet
                );
            }
            c.ip_range = r.clone();
            found = true;
        }
        if !found {
            bail!("no matching subnet for range {r}");
        }
    }
    for g in gateways {
        let mut found = false;
        for c in out.iter_mut() {
            if !matches(&c.subnet, g)? {
                continue;
            }
            if !c.gateway.is_empty() {
                bail!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    c.gateway,
                    c.subnet
                );
            }
            c.gateway = g.clone();
            found = true;
        }
        if !found {
            bail!("no matching subnet for gateway {g}");
        }
    }
    for (k, a) in aux {
        let mut found = false;
        for c in out.iter_mut() {
            if matches(&c.subnet, a)? {
                c.auxiliary_addresses.insert(k.clone(), a.clone());
                found = true;
            }
        }
        if !found {
            bail!("no matching subnet for aux-address {a}");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn consolidates_as_the_docker_cli() {
        let aux = BTreeMap::from([("a".to_string(), "10.1.0.5".to_string())]);
        let c = consolidate(
            &v(&["10.1.0.0/24", "fd00::/64"]),
            &v(&["10.1.0.128/25"]),
            &v(&["10.1.0.1", "fd00::1"]),
            &aux,
        )
        .unwrap();
        assert_eq!(c[0].ip_range, "10.1.0.128/25");
        assert_eq!(c[0].gateway, "10.1.0.1");
        assert_eq!(c[0].auxiliary_addresses["a"], "10.1.0.5");
        assert_eq!(c[1].gateway, "fd00::1");
        let e = |s: &[&str], r: &[&str], g: &[&str]| {
            consolidate(&v(s), &v(r), &v(g), &BTreeMap::new())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(&["10.1.0.0/24"], &[], &["10.2.0.1"]),
            "no matching subnet for gateway 10.2.0.1"
        );
        assert_eq!(
            e(&["10.1.0.0/24"], &["10.3.0.0/25"], &[]),
            "no matching subnet for range 10.3.0.0/25"
        );
        assert_eq!(
            e(&["10.1.0.0/16", "10.1.2.0/24"], &[], &[]),
            "multiple overlapping subnet configuration is not allowed"
        );
        assert_eq!(
            e(&[], &[], &["10.1.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
    }
}
