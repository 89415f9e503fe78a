//! The network options of a create (`NetworkingConfig` endpoints, `--link`, `--mac-address`,
//! `-P`) checked as dockerd checks them for the network the container is on. muelle has no
//! bridge yet: where dockerd would honour an option on its default bridge, the create is
//! refused with a message saying so, never silently ignored; where dockerd accepts and
//! ignores an option (a link-local address on `none`), so does muelle.

use std::collections::BTreeMap;

use muelle_types::container::{ContainerConfig, EndpointSettings, HostConfig};

use super::ContainerError;
use crate::{Engine, Result};

/// Why a default-network option cannot be honoured today.
fn no_bridge(flag: &str) -> ContainerError {
    ContainerError::Invalid(format!(
        "{flag} needs the default bridge network, and bridge networking is not available \
         yet in muelle (use --network none or --network host)"
    ))
}

/// Docker's built-in network modes; anything else names a user-defined network.
fn user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

fn ipam_str<'a>(ep: &'a EndpointSettings, key: &str) -> &'a str {
    ep.ipam_config
        .as_ref()
        .and_then(|v| v.get(key))
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

fn link_local_ips(ep: &EndpointSettings) -> bool {
    ep.ipam_config
        .as_ref()
        .and_then(|v| v.get("LinkLocalIPs"))
        .and_then(|v| v.as_array())
        .is_some_and(|a| !a.is_empty())
}

/// A list field of `HostConfig` muelle keeps as it was sent (`Dns`, `DnsSearch`,
/// `DnsOptions`); absent or null is empty.
pub fn host_config_list(host: &HostConfig, key: &str) -> Vec<String> {
    host.extra
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
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
        let bridged = matches!(mode, "default" | "bridge");
        for ep in endpoints.values() {
            let (v4, v6) = (ipam_str(ep, "IPv4Address"), ipam_str(ep, "IPv6Address"));
            if !v4.is_empty() && v4.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(ContainerError::Invalid(format!("invalid IPv4 address: {v4}")).into());
            }
            if !v6.is_empty() && v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(ContainerError::Invalid(format!("invalid IPv6 address: {v6}")).into());
            }
            if !user_defined(mode)
                && (!ipam_str(ep, "IPv4Address").is_empty()
                    || !ipam_str(ep, "IPv6Address").is_empty())
            {
                return Err(ContainerError::Invalid(
                    "user specified IP address is supported on user defined networks only".into(),
                )
                .into());
            }
            if !user_defined(mode) && ep.aliases.as_ref().is_some_and(|a| !a.is_empty()) {
                return Err(ContainerError::Invalid(
                    "network-scoped alias is supported only for containers in user defined networks"
                        .into(),
                )
                .into());
            }
            if bridged && link_local_ips(ep) {
                return Err(no_bridge("--link-local-ip").into());
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
        let publish_all = host
            .extra
            .get("PublishAllPorts")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let exposed = config.exposed_ports.as_ref().is_some_and(|p| !p.is_empty());
        if bridged && publish_all && exposed {
            return Err(no_bridge("-P/--publish-all").into());
        }
        Ok(())
    }

    /// `HostConfig.Links` (`--link NAME:ALIAS` on a built-in network).
    fn check_links(&self, host: &HostConfig) -> Result<()> {
        let links: Vec<String> = host
            .extra
            .get("Links")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
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
        for l in &links {
            let name = l.split_once(':').map_or(l.as_str(), |(n, _)| n);
            let name = name.trim_start_matches('/');
            let target = self.container(name).map_err(|_| {
                ContainerError::Invalid(format!(
                    "could not get container for {name}: No such container: {name}"
                ))
            })?;
            if matches!(mode, "default" | "bridge") {
                if !matches!(target.host_config.network_mode(), "default" | "bridge") {
                    return Err(ContainerError::Invalid(format!(
                        "Cannot link to /{}, as it does not belong to the default network",
                        target.name.trim_start_matches('/')
                    ))
                    .into());
                }
                return Err(no_bridge("--link").into());
            }
        }
        Ok(())
    }
}

/// A MAC address needs an interface of the container's own on a network muelle can make.
fn mac_address_allowed(mode: &str) -> Result<()> {
    match mode {
        "default" | "bridge" => Err(no_bridge("--mac-address").into()),
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
        assert!(mac_address_allowed("bridge").is_err());
    }
}
