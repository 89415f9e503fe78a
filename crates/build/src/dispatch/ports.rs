//! EXPOSE: the ports as written sorted (dockerd's parser sorts them), each substituted and
//! split into words, read as docker/go-connections' `nat.ParsePortSpecs` reads them
//! (`80` → `80/tcp`, ranges expanded, an `ip:host:` part accepted and dropped, protocols
//! tcp/udp/sctp any case), history keeping the words as written.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::error::DispatchError;
use super::state::{StageState, Step};

impl StageState {
    pub(crate) fn expose(&mut self, ports: &[String]) -> Result<Step, DispatchError> {
        let mut raw = ports.to_vec();
        raw.sort();
        let mut words = Vec::new();
        for p in &raw {
            words.extend(self.expand_words(p)?);
        }
        let mut keys = Vec::new();
        for w in &words {
            keys.extend(parse_port_spec(w).map_err(DispatchError::Invalid)?);
        }
        if !keys.is_empty() {
            let exposed = self.config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for k in keys {
                exposed.insert(k, Value::Object(Default::default()));
            }
        }
        Ok(self.meta(&format!("EXPOSE {}", words.join(" "))))
    }
}

/// One `[[ip:]host:]port[-end][/proto]` → the container ports it names, `port/proto`.
pub(crate) fn parse_port_spec(raw: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1];
    let (ip, host) = match n {
        1 => ("".to_string(), ""),
        2 => ("".to_string(), parts[0]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let (proto, container) = split_proto(container);
    let bare_ip = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(&ip);
    if !bare_ip.is_empty() && bare_ip.parse::<IpAddr>().is_err() {
        return Err(format!("Invalid ip address: {bare_ip}"));
    }
    if container.is_empty() {
        return Err(format!("No port specified: {raw}<empty>"));
    }
    let (start, end) =
        port_range(container).ok_or_else(|| format!("Invalid containerPort: {container}"))?;
    if !host.is_empty() {
        let (hs, he) = port_range(host).ok_or_else(|| format!("Invalid hostPort: {host}"))?;
        if end - start != he - hs && end != start {
            return Err(format!(
                "Invalid ranges specified for container and host Ports: {container} and {host}"
            ));
        }
    }
    let lower = proto.to_ascii_lowercase();
    if !matches!(lower.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("Invalid proto: {proto}"));
    }
    Ok((start..=end).map(|p| format!("{p}/{lower}")).collect())
}

/// go-connections' `SplitProtoPort`.
fn split_proto(raw: &str) -> (&str, &str) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return ("", "");
    }
    match parts.get(1) {
        None | Some(&"") => ("tcp", parts[0]),
        Some(proto) => (proto, parts[0]),
    }
}

/// go-connections' `ParsePortRange`: `80` or `80-90` (anything after a second `-` ignored).
fn port_range(ports: &str) -> Option<(u32, u32)> {
    let port = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u16>().ok().map(u32::from)
    };
    match ports.split_once('-') {
        None => port(ports).map(|p| (p, p)),
        Some((a, rest)) => {
            let b = rest.split('-').next().unwrap_or_default();
            let (s, e) = (port(a)?, port(b)?);
            (e >= s).then_some((s, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_as_go_connections() {
        assert_eq!(parse_port_spec("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_port_spec("80/TCP").unwrap(), ["80/tcp"]);
        assert_eq!(parse_port_spec("7/sctp").unwrap(), ["7/sctp"]);
        assert_eq!(
            parse_port_spec("1000-1002").unwrap(),
            ["1000/tcp", "1001/tcp", "1002/tcp"]
        );
        assert_eq!(parse_port_spec("8080:81").unwrap(), ["81/tcp"]);
        assert_eq!(parse_port_spec("127.0.0.1:90:91/udp").unwrap(), ["91/udp"]);
        assert_eq!(parse_port_spec("[::1]:80:81").unwrap(), ["81/tcp"]);
        assert_eq!(parse_port_spec(":80").unwrap(), ["80/tcp"]);
        assert_eq!(
            parse_port_spec("70000").unwrap_err(),
            "Invalid containerPort: 70000"
        );
        assert_eq!(parse_port_spec("80/xyz").unwrap_err(), "Invalid proto: xyz");
        assert_eq!(
            parse_port_spec("5-3").unwrap_err(),
            "Invalid containerPort: 5-3"
        );
        assert_eq!(
            parse_port_spec("abc").unwrap_err(),
            "Invalid containerPort: abc"
        );
        assert_eq!(
            parse_port_spec("80-").unwrap_err(),
            "Invalid containerPort: 80-"
        );
        assert_eq!(
            parse_port_spec("").unwrap_err(),
            "No port specified: <empty>"
        );
    }
}
