//! `muelle image prune`: `POST /images/prune` (dangling images only unless `-a`).

use anyhow::Result;
use hyper::Method;
use serde::Deserialize;

use crate::client::{empty, read_json, Query};
use crate::commands::confirm::{confirm, deleted_section, reclaimed_line};
use crate::commands::filters::filters_json;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Report {
    images_deleted: Option<Vec<super::rm::DeleteItem>>,
    space_reclaimed: i64,
}

const WARN_DANGLING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const WARN_ALL: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut filters = a.filter.clone();
    filters.push(format!("dangling={}", !a.all));
    let q = Query::new().set("filters", filters_json(&filters)?.unwrap_or_default());
    // Reach the daemon before asking, so a dead daemon is not reported after a "y".
    let client = ctx.client().await?;
    if !a.force && !confirm(if a.all { WARN_ALL } else { WARN_DANGLING })? {
        return Ok(());
    }
    let res = client
        .request(
            Method::POST,
            &format!("/images/prune{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let report: Report = read_json(res).await?;
    let mut lines = Vec::new();
    for i in report.images_deleted.unwrap_or_default() {
        if let Some(u) = i.untagged.filter(|s| !s.is_empty()) {
            lines.push(format!("untagged: {u}"));
        }
        if let Some(d) = i.deleted.filter(|s| !s.is_empty()) {
            lines.push(format!("deleted: {d}"));
        }
    }
    let mut text = String::new();
    deleted_section(&mut text, "Deleted Images:", &lines);
    text.push_str(&reclaimed_line(report.space_reclaimed as f64));
    crate::out(&text)
}
