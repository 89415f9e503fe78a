//! `muelle network create [OPTIONS] NETWORK`: docker 28's flags; prints the new ID.

use anyhow::{bail, Result};
use muelle_types::network::{Ipam, NetworkCreateRequest, NetworkCreateResponse};

use super::post_json;
use crate::client::read_json;
use crate::commands::volume::key_values;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Enable manual container attachment
    #[arg(long)]
    attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string")]
    config_from: Option<String>,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    config_only: bool,
    /// Driver to manage the Network
    #[arg(short, long, value_name = "string", default_value = "bridge")]
    driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long)]
    ingress: bool,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings", value_delimiter = ',')]
    ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "list")]
    labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    opts: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string")]
    scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    subnet: Vec<String>,
    #[arg(value_name = "NETWORK")]
    name: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.ipv4 == Some(false) {
        bail!("--ipv4=false: IPv6-only networks need API 1.48, which muelled does not offer");
    }
    let mut aux = std::collections::BTreeMap::new();
    for kv in &a.aux_address {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("invalid argument \"{kv}\" for \"--aux-address\" flag: bad format for map: {kv}");
        };
        aux.insert(k.to_string(), v.to_string());
    }
    let config = super::ipam::consolidate(&a.subnet, &a.ip_range, &a.gateway, &aux)?;
    let body = NetworkCreateRequest {
        name: a.name,
        check_duplicate: true,
        driver: a.driver,
        scope: a.scope.unwrap_or_default(),
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        ipam: Some(Ipam {
            driver: a.ipam_driver,
            options: Some(key_values(&a.ipam_opt)),
            config,
        }),
        enable_ipv6: a.ipv6.unwrap_or(false),
        options: key_values(&a.opts),
        labels: key_values(&a.labels),
        config_only: a.config_only,
        config_from: a
            .config_from
            .map(|n| muelle_types::network::ConfigReference { network: n }),
    };
    let client = ctx.client().await?;
    let res = post_json(&client, "/networks/create", &body).await?;
    let r: NetworkCreateResponse = read_json(res).await?;
    if !r.warning.is_empty() {
        eprintln!("{}", r.warning);
    }
    crate::out(&format!("{}\n", r.id))
}
