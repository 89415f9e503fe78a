//! `muelle builder prune`: `POST /build/prune` (the unused cache, or all of it with `-a`),
//! asked for first unless `-f`, reported as docker reports it.

use anyhow::Result;
use hyper::Method;
use serde::Deserialize;

use crate::client::{empty, read_json, Query};
use crate::commands::confirm::{confirm, deleted_section, reclaimed_line};
use crate::commands::filters::filters_json;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. "until=24h")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Amount of disk space to keep for cache
    #[arg(long = "keep-storage", value_name = "bytes")]
    keep_storage: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Report {
    caches_deleted: Option<Vec<String>>,
    space_reclaimed: u64,
}

const WARN_DANGLING: &str =
    "WARNING! This will remove all dangling build cache. Are you sure you want to continue?";
const WARN_ALL: &str =
    "WARNING! This will remove all build cache. Are you sure you want to continue?";

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut q = Query::new().set_if(a.all, "all", "1");
    if let Some(f) = filters_json(&a.filter)? {
        q = q.set("filters", f);
    }
    if let Some(k) = a.keep_storage.as_deref().filter(|k| !k.is_empty()) {
        q = q.set(
            "keep-storage",
            crate::commands::container::body::ram_in_bytes(k)?.to_string(),
        );
    }
    let client = ctx.client().await?;
    if !a.force && !confirm(if a.all { WARN_ALL } else { WARN_DANGLING })? {
        return Ok(());
    }
    let res = client
        .request(
            Method::POST,
            &format!("/build/prune{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let report: Report = read_json(res).await?;
    let mut text = String::new();
    deleted_section(
        &mut text,
        "Deleted build cache objects:",
        &report.caches_deleted.unwrap_or_default(),
    );
    text.push_str(&reclaimed_line(report.space_reclaimed as f64));
    crate::out(&text)
}
