//! The kernel settings our rules depend on, written through /proc/sys of the calling thread's
//! network namespace. Each is written only when not already 1: writing `forwarding` resets
//! per-interface settings (and for IPv6 turns off router-advertisement acceptance), so an
//! unchanged value must not be rewritten on every apply.

use std::path::Path;

use super::Rules;
use crate::{NetError, Result};

/// Forwarding (IPv6 only with an IPv6 network), `route_localnet` on every bridge (the host's
/// 127.0.0.1 connections DNATed into it), and, when a network turns inter-container
/// communication off, bridge-nf-call so same-bridge traffic meets the forward hook at all
/// (only when br_netfilter is loaded: the module is the host's to load).
pub(super) fn prepare(rules: &Rules) -> Result<()> {
    if rules.networks.is_empty() && rules.ports.is_empty() {
        return Ok(());
    }
    let v6 = rules.networks.iter().any(|n| n.subnet.addr().is_ipv6());
    ensure_one(Path::new("/proc/sys/net/ipv4/ip_forward"))?;
    if v6 {
        ensure_one(Path::new("/proc/sys/net/ipv6/conf/all/forwarding"))?;
    }
    let mut bridges: Vec<&str> = rules.networks.iter().map(|n| n.bridge.as_str()).collect();
    bridges.sort_unstable();
    bridges.dedup();
    for bridge in bridges {
        ensure_one(
            &Path::new("/proc/sys/net/ipv4/conf")
                .join(bridge)
                .join("route_localnet"),
        )?;
    }
    if rules.networks.iter().any(|n| !n.icc) {
        let mut calls = vec!["bridge-nf-call-iptables"];
        if v6 {
            calls.push("bridge-nf-call-ip6tables");
        }
        for call in calls {
            let path = Path::new("/proc/sys/net/bridge").join(call);
            if path.exists() {
                ensure_one(&path)?;
            }
        }
    }
    Ok(())
}

fn ensure_one(path: &Path) -> Result<()> {
    let io = |verb: &str, source| NetError::Io {
        what: format!("{verb} {}", path.display()),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(v) if v.trim() == "1" => return Ok(()),
        Ok(_) => {}
        Err(e) => return Err(io("reading", e)),
    }
    std::fs::write(path, "1").map_err(|e| io("writing", e))
}
