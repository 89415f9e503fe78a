//! The firewall: the rendered script (pure), and `apply`/`clear` for real inside namespaces
//! the tests create (a "host" namespace with a bridge, two "containers" on it, an "outside"
//! namespace behind a second link), never in the host's own namespace.

mod support;

use std::net::IpAddr;

use muelle_net::firewall::{apply, clear, render, NetRule, PortRule, Proto, Rules};
use support::Netns;

fn net(bridge: &str, subnet: &str) -> NetRule {
    NetRule {
        bridge: bridge.to_string(),
        subnet: subnet.parse().unwrap_or_else(|e| panic!("{subnet}: {e}")),
        internal: false,
        masquerade: true,
        icc: true,
    }
}

fn port(host_ip: Option<&str>, host_port: u16, ctr_ip: &str, ctr_port: u16) -> PortRule {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{s}: {e}"));
    PortRule {
        proto: Proto::Tcp,
        host_ip: host_ip.map(ip),
        host_port,
        ctr_ip: ip(ctr_ip),
        ctr_port,
        bridge: "mbr0".to_string(),
    }
}

fn rules(networks: Vec<NetRule>, ports: Vec<PortRule>) -> Rules {
    Rules {
        table: "muelle".to_string(),
        networks,
        ports,
    }
}

// ---- render ---------------------------------------------------------------------------

#[test]
fn render_replaces_both_tables_atomically() {
    let text = render(&rules(vec![net("mbr0", "10.200.1.0/24")], vec![]));
    let head: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("table") || l.starts_with("delete"))
        .collect();
    assert_eq!(
        head,
        [
            "table ip muelle {}",
            "delete table ip muelle",
            "table ip muelle {",
            "table ip6 muelle {}",
            "delete table ip6 muelle"
        ]
    );
}

#[test]
fn render_is_deterministic_whatever_the_order() {
    let a = rules(
        vec![net("mbr0", "10.200.1.0/24"), net("mbr1", "10.200.2.0/24")],
        vec![
            port(None, 8080, "10.200.1.2", 80),
            port(Some("127.0.0.1"), 8081, "10.200.2.2", 80),
        ],
    );
    let mut b = a.clone();
    b.networks.reverse();
    b.ports.reverse();
    assert_eq!(render(&a), render(&a));
    assert_eq!(render(&a), render(&b));
}

#[test]
fn render_has_every_rule_kind() {
    let text = render(&rules(
        vec![net("mbr0", "10.200.1.0/24")],
        vec![
            port(None, 8080, "10.200.1.2", 80),
            port(Some("127.0.0.1"), 8081, "10.200.1.3", 81),
        ],
    ));
    for want in [
        "type nat hook prerouting priority dstnat; policy accept;",
        "type nat hook output priority -100; policy accept;",
        "fib daddr type local jump published",
        "tcp dport 8080 dnat to 10.200.1.2:80",
        "ip daddr 127.0.0.1 tcp dport 8081 dnat to 10.200.1.3:81",
        "oifname \"mbr0\" ip saddr 127.0.0.0/8 masquerade",
        "iifname \"mbr0\" oifname \"mbr0\" ct status dnat masquerade",
        "ip saddr 10.200.1.2 ip daddr 10.200.1.2 tcp dport 80 masquerade",
        "ip saddr 10.200.1.0/24 oifname != \"mbr0\" masquerade",
        "type filter hook forward priority filter; policy accept;",
        "ct state established,related accept",
        "oifname \"mbr0\" ct status dnat accept",
        "iifname \"mbr0\" oifname \"mbr0\" accept",
        "oifname \"mbr0\" drop",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // A specific host address comes before the wildcard, whatever the input order.
    let specific = text.find("ip daddr 127.0.0.1 tcp dport 8081");
    let wildcard = text.find("\t\ttcp dport 8080");
    assert!(specific < wildcard, "{text}");
    // No IPv6 in use: the ip6 table is only deleted.
    assert!(!text.contains("table ip6 muelle {\n"), "{text}");
}

#[test]
fn render_toggles_internal_icc_masquerade() {
    let mut internal = net("mint", "10.200.3.0/24");
    internal.internal = true;
    let mut quiet = net("mquiet", "10.200.4.0/24");
    quiet.icc = false;
    let mut routed = net("mrouted", "10.200.5.0/24");
    routed.masquerade = false;
    let text = render(&rules(vec![internal, quiet, routed], vec![]));
    assert!(
        text.contains("iifname \"mint\" oifname != \"mint\" drop"),
        "{text}"
    );
    assert!(
        text.contains("oifname \"mint\" iifname != \"mint\" drop"),
        "{text}"
    );
    assert!(
        !text.contains("ip saddr 10.200.3.0/24"),
        "internal is never masqueraded:\n{text}"
    );
    assert!(
        text.contains("iifname \"mquiet\" oifname \"mquiet\" drop"),
        "{text}"
    );
    assert!(
        text.contains("ip saddr 10.200.4.0/24 oifname != \"mquiet\" masquerade"),
        "{text}"
    );
    assert!(
        !text.contains("ip saddr 10.200.5.0/24"),
        "masquerade off:\n{text}"
    );
    assert!(
        text.contains("iifname { \"mint\", \"mquiet\", \"mrouted\" } oifname { \"mint\", \"mquiet\", \"mrouted\" } drop"),
        "networks are isolated from each other:\n{text}"
    );
}

#[test]
fn render_ipv6() {
    let text = render(&rules(
        vec![net("mbr0", "10.200.1.0/24"), net("mbr0", "fd00:1::/64")],
        vec![
            port(None, 8080, "fd00:1::2", 80),
            port(Some("::1"), 8081, "fd00:1::3", 80),
            port(Some("127.0.0.1"), 8082, "fd00:1::3", 80),
        ],
    ));
    let v6 = &text[text
        .find("table ip6 muelle {\n")
        .unwrap_or_else(|| panic!("no ip6 table:\n{text}"))..];
    assert!(v6.contains("tcp dport 8080 dnat to [fd00:1::2]:80"), "{v6}");
    assert!(
        v6.contains("ip6 daddr ::1 tcp dport 8081 dnat to [fd00:1::3]:80"),
        "{v6}"
    );
    assert!(
        v6.contains("ip6 saddr fd00:1::/64 oifname != \"mbr0\" masquerade"),
        "{v6}"
    );
    assert!(!v6.contains("127.0.0.0/8"), "{v6}");
    assert!(
        !text.contains("8082"),
        "mixed families are not rendered:\n{text}"
    );
    let v4 = &text[..text.find("table ip6 muelle {}").unwrap_or(0)];
    assert!(!v4.contains("fd00"), "{v4}");
}

// ---- apply, for real, in namespaces -----------------------------------------------------

/// A "host" namespace with bridge mbr0 (10.200.1.1/24), containers c1 (.2) and c2 (.3) on it,
/// and an "outside" namespace at 10.201.0.2 behind the host's 10.201.0.1, which routes
/// 10.200.1.0/24 back through the host (so an unmasqueraded source is visible as such).
struct Topo {
    host: Netns,
    c1: Netns,
    c2: Netns,
    out: Netns,
}

fn topo(tag: &str) -> Topo {
    let t = Topo {
        host: Netns::new(&format!("{tag}-h")),
        c1: Netns::new(&format!("{tag}-c1")),
        c2: Netns::new(&format!("{tag}-c2")),
        out: Netns::new(&format!("{tag}-o")),
    };
    t.host.ip(&["link", "add", "mbr0", "type", "bridge"]);
    t.host.ip(&["addr", "add", "10.200.1.1/24", "dev", "mbr0"]);
    t.host.ip(&["link", "set", "mbr0", "up"]);
    for (ns, veth, addr) in [
        (&t.c1, "vc1", "10.200.1.2/24"),
        (&t.c2, "vc2", "10.200.1.3/24"),
    ] {
        t.host.ip(&[
            "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", &ns.name,
        ]);
        t.host.ip(&["link", "set", veth, "master", "mbr0", "up"]);
        // As Docker without its userland proxy (and `link::attach`): a container reaching
        // itself through a published port gets the frame back out of its own bridge port.
        t.host
            .ip(&["link", "set", veth, "type", "bridge_slave", "hairpin", "on"]);
        ns.ip(&["addr", "add", addr, "dev", "eth0"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        ns.ip(&["route", "add", "default", "via", "10.200.1.1"]);
    }
    t.host.ip(&[
        "link",
        "add",
        "vout",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &t.out.name,
    ]);
    t.host.ip(&["addr", "add", "10.201.0.1/24", "dev", "vout"]);
    t.host.ip(&["link", "set", "vout", "up"]);
    t.out.ip(&["addr", "add", "10.201.0.2/24", "dev", "eth0"]);
    t.out.ip(&["link", "set", "eth0", "up"]);
    t.out
        .ip(&["route", "add", "10.200.1.0/24", "via", "10.201.0.1"]);
    t.c1.serve("10.200.1.2:80");
    t.c2.serve("10.200.1.3:80");
    t.out.serve("10.201.0.2:9000");
    t
}

fn apply_in(ns: &Netns, rules: &Rules) {
    let r = rules.clone();
    ns.run(move || apply(&r))
        .unwrap_or_else(|e| panic!("apply: {e}"));
}

#[test]
fn apply_is_idempotent_and_clear_leaves_nothing() {
    let ns = Netns::new("idem");
    ns.ip(&["link", "add", "mbr0", "type", "bridge"]);
    let r = rules(
        vec![net("mbr0", "10.200.1.0/24"), net("mbr0", "fd00:1::/64")],
        vec![port(None, 8080, "10.200.1.2", 80)],
    );
    apply_in(&ns, &r);
    let first = ns.sh("nft list ruleset");
    assert!(first.contains("table ip muelle"), "{first}");
    assert!(first.contains("table ip6 muelle"), "{first}");
    assert!(
        first.contains("tcp dport 8080 dnat to 10.200.1.2:80"),
        "{first}"
    );
    assert_eq!(ns.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    assert_eq!(
        ns.sh("cat /proc/sys/net/ipv4/conf/mbr0/route_localnet")
            .trim(),
        "1"
    );
    assert_eq!(
        ns.sh("cat /proc/sys/net/ipv6/conf/all/forwarding").trim(),
        "1"
    );
    apply_in(&ns, &r);
    assert_eq!(ns.sh("nft list ruleset"), first);
    // Dropping the IPv6 network drops the ip6 table.
    apply_in(&ns, &rules(vec![net("mbr0", "10.200.1.0/24")], vec![]));
    let v4 = ns.sh("nft list ruleset");
    assert!(
        v4.contains("table ip muelle") && !v4.contains("table ip6 muelle"),
        "{v4}"
    );
    ns.run(|| clear("muelle"))
        .unwrap_or_else(|e| panic!("clear: {e}"));
    assert_eq!(ns.sh("nft list ruleset").trim(), "");
    ns.run(|| clear("muelle"))
        .unwrap_or_else(|e| panic!("clear when absent: {e}"));
}

#[test]
fn apply_rejects_bad_names_and_reports_nft_errors() {
    let ns = Netns::new("bad");
    let bad = Rules {
        table: "mu elle".to_string(),
        networks: vec![],
        ports: vec![],
    };
    let err = ns
        .run(move || apply(&bad))
        .map(|_| ())
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("invalid firewall table name")),
        "{err:?}"
    );
    // A bridge that does not exist: nothing to set route_localnet on.
    let missing = rules(vec![net("nosuchbr", "10.200.1.0/24")], vec![]);
    let err = ns.run(move || apply(&missing)).err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("nosuchbr")),
        "{err:?}"
    );
}

#[test]
fn published_port_from_loopback_from_outside_and_hairpin() {
    let t = topo("pub");
    apply_in(
        &t.host,
        &rules(
            vec![net("mbr0", "10.200.1.0/24")],
            vec![port(None, 18080, "10.200.1.2", 80)],
        ),
    );
    // The host's own loopback: DNATed in output, masqueraded to the bridge's address.
    assert_eq!(
        t.host.fetch("127.0.0.1:18080").as_deref(),
        Some("10.200.1.1")
    );
    // From outside to a host address: DNATed in prerouting, the source kept.
    assert_eq!(
        t.out.fetch("10.201.0.1:18080").as_deref(),
        Some("10.201.0.2")
    );
    // Another container through the host address (hairpin). With br_netfilter (loaded here)
    // the bridged answer is un-DNATed and the client keeps its address, as with Docker;
    // without it the routed hairpin is masqueraded to the bridge's address.
    let seen = t.c2.fetch("10.200.1.1:18080");
    assert!(
        matches!(seen.as_deref(), Some("10.200.1.3" | "10.200.1.1")),
        "{seen:?}"
    );
    // The container itself through its published port: masqueraded, else the answer would
    // stay inside its own namespace.
    assert_eq!(
        t.c1.fetch("10.200.1.1:18080").as_deref(),
        Some("10.200.1.1")
    );
    // Outside straight to a container address (not published): dropped.
    assert_eq!(t.out.fetch("10.200.1.3:80"), None);
    // Bound to one host address: the other one does not answer.
    apply_in(
        &t.host,
        &rules(
            vec![net("mbr0", "10.200.1.0/24")],
            vec![port(Some("127.0.0.1"), 18080, "10.200.1.2", 80)],
        ),
    );
    assert_eq!(
        t.host.fetch("127.0.0.1:18080").as_deref(),
        Some("10.200.1.1")
    );
    assert_eq!(t.out.fetch("10.201.0.1:18080"), None);
}

#[test]
fn masquerade_internal_and_icc_toggles() {
    let t = topo("tog");
    let mut n = net("mbr0", "10.200.1.0/24");
    apply_in(&t.host, &rules(vec![n.clone()], vec![]));
    assert_eq!(
        t.c1.fetch("10.201.0.2:9000").as_deref(),
        Some("10.201.0.1"),
        "masqueraded"
    );
    assert_eq!(
        t.c1.fetch("10.200.1.3:80").as_deref(),
        Some("10.200.1.2"),
        "icc"
    );
    n.masquerade = false;
    apply_in(&t.host, &rules(vec![n.clone()], vec![]));
    assert_eq!(
        t.c1.fetch("10.201.0.2:9000").as_deref(),
        Some("10.200.1.2"),
        "routed, not masqueraded"
    );
    n.masquerade = true;
    n.internal = true;
    apply_in(&t.host, &rules(vec![n.clone()], vec![]));
    assert_eq!(t.c1.fetch("10.201.0.2:9000"), None, "internal: no way out");
    assert_eq!(
        t.c1.fetch("10.200.1.3:80").as_deref(),
        Some("10.200.1.2"),
        "internal: same network fine"
    );
    n.internal = false;
    n.icc = false;
    apply_in(
        &t.host,
        &rules(vec![n.clone()], vec![port(None, 18080, "10.200.1.3", 80)]),
    );
    assert_eq!(t.c1.fetch("10.200.1.3:80"), None, "icc off");
    let seen = t.c1.fetch("10.200.1.1:18080");
    assert!(
        matches!(seen.as_deref(), Some("10.200.1.2" | "10.200.1.1")),
        "icc off: published still works: {seen:?}"
    );
    assert_eq!(
        t.c1.fetch("10.201.0.2:9000").as_deref(),
        Some("10.201.0.1"),
        "icc off: way out"
    );
}

#[test]
fn coexists_with_a_docker_user_chain_and_forward_drop() {
    let t = topo("dock");
    // dockerd's iptables-nft shape: FORWARD policy drop, first jumping to DOCKER-USER.
    t.host.sh(
        "iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN && iptables -P FORWARD DROP \
         && iptables -I FORWARD -j DOCKER-USER",
    );
    assert_eq!(
        t.c1.fetch("10.201.0.2:9000"),
        None,
        "the drop policy applies before apply"
    );
    let r = rules(
        vec![net("mbr0", "10.200.1.0/24")],
        vec![port(None, 18080, "10.200.1.2", 80)],
    );
    apply_in(&t.host, &r);
    assert_eq!(t.c1.fetch("10.201.0.2:9000").as_deref(), Some("10.201.0.1"));
    assert_eq!(
        t.out.fetch("10.201.0.1:18080").as_deref(),
        Some("10.201.0.2")
    );
    let listed = t.host.sh("iptables -S DOCKER-USER");
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "-N DOCKER-USER",
            "-A DOCKER-USER -i mbr0 -m comment --comment muelle -j ACCEPT",
            "-A DOCKER-USER -o mbr0 -m comment --comment muelle -j ACCEPT",
            "-A DOCKER-USER -j RETURN",
        ]
    );
    // Our own filtering still holds: outside straight to a container is dropped.
    assert_eq!(t.out.fetch("10.200.1.3:80"), None);
    let handles = t.host.sh("nft -a list chain ip filter DOCKER-USER");
    apply_in(&t.host, &r);
    assert_eq!(
        t.host.sh("nft -a list chain ip filter DOCKER-USER"),
        handles,
        "re-apply does not churn"
    );
    t.host
        .run(|| clear("muelle"))
        .unwrap_or_else(|e| panic!("clear: {e}"));
    assert_eq!(
        t.host.sh("iptables -S DOCKER-USER"),
        "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n"
    );
    assert!(!t.host.sh("nft list ruleset").contains("muelle"));
}

#[test]
fn coexists_with_a_plain_forward_drop_policy() {
    let t = topo("fwd");
    t.host.sh("iptables -P FORWARD DROP");
    apply_in(&t.host, &rules(vec![net("mbr0", "10.200.1.0/24")], vec![]));
    assert_eq!(t.c1.fetch("10.201.0.2:9000").as_deref(), Some("10.201.0.1"));
    assert!(t
        .host
        .sh("iptables -S FORWARD")
        .contains("-A FORWARD -i mbr0 -m comment --comment muelle -j ACCEPT"));
    t.host
        .run(|| clear("muelle"))
        .unwrap_or_else(|e| panic!("clear: {e}"));
    assert_eq!(t.host.sh("iptables -S FORWARD"), "-P FORWARD DROP\n");
}

#[test]
fn published_port_without_br_netfilter() {
    let t = topo("nobrnf");
    let knob = "/proc/sys/net/bridge/bridge-nf-call-iptables";
    t.host
        .sh(&format!("if [ -e {knob} ]; then echo 0 > {knob}; fi"));
    apply_in(
        &t.host,
        &rules(
            vec![net("mbr0", "10.200.1.0/24")],
            vec![port(None, 18080, "10.200.1.2", 80)],
        ),
    );
    // Routed hairpin: masqueraded to the bridge's address so the answer comes back un-DNATed.
    assert_eq!(
        t.c2.fetch("10.200.1.1:18080").as_deref(),
        Some("10.200.1.1")
    );
    assert_eq!(
        t.c1.fetch("10.200.1.1:18080").as_deref(),
        Some("10.200.1.1")
    );
    assert_eq!(
        t.host.fetch("127.0.0.1:18080").as_deref(),
        Some("10.200.1.1")
    );
}

#[test]
fn ipv6_published_port_and_masquerade() {
    let t = topo("six");
    // `nodad`: usable at once instead of after duplicate address detection.
    t.host
        .ip(&["addr", "add", "fd00:1::1/64", "dev", "mbr0", "nodad"]);
    t.host
        .ip(&["addr", "add", "fd00:2::1/64", "dev", "vout", "nodad"]);
    t.c1.ip(&["addr", "add", "fd00:1::2/64", "dev", "eth0", "nodad"]);
    t.c1.ip(&["-6", "route", "add", "default", "via", "fd00:1::1"]);
    t.out
        .ip(&["addr", "add", "fd00:2::2/64", "dev", "eth0", "nodad"]);
    t.out
        .ip(&["-6", "route", "add", "fd00:1::/64", "via", "fd00:2::1"]);
    t.c1.serve("[fd00:1::2]:80");
    t.out.serve("[fd00:2::2]:9000");
    let r = rules(
        vec![net("mbr0", "10.200.1.0/24"), net("mbr0", "fd00:1::/64")],
        vec![port(None, 18080, "fd00:1::2", 80)],
    );
    apply_in(&t.host, &r);
    // Fresh links: the first exchanges wait for neighbour discovery (and the link-local
    // addresses' duplicate detection), so the first connection may need a few tries.
    let first = (0..5).find_map(|_| t.out.fetch("[fd00:2::1]:18080"));
    assert_eq!(first.as_deref(), Some("fd00:2::2"));
    assert_eq!(
        t.c1.fetch("[fd00:2::2]:9000").as_deref(),
        Some("fd00:2::1"),
        "masqueraded"
    );
    assert_eq!(
        t.out.fetch("[fd00:1::2]:80"),
        None,
        "not published: dropped"
    );
}

#[test]
fn networks_are_isolated_but_published_ports_cross() {
    let t = topo("iso");
    // A second network: bridge mbr1 (10.200.2.1/24) with container c3 (.2).
    let c3 = Netns::new("iso-c3");
    t.host.ip(&["link", "add", "mbr1", "type", "bridge"]);
    t.host.ip(&["addr", "add", "10.200.2.1/24", "dev", "mbr1"]);
    t.host.ip(&["link", "set", "mbr1", "up"]);
    t.host.ip(&[
        "link", "add", "vc3", "type", "veth", "peer", "name", "eth0", "netns", &c3.name,
    ]);
    t.host.ip(&["link", "set", "vc3", "master", "mbr1", "up"]);
    c3.ip(&["addr", "add", "10.200.2.2/24", "dev", "eth0"]);
    c3.ip(&["link", "set", "eth0", "up"]);
    c3.ip(&["route", "add", "default", "via", "10.200.2.1"]);
    let r = rules(
        vec![net("mbr0", "10.200.1.0/24"), net("mbr1", "10.200.2.0/24")],
        vec![port(None, 18080, "10.200.1.2", 80)],
    );
    apply_in(&t.host, &r);
    assert_eq!(c3.fetch("10.200.1.3:80"), None, "another network: dropped");
    assert_eq!(
        t.c1.fetch("10.200.1.3:80").as_deref(),
        Some("10.200.1.2"),
        "same network: fine"
    );
    // Through the host's published port it works (the DNAT accept), masqueraded like any
    // traffic leaving c3's network by another interface.
    assert_eq!(c3.fetch("10.200.2.1:18080").as_deref(), Some("10.200.1.1"));
    assert_eq!(
        c3.fetch("10.201.0.2:9000").as_deref(),
        Some("10.201.0.1"),
        "way out"
    );
}
