//! `muelle volume create [--driver] [--label] [--opt] [NAME]`: prints the volume's name.

use anyhow::{bail, Result};
use hyper::Method;
use muelle_types::volume::{Volume, VolumeCreateOptions};

use super::key_values;
use crate::client::{bytes, read_json};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Specify volume driver name
    #[arg(short, long, value_name = "string", default_value = "local")]
    driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "list")]
    labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    opts: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", value_name = "string", hide = true)]
    name_flag: Option<String>,
    #[arg(value_name = "VOLUME")]
    name: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let name = match (a.name_flag, a.name) {
        (Some(f), Some(p)) if f != p => {
            bail!("conflicting options: either specify --name or provide positional arg, not both")
        }
        (f, p) => p.or(f).unwrap_or_default(),
    };
    let body = VolumeCreateOptions {
        name,
        driver: a.driver,
        driver_opts: Some(key_values(&a.opts)),
        labels: Some(key_values(&a.labels)),
    };
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            "/volumes/create",
            &[("Content-Type", "application/json".to_string())],
            bytes(serde_json::to_vec(&body)?),
        )
        .await?;
    let v: Volume = read_json(res).await?;
    crate::out(&format!("{}\n", v.name))
}
