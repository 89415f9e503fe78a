//! `muelle system prune`: the prune endpoints one after the other (containers, networks,
//! volumes if asked, images, build cache) with docker's confirmation and report.

use anyhow::Result;
use hyper::{Method, StatusCode};
use serde_json::Value as J;

use crate::client::{empty, read_json, ApiError, Client, Query};
use crate::commands::confirm::{confirm, deleted_section, reclaimed_line};
use crate::commands::container::prune::prune_containers;
use crate::commands::filters::filters_json;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. 'label=<key>=<value>')
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Prune volumes
    #[arg(long)]
    volumes: bool,
}

/// POSTs a prune endpoint; a daemon without it (404) counts as nothing pruned.
async fn prune_call(client: &Client, path: &str, q: &Query) -> Result<Option<J>> {
    match client
        .request(Method::POST, &format!("{path}{}", q.render()), &[], empty())
        .await
    {
        Ok(res) => Ok(Some(read_json(res).await?)),
        Err(e) => match e.downcast_ref::<ApiError>() {
            Some(api) if api.status == StatusCode::NOT_FOUND => Ok(None),
            _ => Err(e),
        },
    }
}

fn list(v: &J, k: &str) -> Vec<String> {
    v[k].as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let mut warnings = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if a.volumes {
        warnings.push("all volumes not used by at least one container");
    }
    warnings.push(if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    warnings.push(if a.all {
        "all build cache"
    } else {
        "all dangling build cache"
    });
    let mut msg = String::from("WARNING! This will remove:");
    for w in &warnings {
        msg.push_str(&format!("\n  - {w}"));
    }
    if !a.filter.is_empty() {
        msg.push_str("\n\n  Items to be pruned will be filtered with:");
        for f in &a.filter {
            msg.push_str(&format!("\n  - {f}"));
        }
    }
    msg.push_str("\n\nAre you sure you want to continue?");
    if !a.force && !confirm(&msg)? {
        return Ok(());
    }
    let filters = |extra: Option<String>| -> Result<Query> {
        let mut f = a.filter.clone();
        if let Some(e) = extra {
            f.push(e);
        }
        Ok(match filters_json(&f)? {
            Some(j) => Query::new().set("filters", j),
            None => Query::new(),
        })
    };
    let mut space = 0i64;
    let mut text = String::new();
    let (ids, s) = prune_containers(&client, &a.filter).await?;
    space += s;
    deleted_section(&mut text, "Deleted Containers:", &ids);
    if let Some(r) = prune_call(&client, "/networks/prune", &filters(None)?).await? {
        deleted_section(&mut text, "Deleted Networks:", &list(&r, "NetworksDeleted"));
    }
    if a.volumes {
        if let Some(r) = prune_call(&client, "/volumes/prune", &filters(None)?).await? {
            space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
            deleted_section(&mut text, "Deleted Volumes:", &list(&r, "VolumesDeleted"));
        }
    }
    let q = filters(Some(format!("dangling={}", !a.all)))?;
    if let Some(r) = prune_call(&client, "/images/prune", &q).await? {
        space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
        let mut lines = Vec::new();
        for i in r["ImagesDeleted"].as_array().cloned().unwrap_or_default() {
            if let Some(u) = i["Untagged"].as_str().filter(|s| !s.is_empty()) {
                lines.push(format!("untagged: {u}"));
            }
            if let Some(d) = i["Deleted"].as_str().filter(|s| !s.is_empty()) {
                lines.push(format!("deleted: {d}"));
            }
        }
        deleted_section(&mut text, "Deleted Images:", &lines);
    }
    let q = filters(None)?.set_if(a.all, "all", "1");
    if let Some(r) = prune_call(&client, "/build/prune", &q).await? {
        space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
        deleted_section(
            &mut text,
            "Deleted build cache objects:",
            &list(&r, "CachesDeleted"),
        );
    }
    text.push_str(&reclaimed_line(space as f64));
    crate::out(&text)
}
