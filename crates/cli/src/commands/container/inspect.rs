//! `muelle container inspect`: containers only (sizes with `-s`), docker's "No such
//! container" wording.

use anyhow::Result;

use crate::commands::inspect::{inspect_all, Kind};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    inspect_all(
        &client,
        &a.names,
        a.format.as_deref(),
        &[Kind::Container],
        a.size,
        |n| format!("No such container: {n}"),
    )
    .await
}
