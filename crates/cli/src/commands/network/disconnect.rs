//! `muelle network disconnect [-f] NETWORK CONTAINER`.

use anyhow::Result;
use muelle_types::network::NetworkDisconnect;

use super::post_json;
use crate::client::encode_path;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    #[arg(value_name = "NETWORK")]
    network: String,
    #[arg(value_name = "CONTAINER")]
    container: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let body = NetworkDisconnect {
        container: a.container,
        force: a.force,
    };
    let client = ctx.client().await?;
    post_json(
        &client,
        &format!("/networks/{}/disconnect", encode_path(&a.network)),
        &body,
    )
    .await?;
    Ok(())
}
