//! `muelle container prune`: `POST /containers/prune` after docker's confirmation, with its
//! report; the request is shared with `system prune`.

use anyhow::Result;
use hyper::Method;
use serde_json::Value;

use crate::client::{empty, read_json, Client, Query};
use crate::commands::confirm::{confirm, deleted_section, reclaimed_line};
use crate::commands::filters::filters_json;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

/// `POST /containers/prune`; returns (deleted ids, space reclaimed).
pub async fn prune_containers(client: &Client, filters: &[String]) -> Result<(Vec<String>, i64)> {
    let q = match filters_json(filters)? {
        Some(f) => Query::new().set("filters", f).render(),
        None => String::new(),
    };
    let res = client
        .request(Method::POST, &format!("/containers/prune{q}"), &[], empty())
        .await?;
    let v: Value = read_json(res).await?;
    let ids = v["ContainersDeleted"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok((ids, v["SpaceReclaimed"].as_i64().unwrap_or(0)))
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    if !a.force
        && !confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )?
    {
        return Ok(());
    }
    let (ids, space) = prune_containers(&client, &a.filter).await?;
    let mut text = String::new();
    deleted_section(&mut text, "Deleted Containers:", &ids);
    text.push_str(&reclaimed_line(space as f64));
    crate::out(&text)
}
