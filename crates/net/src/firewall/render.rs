//! The nft script of a [`Rules`] value: text only, no I/O, the same text for the same rules
//! whatever their order (networks and ports are sorted), so a re-apply changes nothing.
//!
//! Names (table, bridges) are written inside nft quotes unchecked: `apply` validates them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{PortRule, Rules};

/// An address family, i.e. one of our two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// The nft family of the table, which is also the keyword of its address matches.
    fn keyword(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// The bridge-wide flags, merged over a bridge's network rules (the strictest wins).
#[derive(Clone, Copy, Debug)]
struct Bridge {
    internal: bool,
    icc: bool,
}

/// The whole nft script for `rules`: for each family, the empty-table + delete pair that makes
/// the replacement work whether or not the table exists, then the full table when the family
/// is in use. `nft -f` runs it as one transaction.
pub fn render(rules: &Rules) -> String {
    let bridges = bridges(rules);
    let mut out = String::from("# muelle: generated, replaced whole on every change\n");
    for family in [Family::V4, Family::V6] {
        let kw = family.keyword();
        let table = &rules.table;
        out.push_str(&format!(
            "table {kw} {table} {{}}\ndelete table {kw} {table}\n"
        ));
        if in_use(rules, family) {
            out.push_str(&format!("table {kw} {table} {{\n"));
            write_chains(&mut out, rules, family, &bridges);
            out.push_str("}\n");
        }
    }
    out
}

/// A family's table is only created when something needs it: IPv4 as soon as there is any
/// network or port, IPv6 only with an IPv6 subnet or container address (so a host without
/// IPv6 never sees an ip6 nat chain).
fn in_use(rules: &Rules, family: Family) -> bool {
    match family {
        Family::V4 => !rules.networks.is_empty() || !rules.ports.is_empty(),
        Family::V6 => {
            rules
                .networks
                .iter()
                .any(|n| Family::of(&n.subnet.addr()) == Family::V6)
                || rules
                    .ports
                    .iter()
                    .any(|p| Family::of(&p.ctr_ip) == Family::V6)
        }
    }
}

fn bridges(rules: &Rules) -> BTreeMap<&str, Bridge> {
    let mut out: BTreeMap<&str, Bridge> = BTreeMap::new();
    for n in &rules.networks {
        let b = out.entry(n.bridge.as_str()).or_insert(Bridge {
            internal: false,
            icc: true,
        });
        b.internal |= n.internal;
        b.icc &= n.icc;
    }
    out
}

fn write_chains(out: &mut String, rules: &Rules, family: Family, bridges: &BTreeMap<&str, Bridge>) {
    // Docker's `addrtype --dst-type LOCAL`: any address of the host, loopback included.
    let local = ["fib daddr type local jump published".to_string()];
    // nft 1.0 accepts the `dstnat` name for prerouting only; -100 is its value.
    chain(
        out,
        "prerouting",
        Some("type nat hook prerouting priority dstnat"),
        &local,
    );
    chain(
        out,
        "output",
        Some("type nat hook output priority -100"),
        &local,
    );
    chain(out, "published", None, &published(rules, family));
    let post = postrouting(rules, family, bridges);
    chain(
        out,
        "postrouting",
        Some("type nat hook postrouting priority srcnat"),
        &post,
    );
    chain(
        out,
        "forward",
        Some("type filter hook forward priority filter"),
        &forward(bridges),
    );
}

fn chain(out: &mut String, name: &str, base: Option<&str>, rules: &[String]) {
    out.push_str(&format!("\tchain {name} {{\n"));
    if let Some(base) = base {
        out.push_str(&format!("\t\t{base}; policy accept;\n"));
    }
    for rule in rules {
        out.push_str(&format!("\t\t{rule}\n"));
    }
    out.push_str("\t}\n");
}

/// The DNAT rules of one family, jumped to for packets addressed to a local address. Rules
/// bound to one host address come before wildcard ones, so a specific binding is never
/// shadowed.
fn published(rules: &Rules, family: Family) -> Vec<String> {
    published_ports(rules, family)
        .into_iter()
        .map(|p| {
            let daddr = p
                .host_ip
                .map(|ip| format!("{} daddr {ip} ", family.keyword()))
                .unwrap_or_default();
            let to = match p.ctr_ip {
                IpAddr::V4(ip) => format!("{ip}:{}", p.ctr_port),
                IpAddr::V6(ip) => format!("[{ip}]:{}", p.ctr_port),
            };
            format!("{daddr}{} dport {} dnat to {to}", p.proto, p.host_port)
        })
        .collect()
}

/// The port rules of one family, in rendering order, without duplicates.
fn published_ports(rules: &Rules, family: Family) -> Vec<&PortRule> {
    let mut ports: Vec<&PortRule> = rules
        .ports
        .iter()
        .filter(|p| Family::of(&p.ctr_ip) == family)
        .filter(|p| p.host_ip.is_none_or(|ip| Family::of(&ip) == family))
        .collect();
    ports.sort_by_key(|p| {
        (
            p.host_ip.is_none(),
            p.host_ip,
            p.proto,
            p.host_port,
            p.ctr_ip,
            p.ctr_port,
        )
    });
    ports.dedup_by_key(|p| (p.host_ip, p.proto, p.host_port));
    ports
}

fn postrouting(rules: &Rules, family: Family, bridges: &BTreeMap<&str, Bridge>) -> Vec<String> {
    let mut out = Vec::new();
    if family == Family::V4 {
        // The host's own connection to 127.0.0.1:<published>, DNATed in `output`: its source
        // must not reach the container (which could not answer 127.0.0.1).
        for name in bridges.keys() {
            out.push(format!(
                "oifname \"{name}\" ip saddr 127.0.0.0/8 masquerade"
            ));
        }
    }
    // Hairpin: a container reaching a published port of its own bridge through a host
    // address would get the answer straight from the peer, bypassing the un-DNAT. With
    // br_netfilter the bridged reply is un-DNATed anyway (and iifname is empty here), so this
    // only matches routed hairpin traffic, without br_netfilter.
    for name in bridges.keys() {
        out.push(format!(
            "iifname \"{name}\" oifname \"{name}\" ct status dnat masquerade"
        ));
    }
    // A container reaching its own published port: without a new source, its answer would
    // stay inside its own namespace (Docker's per-port rule, br_netfilter or not).
    let mut targets: Vec<_> = published_ports(rules, family)
        .iter()
        .map(|p| (p.ctr_ip, p.proto, p.ctr_port))
        .collect();
    targets.sort();
    targets.dedup();
    let kw = family.keyword();
    for (ip, proto, port) in targets {
        out.push(format!(
            "{kw} saddr {ip} {kw} daddr {ip} {proto} dport {port} masquerade"
        ));
    }
    let mut outbound: Vec<(&str, ipnet::IpNet)> = rules
        .networks
        .iter()
        .filter(|n| Family::of(&n.subnet.addr()) == family)
        .filter(|n| n.masquerade && !bridges.get(n.bridge.as_str()).is_some_and(|b| b.internal))
        .map(|n| (n.bridge.as_str(), n.subnet.trunc()))
        .collect();
    outbound.sort();
    outbound.dedup();
    for (name, subnet) in outbound {
        out.push(format!(
            "{} saddr {subnet} oifname != \"{name}\" masquerade",
            family.keyword()
        ));
    }
    out
}

/// The filter rules, the same in both families (they match interfaces, not addresses).
fn forward(bridges: &BTreeMap<&str, Bridge>) -> Vec<String> {
    let mut out = vec!["ct state established,related accept".to_string()];
    if bridges.is_empty() {
        return out;
    }
    for (name, b) in bridges {
        if b.internal {
            out.push(format!("iifname \"{name}\" oifname != \"{name}\" drop"));
            out.push(format!("oifname \"{name}\" iifname != \"{name}\" drop"));
        }
    }
    let all = names(bridges.keys().copied());
    out.push(format!("oifname {all} ct status dnat accept"));
    for (name, b) in bridges {
        let verdict = if b.icc { "accept" } else { "drop" };
        out.push(format!("iifname \"{name}\" oifname \"{name}\" {verdict}"));
    }
    if bridges.len() > 1 {
        out.push(format!("iifname {all} oifname {all} drop"));
    }
    out.push(format!("oifname {all} drop"));
    out
}

/// One quoted interface name, or an anonymous set of several.
fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.map(|n| format!("\"{n}\"")).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", quoted.join(", ")),
    }
}
