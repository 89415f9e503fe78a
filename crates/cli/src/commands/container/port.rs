//! `muelle port`: the published ports from inspect's `NetworkSettings.Ports`, all of them
//! sorted or the one asked for.

use anyhow::{bail, Result};
use serde_json::Value;

use super::calls::inspect;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "CONTAINER")]
    name: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    port: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let c = inspect(&client, &a.name).await?;
    let ports = c["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let host_port = |b: &Value| {
        let ip = b["HostIp"].as_str().unwrap_or("");
        let port = b["HostPort"].as_str().unwrap_or("");
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut out = Vec::new();
    if let Some(want) = &a.port {
        let key = if want.contains('/') {
            want.clone()
        } else {
            format!("{want}/tcp")
        };
        if let Some(Value::Array(bs)) = ports.get(&key) {
            for b in bs {
                out.push(host_port(b));
            }
        }
        if out.is_empty() {
            bail!("Error: No public port '{key}' published for {}", a.name);
        }
    } else {
        for (k, v) in &ports {
            for b in v.as_array().into_iter().flatten() {
                out.push(format!("{k} -> {}", host_port(b)));
            }
        }
        out.sort();
    }
    let mut text = String::new();
    for l in out {
        text.push_str(&l);
        text.push('\n');
    }
    crate::out(&text)
}
