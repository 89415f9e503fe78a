//! `muelle network connect [OPTIONS] NETWORK CONTAINER`: docker 28's flags as the endpoint's
//! settings (aliases, static addresses, links, driver options).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use muelle_types::container::EndpointSettings;
use muelle_types::network::NetworkConnect;

use super::post_json;
use crate::client::encode_path;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_name = "strings", value_delimiter = ',')]
    aliases: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings", value_delimiter = ',')]
    driver_opts: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(
        long = "gw-priority",
        value_name = "int",
        allow_negative_numbers = true
    )]
    gw_priority: Option<i64>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "ip")]
    ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "ip")]
    ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link", value_name = "list")]
    links: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings", value_delimiter = ',')]
    link_local_ips: Vec<String>,
    #[arg(value_name = "NETWORK")]
    network: String,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

/// docker's `--link NAME[:ALIAS]` as the API wants it (`NAME:ALIAS`).
fn link(l: &str) -> Result<String> {
    let (name, alias) = match l.split_once(':') {
        Some((n, a)) => (n, a),
        None => (l, l),
    };
    if name.is_empty() {
        bail!("invalid argument \"{l}\" for \"--link\" flag: empty string specified for links");
    }
    Ok(format!("{name}:{alias}"))
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.gw_priority.is_some_and(|p| p != 0) {
        bail!("--gw-priority needs API 1.48, which muelled does not offer");
    }
    let mut ipam = serde_json::Map::new();
    if let Some(ip) = &a.ip {
        ipam.insert("IPv4Address".into(), ip.clone().into());
    }
    if let Some(ip) = &a.ip6 {
        ipam.insert("IPv6Address".into(), ip.clone().into());
    }
    if !a.link_local_ips.is_empty() {
        ipam.insert("LinkLocalIPs".into(), a.link_local_ips.clone().into());
    }
    let driver_opts: BTreeMap<String, String> = a
        .driver_opts
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect();
    let links = a
        .links
        .iter()
        .map(|l| link(l))
        .collect::<Result<Vec<_>>>()?;
    let body = NetworkConnect {
        container: a.container,
        endpoint_config: Some(EndpointSettings {
            ipam_config: Some(serde_json::Value::Object(ipam)),
            links: (!links.is_empty()).then_some(links),
            aliases: (!a.aliases.is_empty()).then_some(a.aliases),
            driver_opts: Some(driver_opts),
            ..EndpointSettings::default()
        }),
    };
    let client = ctx.client().await?;
    post_json(
        &client,
        &format!("/networks/{}/connect", encode_path(&a.network)),
        &body,
    )
    .await?;
    Ok(())
}
