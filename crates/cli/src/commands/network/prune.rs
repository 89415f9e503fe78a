//! `muelle network prune [-f] [--filter]`: `POST /networks/prune`, then the names removed.

use anyhow::Result;
use hyper::Method;
use muelle_types::network::NetworksPruneReport;

use crate::client::{empty, read_json, Query};
use crate::commands::confirm::{confirm, deleted_section};
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

const WARN: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let q = match filters_json(&a.filter)? {
        Some(f) => Query::new().set("filters", f),
        None => Query::new(),
    };
    let client = ctx.client().await?;
    if !a.force && !confirm(WARN)? {
        return Ok(());
    }
    let res = client
        .request(
            Method::POST,
            &format!("/networks/prune{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let report: NetworksPruneReport = read_json(res).await?;
    let mut text = String::new();
    deleted_section(
        &mut text,
        "Deleted Networks:",
        &report.networks_deleted.unwrap_or_default(),
    );
    crate::out(&text)
}
