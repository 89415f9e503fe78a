//! `muelle volume prune [-a] [-f] [--filter]`: `POST /volumes/prune`, anonymous volumes only
//! unless `-a` (the `all=true` filter).

use anyhow::Result;
use hyper::Method;
use muelle_types::volume::VolumesPruneReport;

use crate::client::{empty, read_json, Query};
use crate::commands::confirm::{confirm, deleted_section, reclaimed_line};
use crate::commands::filters::filters_json;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

const WARN: &str = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
const WARN_ALL: &str = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?";

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut filters = a.filter.clone();
    if a.all {
        filters.push("all=true".into());
    }
    let q = match filters_json(&filters)? {
        Some(f) => Query::new().set("filters", f),
        None => Query::new(),
    };
    let client = ctx.client().await?;
    if !a.force && !confirm(if a.all { WARN_ALL } else { WARN })? {
        return Ok(());
    }
    let res = client
        .request(
            Method::POST,
            &format!("/volumes/prune{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let report: VolumesPruneReport = read_json(res).await?;
    let mut text = String::new();
    let deleted = report.volumes_deleted.unwrap_or_default();
    deleted_section(&mut text, "Deleted Volumes:", &deleted);
    text.push_str(&reclaimed_line(report.space_reclaimed as f64));
    crate::out(&text)
}
