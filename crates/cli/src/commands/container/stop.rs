//! `muelle stop` (and the request `restart` shares with it): `POST /containers/{id}/stop` with
//! the grace time and signal asked for, each name printed on success.

use anyhow::Result;

use super::calls::post_each;
use crate::client::Query;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds to wait for stop before killing it
    #[arg(short = 't', long = "time", value_name = "int")]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short, long, value_name = "string")]
    signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    stop_or_restart(ctx, a, "stop").await
}

pub(super) async fn stop_or_restart(ctx: &Ctx, a: Args, action: &str) -> Result<()> {
    let client = ctx.client().await?;
    let mut q = Query::new();
    if let Some(t) = a.time {
        q = q.set("t", t.to_string());
    }
    if let Some(s) = &a.signal {
        q = q.set("signal", s.as_str());
    }
    post_each(&client, &a.names, action, &q.render()).await
}
