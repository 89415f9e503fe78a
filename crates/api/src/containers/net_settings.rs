//! What inspect and `ps` show of a container's networks: `NetworkSettings` (each endpoint,
//! the legacy top-level fields of the default bridge's, the published ports) and the
//! summary's `Ports`, all derived from the container's endpoint records.

use std::collections::BTreeMap;

use muelle_engine::containers::ContainerRecord;
use muelle_engine::networks::{ports, EndpointRecord};
use muelle_engine::Engine;
use muelle_types::container::{EndpointSettings, NetworkSettings, SummaryPort};
use serde_json::Value;

fn prefix_len(n: Option<ipnet::IpNet>) -> i64 {
    n.map_or(0, |n| i64::from(n.prefix_len()))
}

fn addr(n: Option<ipnet::IpNet>) -> String {
    n.map(|n| n.addr().to_string()).unwrap_or_default()
}

/// One endpoint as Docker shows it: what was asked for, and the live side while running.
fn endpoint(engine: &Engine, rec: &ContainerRecord, ep: &EndpointRecord) -> EndpointSettings {
    let mut out = EndpointSettings {
        ipam_config: ep.config.ipam_config.clone(),
        links: ep.config.links.clone(),
        aliases: ep.config.aliases.clone(),
        network_id: ep.network_id.clone(),
        driver_opts: ep.config.driver_opts.clone(),
        mac_address: ep.config.mac_address.clone(),
        ..EndpointSettings::default()
    };
    if let Some(a) = &ep.active {
        // dockerd 20.10 lists the short id among a running container's aliases on a
        // user-defined network (later versions moved it to DNSNames).
        let user_defined = engine
            .network(&ep.network_id)
            .is_ok_and(|n| n.is_bridge() && !n.is_default_bridge());
        if user_defined {
            let short = rec.id.get(..12).unwrap_or(&rec.id).to_string();
            let mut aliases = out.aliases.take().unwrap_or_default();
            if !aliases.contains(&short) {
                aliases.push(short);
            }
            out.aliases = Some(aliases);
        }
        out.endpoint_id = a.endpoint_id.clone();
        out.gateway = a.gateway4.map(|g| g.to_string()).unwrap_or_default();
        out.ip_address = addr(a.ipv4);
        out.ip_prefix_len = prefix_len(a.ipv4);
        out.ipv6_gateway = a.gateway6.map(|g| g.to_string()).unwrap_or_default();
        out.global_ipv6_address = addr(a.ipv6);
        out.global_ipv6_prefix_len = prefix_len(a.ipv6);
        out.mac_address = a.mac.clone();
    }
    out
}

/// `NetworkSettings.Networks`.
pub(crate) fn networks(
    engine: &Engine,
    rec: &ContainerRecord,
) -> BTreeMap<String, EndpointSettings> {
    rec.networks
        .iter()
        .map(|(name, ep)| (name.clone(), endpoint(engine, rec, ep)))
        .collect()
}

/// Whether the daemon's network namespace has IPv6 (a port published on every address is
/// held on `::` too). Asked once: `ps` would otherwise stat for every container it lists.
fn host_has_v6() -> bool {
    static V6: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V6.get_or_init(|| std::path::Path::new("/proc/net/if_inet6").exists())
}

/// The whole `NetworkSettings` of inspect.
pub(crate) fn settings(engine: &Engine, rec: &ContainerRecord) -> NetworkSettings {
    let running = rec.is_running();
    let mut s = NetworkSettings {
        networks: networks(engine, rec),
        ports: ports::settings_ports(
            &rec.config,
            &rec.host_config,
            &rec.published,
            running,
            host_has_v6(),
        ),
        ..NetworkSettings::default()
    };
    if muelle_engine::networks::has_live_endpoints(rec) {
        s.sandbox_key = engine.netns_path(&rec.id).display().to_string();
        s.sandbox_id = rec.id.clone();
    }
    let default_bridge = rec.networks.values().find(|e| {
        engine
            .network(&e.network_id)
            .is_ok_and(|n| n.is_default_bridge())
    });
    if let Some(ep) = default_bridge {
        let e = endpoint(engine, rec, ep);
        s.endpoint_id = e.endpoint_id;
        s.gateway = e.gateway;
        s.ip_address = e.ip_address;
        s.ip_prefix_len = e.ip_prefix_len;
        s.ipv6_gateway = e.ipv6_gateway;
        s.global_ipv6_address = e.global_ipv6_address;
        s.global_ipv6_prefix_len = e.global_ipv6_prefix_len;
        s.mac_address = e.mac_address;
    }
    s
}

/// `ps`'s `Ports`: each binding made, then each port only exposed, in Docker's order.
pub(crate) fn summary_ports(rec: &ContainerRecord) -> Vec<SummaryPort> {
    let map = ports::settings_ports(
        &rec.config,
        &rec.host_config,
        &rec.published,
        rec.is_running(),
        host_has_v6(),
    );
    let mut out = Vec::new();
    for (key, bindings) in &map {
        let Ok((port, proto)) = ports::parse_port_key(key) else {
            continue;
        };
        match bindings {
            Value::Array(list) if !list.is_empty() => {
                for b in list {
                    out.push(SummaryPort {
                        ip: b.get("HostIp").and_then(Value::as_str).map(str::to_string),
                        private_port: port,
                        public_port: b
                            .get("HostPort")
                            .and_then(Value::as_str)
                            .and_then(|p| p.parse().ok()),
                        typ: proto.to_string(),
                    });
                }
            }
            _ => out.push(SummaryPort {
                ip: None,
                private_port: port,
                public_port: None,
                typ: proto.to_string(),
            }),
        }
    }
    out
}
