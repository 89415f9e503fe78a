//! `muelle rename`: `POST /containers/{id}/rename?name=…`, with docker's two-line failure.

use anyhow::{bail, Result};
use hyper::Method;

use super::calls::call;
use crate::client::{encode_path, Query};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "CONTAINER")]
    old: String,
    #[arg(value_name = "NEW_NAME")]
    new: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let old = a.old.trim();
    let new = a.new.trim();
    if old.is_empty() || new.is_empty() {
        bail!("Error: Neither old nor new names may be empty");
    }
    let client = ctx.client().await?;
    let q = Query::new().set("name", new).render();
    if let Err(e) = call(
        &client,
        Method::POST,
        &format!("/containers/{}/rename{q}", encode_path(old)),
    )
    .await
    {
        eprintln!("muelle: {e:#}");
        eprintln!("muelle: Error: failed to rename container named {old}");
        return Err(Exit(1).into());
    }
    Ok(())
}
