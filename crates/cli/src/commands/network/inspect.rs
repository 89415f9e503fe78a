//! `muelle network inspect [-f FORMAT] [-v] NETWORK...`.

use anyhow::Result;

use crate::commands::inspect::{inspect_all, Kind};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short, long)]
    verbose: bool,
    #[arg(required = true, value_name = "NETWORK")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let _ = a.verbose; // no swarm services to add: the answer is the same
    let client = ctx.client().await?;
    inspect_all(
        &client,
        &a.names,
        a.format.as_deref(),
        &[Kind::Network],
        false,
        |n| format!("network {n} not found"),
    )
    .await
}
