//! The network options of a create (`NetworkingConfig` endpoints, `--link`, `--mac-address`,
//! `-P`) checked as dockerd checks them for the network the container is on, and the
//! container's endpoint records made from them. Where dockerd accepts and ignores an option
//! (a link-local address), so does muelle.

use std::collections::BTreeMap;

use muelle_types::container::{ContainerConfig, EndpointSettings, HostConfig};

use super::ContainerError;
use crate::networks::EndpointRecord;
use crate::{Engine, Result};

/// Docker's built-in network modes; anything else names a user-defined network.
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// A list field of `HostConfig` muelle keeps as it was sent (`Dns`, `DnsSearch`,
/// `DnsOptions`); absent or null is empty.
pub fn host_config_list(host: &HostConfig, key: &str) -> Vec<String> {
    host.extra
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// `HostConfig.Links` as `(target name, alias)` pairs: `NAME:ALIAS` (or just `NAME`), the
/// name without its leading `/` and the alias without dockerd's `/parent/` prefix.
pub fn links(host: &HostConfig) -> Vec<(String, String)> {
    host_config_list(host, "Links")
        .iter()
        .map(|l| {
            let (name, alias) = l.split_once(':').unwrap_or((l, l));
            let alias = alias.rsplit('/').next().unwrap_or(alias);
            (name.trim_start_matches('/').to_string(), alias.to_string())
        })
        .collect()
}

/// `HostConfig.Annotations` (API 1.43+), which become the OCI spec's annotations.
pub fn annotations(host: &HostConfig) -> Option<std::collections::HashMap<String, String>> {
    host.extra
        .get("Annotations")
        .and_then(|v| {
            serde_json::from_value::<std::collections::HashMap<String, String>>(v.clone()).ok()
        })
        .filter(|a| !a.is_empty())
}

impl Engine {
    /// dockerd's answers to the network options of a create, for the network `host` names.
    pub fn check_network_options(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        endpoints: &BTreeMap<String, EndpointSettings>,
    ) -> Result<()> {
        let mode = host.network_mode();
        for ep in endpoints.values() {
            let addr = |k| crate::networks::ipam_address(ep, k).unwrap_or("");
            let (v4, v6) = (addr("IPv4Address"), addr("IPv6Address"));
            if !v4.is_empty() && v4.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(ContainerError::Invalid(format!("invalid IPv4 address: {v4}")).into());
            }
            if !v6.is_empty() && v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(ContainerError::Invalid(format!("invalid IPv6 address: {v6}")).into());
            }
            // A static address on a built-in network is refused at start, as dockerd does
            // (the container stays, created).
            if !user_defined(mode) && ep.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
                return Err(ContainerError::Invalid(
                    "network-scoped alias is supported only for containers in user defined networks"
                        .into(),
                )
                .into());
            }
            if !ep.mac_address.is_empty() {
                mac_address_allowed(mode)?;
            }
        }
        let legacy_mac = config
            .extra
            .get("MacAddress")
            .and_then(|v| v.as_str())
            .is_some_and(|m| !m.is_empty());
        if legacy_mac {
            mac_address_allowed(mode)?;
        }
        self.check_links(host)?;
        crate::networks::ports::wanted(config, host)
            .map_err(|m| ContainerError::Invalid(m).into())
            .map(|_| ())
    }

    /// `HostConfig.Links` (`--link NAME:ALIAS` on a built-in network).
    fn check_links(&self, host: &HostConfig) -> Result<()> {
        let links = links(host);
        if links.is_empty() {
            return Ok(());
        }
        let mode = host.network_mode();
        if mode == "host" {
            return Err(ContainerError::Invalid(
                "conflicting options: host type networking can't be used with links. This would result in undefined behavior".into(),
            )
            .into());
        }
        for (name, _) in &links {
            let target = self.container(name).map_err(|_| {
                ContainerError::Invalid(format!(
                    "could not get container for {name}: No such container: {name}"
                ))
            })?;
            if matches!(mode, "default" | "bridge")
                && !matches!(target.host_config.network_mode(), "default" | "bridge")
            {
                return Err(ContainerError::Invalid(format!(
                    "Cannot link to /{}, as it does not belong to the default network",
                    target.name.trim_start_matches('/')
                ))
                .into());
            }
        }
        Ok(())
    }
}

impl Engine {
    /// `DELETE /containers/{parent}/{alias}?link=1`: the link named `alias` goes from the
    /// container's `HostConfig.Links` (its target is left alone).
    pub fn remove_link(&self, parent: &str, alias: &str) -> Result<()> {
        let missing = || ContainerError::NotFound(format!("{parent}/{alias}"));
        let ctr = self.containers.find(parent).map_err(|_| missing())?;
        let rec = ctr.update(|r| {
            let all = host_config_list(&r.host_config, "Links");
            let kept: Vec<String> = all
                .iter()
                .zip(links(&r.host_config))
                .filter(|(_, (_, a))| a != alias)
                .map(|(l, _)| l.clone())
                .collect();
            if kept.len() == all.len() {
                return None;
            }
            r.host_config
                .extra
                .insert("Links".into(), serde_json::json!(kept));
            Some(r.clone())
        });
        let rec = rec.ok_or_else(missing)?;
        self.containers.save(&rec)
    }

    /// The container's endpoint records at create: the network of its mode (`default` is
    /// `bridge`), and every network `NetworkingConfig` names, each keyed by the network's
    /// name; none for `container:` mode.
    pub(super) fn endpoints_for_create(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        endpoints: &BTreeMap<String, EndpointSettings>,
    ) -> Result<BTreeMap<String, EndpointRecord>> {
        let mode = host.network_mode();
        let mut out = BTreeMap::new();
        if mode.starts_with("container:") {
            return Ok(out);
        }
        let primary_key = if mode == "default" { "bridge" } else { mode };
        // dockerd accepts a network it does not know at create and fails the start with
        // `network X not found` (404), which the docker CLI prints as it is; the endpoint
        // is recorded under the name given, with no network id.
        let record = |key: &str, config: EndpointSettings| {
            // The docker CLI names the default network `default` in EndpointsConfig too.
            let key = if key == "default" { "bridge" } else { key };
            match self.network(key) {
                Ok(net) => (
                    net.name.clone(),
                    EndpointRecord {
                        network_id: net.id,
                        config,
                        active: None,
                    },
                ),
                Err(_) => (
                    key.to_string(),
                    EndpointRecord {
                        network_id: String::new(),
                        config,
                        active: None,
                    },
                ),
            }
        };
        let legacy_mac = config
            .extra
            .get("MacAddress")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let (primary_name, mut primary) = record(primary_key, EndpointSettings::default());
        for (key, ep) in endpoints {
            let (name, rec) = record(key, ep.clone());
            let same = name == primary_name
                || (!rec.network_id.is_empty() && rec.network_id == primary.network_id);
            if same {
                primary.config = ep.clone();
            } else {
                out.insert(name, rec);
            }
        }
        if primary.config.mac_address.is_empty() {
            primary.config.mac_address = legacy_mac;
        }
        out.insert(primary_name, primary);
        Ok(out)
    }
}

/// A MAC address needs an interface of the container's own on a network muelle can make.
fn mac_address_allowed(mode: &str) -> Result<()> {
    match mode {
        "default" | "bridge" => Ok(()),
        m if user_defined(m) => Ok(()),
        _ => Err(ContainerError::Invalid(
            "conflicting options: mac-address and the network mode".into(),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_modes_are_not_user_defined() {
        for m in ["default", "bridge", "host", "none", "container:x"] {
            assert!(!user_defined(m), "{m}");
        }
        assert!(user_defined("mynet"));
        assert!(mac_address_allowed("none").is_err());
        assert!(mac_address_allowed("bridge").is_ok());
    }
}
