//! `muelle kill`: `POST /containers/{id}/kill` with the signal (KILL unless told).

use anyhow::Result;

use super::calls::post_each;
use crate::client::Query;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Signal to send to the container
    #[arg(short, long, value_name = "string", default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new().set("signal", a.signal.as_str()).render();
    post_each(&client, &a.names, "kill", &q).await
}
