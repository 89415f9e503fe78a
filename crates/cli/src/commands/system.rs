//! `muelle system df` and `muelle system prune`: `GET /system/df` in docker 20.10's summary
//! table, and the prune endpoints one after the other with docker's report.

use anyhow::Result;
use hyper::{Method, StatusCode};
use serde_json::Value as J;

use crate::client::{empty, read_json, ApiError, Client, Query};
use crate::format;
use crate::json::Value;
use crate::units::human_size;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct DfArgs {
    /// Pretty-print images using a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short, long)]
    verbose: bool,
}

const DF_TABLE: &str =
    "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}";
const DF_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

fn arr(v: &J, k: &str) -> Vec<J> {
    v[k].as_array().cloned().unwrap_or_default()
}

fn with_pct(reclaimable: i64, total: i64) -> String {
    if total > 0 {
        format!(
            "{} ({}%)",
            human_size(reclaimable as f64),
            reclaimable * 100 / total
        )
    } else {
        human_size(reclaimable as f64)
    }
}

fn df_row(kind: &str, total: usize, active: usize, size: String, reclaimable: String) -> Value {
    Value::object([
        ("Active", Value::from(active.to_string())),
        ("Reclaimable", reclaimable.into()),
        ("Size", size.into()),
        ("TotalCount", total.to_string().into()),
        ("Type", kind.into()),
    ])
}

pub async fn df(ctx: &Ctx, a: DfArgs) -> Result<()> {
    let client = ctx.client().await?;
    let du: J = client.get_json("/system/df").await?;
    let i64_of = |v: &J, k: &str| v[k].as_i64().unwrap_or(0);

    let images = arr(&du, "Images");
    let layers = i64_of(&du, "LayersSize");
    let mut used = 0;
    for i in &images {
        if i64_of(i, "Containers") != 0 {
            let (v, s) = (
                i["VirtualSize"]
                    .as_i64()
                    .or(i["Size"].as_i64())
                    .unwrap_or(0),
                i64_of(i, "SharedSize"),
            );
            if v != -1 && s != -1 {
                used += v - s;
            }
        }
    }
    let img_active = images
        .iter()
        .filter(|i| i64_of(i, "Containers") > 0)
        .count();

    let ctrs = arr(&du, "Containers");
    let c_size: i64 = ctrs.iter().map(|c| i64_of(c, "SizeRw")).sum();
    let c_reclaim: i64 = ctrs
        .iter()
        .filter(|c| c["State"] != "running")
        .map(|c| i64_of(c, "SizeRw"))
        .sum();
    let c_active = ctrs.iter().filter(|c| c["State"] == "running").count();

    let vols = arr(&du, "Volumes");
    let v_size: i64 = vols
        .iter()
        .map(|v| i64_of(&v["UsageData"], "Size"))
        .filter(|s| *s != -1)
        .sum();
    let v_reclaim: i64 = vols
        .iter()
        .filter(|v| i64_of(&v["UsageData"], "RefCount") == 0)
        .map(|v| i64_of(&v["UsageData"], "Size"))
        .filter(|s| *s != -1)
        .sum();
    let v_active = vols
        .iter()
        .filter(|v| i64_of(&v["UsageData"], "RefCount") > 0)
        .count();

    let cache = arr(&du, "BuildCache");
    let b_size: i64 = cache
        .iter()
        .filter(|b| b["Shared"] != true)
        .map(|b| i64_of(b, "Size"))
        .sum();
    let in_use: i64 = cache
        .iter()
        .filter(|b| b["InUse"] == true && b["Shared"] != true)
        .map(|b| i64_of(b, "Size"))
        .sum();
    let b_active = cache.iter().filter(|b| b["InUse"] == true).count();

    let rows = vec![
        df_row(
            "Images",
            images.len(),
            img_active,
            human_size(layers as f64),
            with_pct(layers - used, layers),
        ),
        df_row(
            "Containers",
            ctrs.len(),
            c_active,
            human_size(c_size as f64),
            with_pct(c_reclaim, c_size),
        ),
        df_row(
            "Local Volumes",
            vols.len(),
            v_active,
            human_size(v_size as f64),
            with_pct(v_reclaim, v_size),
        ),
        df_row(
            "Build Cache",
            cache.len(),
            b_active,
            human_size(b_size as f64),
            human_size((i64_of(&du, "BuilderSize") - in_use) as f64),
        ),
    ];
    if a.verbose {
        // The per-object tables docker shows with -v are not implemented; the summary is.
        eprintln!("muelle: system df -v shows the summary only");
    }
    crate::out(&format::render(
        a.format.as_deref().unwrap_or(""),
        DF_TABLE,
        DF_HEADERS,
        &rows,
    )?)
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
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

pub async fn prune(ctx: &Ctx, a: PruneArgs) -> Result<()> {
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
    if !a.force && !super::confirm(&msg)? {
        return Ok(());
    }
    let filters = |extra: Option<String>| -> Result<Query> {
        let mut f = a.filter.clone();
        if let Some(e) = extra {
            f.push(e);
        }
        Ok(match super::filters_json(&f)? {
            Some(j) => Query::new().set("filters", j),
            None => Query::new(),
        })
    };
    let mut space = 0i64;
    let mut text = String::new();
    let (ids, s) = super::lifecycle::prune_containers(&client, &a.filter).await?;
    space += s;
    if !ids.is_empty() {
        text.push_str("Deleted Containers:\n");
        for id in ids {
            text.push_str(&format!("{id}\n"));
        }
        text.push('\n');
    }
    if let Some(r) = prune_call(&client, "/networks/prune", &filters(None)?).await? {
        let nets = list(&r, "NetworksDeleted");
        if !nets.is_empty() {
            text.push_str("Deleted Networks:\n");
            for n in nets {
                text.push_str(&format!("{n}\n"));
            }
            text.push('\n');
        }
    }
    if a.volumes {
        if let Some(r) = prune_call(&client, "/volumes/prune", &filters(None)?).await? {
            space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
            let vols = list(&r, "VolumesDeleted");
            if !vols.is_empty() {
                text.push_str("Deleted Volumes:\n");
                for v in vols {
                    text.push_str(&format!("{v}\n"));
                }
                text.push('\n');
            }
        }
    }
    let q = filters(Some(format!("dangling={}", !a.all)))?;
    if let Some(r) = prune_call(&client, "/images/prune", &q).await? {
        space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
        let items = r["ImagesDeleted"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() {
            text.push_str("Deleted Images:\n");
            for i in items {
                if let Some(u) = i["Untagged"].as_str().filter(|s| !s.is_empty()) {
                    text.push_str(&format!("untagged: {u}\n"));
                }
                if let Some(d) = i["Deleted"].as_str().filter(|s| !s.is_empty()) {
                    text.push_str(&format!("deleted: {d}\n"));
                }
            }
            text.push('\n');
        }
    }
    let q = filters(None)?.set_if(a.all, "all", "1");
    if let Some(r) = prune_call(&client, "/build/prune", &q).await? {
        space += r["SpaceReclaimed"].as_i64().unwrap_or(0);
        let cache = list(&r, "CachesDeleted");
        if !cache.is_empty() {
            text.push_str("Deleted build cache objects:\n");
            for c in cache {
                text.push_str(&format!("{c}\n"));
            }
            text.push('\n');
        }
    }
    text.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(space as f64)
    ));
    crate::out(&text)
}
