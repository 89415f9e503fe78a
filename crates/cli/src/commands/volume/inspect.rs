//! `muelle volume inspect [-f FORMAT] VOLUME...`.

use anyhow::Result;

use crate::commands::inspect::{inspect_all, Kind};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    inspect_all(
        &client,
        &a.names,
        a.format.as_deref(),
        &[Kind::Volume],
        false,
        |n| format!("No such volume: {n}"),
    )
    .await
}
