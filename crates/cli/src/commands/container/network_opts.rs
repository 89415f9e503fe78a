//! The `run`/`create` flags that end in the container's /etc files (`--add-host`, `--dns`,
//! `--dns-search`, `--dns-option`) or in its network endpoint (`--ip`, `--ip6`,
//! `--link-local-ip`, `--network-alias`, `--mac-address`, `--link`, `-P`), validated and
//! sent as the docker CLI 28 sends them: the endpoint options under
//! `NetworkingConfig.EndpointsConfig.<network>`, legacy links in `HostConfig.Links`. The
//! daemon decides what the network the container is on can honour.

use std::net::IpAddr;

use anyhow::{bail, Result};
use serde_json::{Map, Value};

/// docker's `ValidateExtraHost`: `name=ip` or `name:ip`, or `host-gateway` for the ip.
fn extra_host(s: &str) -> Result<String, String> {
    let Some((_, ip)) = s.split_once('=').or_else(|| s.split_once(':')) else {
        return Err(format!("bad format for add-host: {s:?}"));
    };
    let bare = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    if ip != "host-gateway" && bare.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address in add-host: {ip:?}"));
    }
    Ok(s.to_owned())
}

/// docker's `ValidateIPAddress` for `--dns`.
fn ip_address(s: &str) -> Result<String, String> {
    s.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {s}"))
}

#[derive(clap::Args, Debug, Default)]
pub struct NetworkOpts {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "list", value_parser = extra_host)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list", value_parser = ip_address)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long, value_name = "list")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long, alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string")]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string")]
    pub ip6: Option<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long, value_name = "list")]
    pub link_local_ip: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long, alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long, value_name = "string")]
    pub mac_address: Option<String>,
    /// Add link to another container
    #[arg(long, value_name = "list")]
    pub link: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
}

/// Docker's built-in network modes; anything else names a user-defined network.
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// `net.ParseMAC`'s forms: six (or eight/twenty) hex pairs separated by `:` or `-`.
fn valid_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    matches!(parts.len(), 6 | 8 | 20)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

impl NetworkOpts {
    /// The docker CLI 28 sends a MAC address per network, which daemons before API 1.44
    /// do not read: refused for them, as docker refuses it.
    pub fn check_api(&self, api_version: &str) -> Result<()> {
        if self.mac_address.as_deref().is_some_and(|m| !m.is_empty())
            && crate::client::version_less(api_version, "1.44")
        {
            bail!(
                "\"specify mac-address per network\" requires API version 1.44, but the Docker daemon API version is {api_version}"
            );
        }
        Ok(())
    }

    /// Adds the flags' keys to the create body (its `HostConfig` and `NetworkingConfig`).
    pub fn apply(&self, network: &str, body: &mut Map<String, Value>) -> Result<()> {
        let mut host = Map::new();
        for (key, list) in [
            ("Dns", &self.dns),
            ("DnsOptions", &self.dns_option),
            ("DnsSearch", &self.dns_search),
        ] {
            if !list.is_empty() {
                host.insert(key.into(), strings(list));
            }
        }
        if !self.add_host.is_empty() {
            host.insert("ExtraHosts".into(), strings(&self.add_host));
        }
        if self.publish_all {
            host.insert("PublishAllPorts".into(), Value::Bool(true));
        }
        // On a user-defined network a link is an endpoint alias; on the built-in ones a
        // legacy link.
        if !self.link.is_empty() && !user_defined(network) {
            host.insert("Links".into(), strings(&self.link));
        }
        if let Some(Value::Object(hc)) = body.get_mut("HostConfig") {
            hc.extend(host);
        }

        if !user_defined(network) && !self.network_alias.is_empty() {
            bail!("network-scoped aliases are only supported for user-defined networks");
        }
        let mut ep = Map::new();
        if !self.network_alias.is_empty() {
            ep.insert("Aliases".into(), strings(&self.network_alias));
        }
        if !self.link.is_empty() && user_defined(network) {
            ep.insert("Links".into(), strings(&self.link));
        }
        let ip4 = self.ip.clone().unwrap_or_default();
        let ip6 = self.ip6.clone().unwrap_or_default();
        if !ip4.is_empty() || !ip6.is_empty() || !self.link_local_ip.is_empty() {
            let mut ipam = Map::new();
            ipam.insert("IPv4Address".into(), Value::String(ip4));
            ipam.insert("IPv6Address".into(), Value::String(ip6));
            if !self.link_local_ip.is_empty() {
                ipam.insert("LinkLocalIPs".into(), strings(&self.link_local_ip));
            }
            ep.insert("IPAMConfig".into(), Value::Object(ipam));
        }
        if let Some(mac) = self.mac_address.as_deref().filter(|m| !m.is_empty()) {
            if !valid_mac(mac.trim()) {
                bail!("{mac} is not a valid mac address");
            }
            ep.insert("MacAddress".into(), Value::String(mac.to_owned()));
        }
        if !ep.is_empty() {
            let mut endpoints = Map::new();
            endpoints.insert(network.to_owned(), Value::Object(ep));
            let mut networking = Map::new();
            networking.insert("EndpointsConfig".into(), Value::Object(endpoints));
            body.insert("NetworkingConfig".into(), Value::Object(networking));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn add_host_forms() {
        assert!(extra_host("db:10.0.0.1").is_ok());
        assert!(extra_host("db=::1").is_ok());
        assert!(extra_host("db=[::1]").is_ok());
        assert!(extra_host("gw:host-gateway").is_ok());
        assert_eq!(
            extra_host("db:x").unwrap_err(),
            "invalid IP address in add-host: \"x\""
        );
        assert_eq!(
            extra_host("dbx").unwrap_err(),
            "bad format for add-host: \"dbx\""
        );
        assert!(valid_mac("02:42:ac:11:00:99"));
        assert!(!valid_mac("zz"));
    }
}
