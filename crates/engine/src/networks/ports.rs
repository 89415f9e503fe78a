//! Published ports as a container asks for them (`HostConfig.PortBindings`, and `-P` over
//! `Config.ExposedPorts`) and as they were given at start (the host port chosen, kept in the
//! container's record so a daemon restart reserves the same ports again), and the
//! `NetworkSettings.Ports` map inspect shows.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use muelle_net::firewall::Proto;
use muelle_types::container::{ContainerConfig, HostConfig};

/// One binding asked for: `ctr_port/proto` to a host address and port (or range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub proto: Proto,
    pub ctr_port: u16,
    /// None: every host address.
    pub host_ip: Option<IpAddr>,
    /// `(lo, hi)`; `(0, 0)` asks for an ephemeral port, `lo == hi` for exactly that one.
    pub host_ports: (u16, u16),
}

/// One binding made at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub proto: Proto,
    pub ctr_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
}

/// `80/tcp` → (80, tcp); a missing protocol is tcp.
pub fn parse_port_key(key: &str) -> Result<(u16, Proto), String> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto: Proto = proto
        .parse()
        .map_err(|_| format!("invalid proto: {proto}"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("invalid containerPort: {port}"))?;
    Ok((port, proto))
}

fn parse_host_ports(s: &str) -> Result<(u16, u16), String> {
    if s.is_empty() {
        return Ok((0, 0));
    }
    let bad = || format!("invalid port specification: \"{s}\"");
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let lo: u16 = lo.parse().map_err(|_| bad())?;
    let hi: u16 = hi.parse().map_err(|_| bad())?;
    if hi < lo {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// What the container asks to publish, in Docker's order (by port key, bindings in order).
pub fn wanted(config: &ContainerConfig, host: &HostConfig) -> Result<Vec<Wanted>, String> {
    let mut out = Vec::new();
    let mut bound = std::collections::BTreeSet::new();
    for (key, list) in &host.port_bindings {
        let (ctr_port, proto) = parse_port_key(key)?;
        bound.insert((ctr_port, proto));
        let list = match list {
            Value::Array(a) => a.clone(),
            Value::Null => Vec::new(),
            other => return Err(format!("invalid port binding for {key}: {other}")),
        };
        if list.is_empty() {
            out.push(Wanted {
                proto,
                ctr_port,
                host_ip: None,
                host_ports: (0, 0),
            });
        }
        for b in list {
            let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or("");
            let host_ip = if ip.is_empty() {
                None
            } else {
                let ip = ip.trim_start_matches('[').trim_end_matches(']');
                Some(
                    ip.parse::<IpAddr>()
                        .map_err(|_| format!("invalid IP address: {ip}"))?,
                )
            };
            let hp = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
            out.push(Wanted {
                proto,
                ctr_port,
                host_ip,
                host_ports: parse_host_ports(hp)?,
            });
        }
    }
    let publish_all = host
        .extra
        .get("PublishAllPorts")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if publish_all {
        for key in config.exposed_ports.iter().flat_map(|m| m.keys()) {
            let (ctr_port, proto) = parse_port_key(key)?;
            if bound.insert((ctr_port, proto)) {
                out.push(Wanted {
                    proto,
                    ctr_port,
                    host_ip: None,
                    host_ports: (0, 0),
                });
            }
        }
    }
    Ok(out)
}

/// `NetworkSettings.Ports`: every exposed or bound port, with the host side of each
/// binding made (`null` for a port exposed but not published). Empty while not running.
pub fn settings_ports(
    config: &ContainerConfig,
    host: &HostConfig,
    published: &[Published],
    running: bool,
    host_has_v6: bool,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if !running {
        return out;
    }
    let keys = config
        .exposed_ports
        .iter()
        .flat_map(|m| m.keys())
        .chain(host.port_bindings.keys());
    for k in keys {
        if let Ok((port, proto)) = parse_port_key(k) {
            out.insert(format!("{port}/{proto}"), Value::Null);
        }
    }
    for p in published {
        let key = format!("{}/{}", p.ctr_port, p.proto);
        let entry = out.entry(key).or_insert(Value::Null);
        if entry.is_null() {
            *entry = Value::Array(Vec::new());
        }
        if let Value::Array(a) = entry {
            let port = p.host_port.to_string();
            match p.host_ip {
                Some(ip) => a.push(binding(&ip.to_string(), &port)),
                None => {
                    a.push(binding("0.0.0.0", &port));
                    if host_has_v6 {
                        a.push(binding("::", &port));
                    }
                }
            }
        }
    }
    out
}

fn binding(ip: &str, port: &str) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("HostIp".into(), Value::String(ip.into()));
    m.insert("HostPort".into(), Value::String(port.into()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(bindings: Value, all: bool) -> HostConfig {
        serde_json::from_value(json!({"PortBindings": bindings, "PublishAllPorts": all})).unwrap()
    }

    #[test]
    fn bindings_ranges_and_publish_all() {
        let config: ContainerConfig =
            serde_json::from_value(json!({"ExposedPorts": {"80/tcp": {}, "53/udp": {}}})).unwrap();
        let h = host(
            json!({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                   "90": [{"HostIp": "", "HostPort": "9000-9010"}]}),
            true,
        );
        let w = wanted(&config, &h).unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].host_ports, (8080, 8080));
        assert_eq!(w[0].host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(w[1].host_ports, (9000, 9010));
        assert_eq!(
            (w[2].ctr_port, w[2].proto, w[2].host_ports),
            (53, Proto::Udp, (0, 0))
        );
    }

    #[test]
    fn bad_specs_are_named() {
        let h = host(json!({"x/tcp": []}), false);
        let c = ContainerConfig::default();
        assert_eq!(wanted(&c, &h).unwrap_err(), "invalid containerPort: x");
        let h = host(json!({"80/tcp": [{"HostPort": "9-1"}]}), false);
        assert_eq!(
            wanted(&c, &h).unwrap_err(),
            "invalid port specification: \"9-1\""
        );
        let h = host(json!({"80/icmp": []}), false);
        assert_eq!(wanted(&c, &h).unwrap_err(), "invalid proto: icmp");
    }

    #[test]
    fn settings_show_exposed_as_null_and_both_families() {
        let config: ContainerConfig =
            serde_json::from_value(json!({"ExposedPorts": {"80/tcp": {}, "81/tcp": {}}})).unwrap();
        let p = [Published {
            proto: Proto::Tcp,
            ctr_port: 80,
            host_ip: None,
            host_port: 18080,
        }];
        let s = settings_ports(&config, &HostConfig::default(), &p, true, true);
        assert_eq!(s["81/tcp"], Value::Null);
        assert_eq!(
            s["80/tcp"],
            json!([{"HostIp": "0.0.0.0", "HostPort": "18080"}, {"HostIp": "::", "HostPort": "18080"}])
        );
        assert!(settings_ports(&config, &HostConfig::default(), &p, false, true).is_empty());
    }
}
