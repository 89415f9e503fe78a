//! `muelle system df`: `GET /system/df` in docker 20.10's summary table.

use anyhow::Result;
use serde_json::Value as J;

use crate::format;
use crate::json::Value;
use crate::units::human_size;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
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

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
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
