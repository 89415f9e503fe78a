//! What a started container's files and environment say of its network: its own addresses
//! (its line in /etc/hosts), its legacy links on the default bridge (their /etc/hosts lines
//! and Docker's `ALIAS_PORT_80_TCP=...` variables), and whether it uses the embedded
//! resolver.

use std::net::IpAddr;

use crate::containers::ContainerRecord;
use crate::Engine;

/// The network facts of a container about to start.
#[derive(Debug, Default)]
pub(crate) struct NetFacts {
    pub addresses: Vec<IpAddr>,
    pub link_hosts: Vec<(IpAddr, String)>,
    pub link_env: Vec<String>,
    pub embedded_dns: bool,
}

fn env_name(s: &str) -> String {
    s.to_ascii_uppercase().replace(['-', '.'], "_")
}

impl Engine {
    /// The facts for `rec`, whose endpoints are live.
    pub(crate) fn net_facts(&self, rec: &ContainerRecord) -> NetFacts {
        let mut f = NetFacts {
            embedded_dns: self.uses_embedded_dns(rec),
            ..NetFacts::default()
        };
        for name in super::endpoints::ordered(rec) {
            if let Some(a) = rec.networks.get(&name).and_then(|e| e.active.as_ref()) {
                f.addresses.extend(a.ipv4.map(|n| n.addr()));
                f.addresses.extend(a.ipv6.map(|n| n.addr()));
            }
        }
        let on_default_bridge = rec.networks.values().any(|e| {
            self.network(&e.network_id)
                .is_ok_and(|n| n.is_default_bridge())
        });
        if !on_default_bridge {
            return f;
        }
        for (target, alias) in crate::containers::links(&rec.host_config) {
            let Ok(t) = self.container(&target) else {
                continue;
            };
            let Some(ip) = t
                .networks
                .values()
                .filter(|e| {
                    self.network(&e.network_id)
                        .is_ok_and(|n| n.is_default_bridge())
                })
                .find_map(|e| e.active.as_ref().and_then(|a| a.ipv4.map(|n| n.addr())))
            else {
                continue;
            };
            let short = t.id.get(..12).unwrap_or(&t.id);
            f.link_hosts
                .push((ip, format!("{alias} {short} {}", t.name)));
            let prefix = env_name(&alias);
            f.link_env.push(format!(
                "{prefix}_NAME=/{}/{alias}",
                rec.name.trim_start_matches('/')
            ));
            let mut ports: Vec<(u16, String)> = t
                .config
                .exposed_ports
                .iter()
                .flat_map(|m| m.keys())
                .filter_map(|k| crate::networks::ports::parse_port_key(k).ok())
                .map(|(p, proto)| (p, proto.to_string()))
                .collect();
            ports.sort();
            if let Some((p, proto)) = ports.first() {
                f.link_env.push(format!("{prefix}_PORT={proto}://{ip}:{p}"));
            }
            for (p, proto) in &ports {
                let k = format!("{prefix}_PORT_{p}_{}", proto.to_ascii_uppercase());
                f.link_env.push(format!("{k}={proto}://{ip}:{p}"));
                f.link_env.push(format!("{k}_ADDR={ip}"));
                f.link_env.push(format!("{k}_PORT={p}"));
                f.link_env.push(format!("{k}_PROTO={proto}"));
            }
            for kv in &t.config.env {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                if matches!(k, "HOME" | "PATH" | "HOSTNAME") {
                    continue;
                }
                f.link_env.push(format!("{prefix}_ENV_{k}={v}"));
            }
        }
        f
    }
}
