//! `muelle volume ls [-q] [--filter] [--format]`: docker's table (`DRIVER`, `VOLUME NAME`),
//! sorted by name, with its row fields for `--format`.

use anyhow::Result;
use muelle_types::volume::VolumeListResponse;

use crate::client::Query;
use crate::commands::filters::filters_json;
use crate::format;
use crate::json::Value;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short, long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
}

const TABLE: &str = "table {{.Driver}}\\t{{.Name}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("Group", "GROUP"),
    ("Availability", "AVAILABILITY"),
    ("Status", "STATUS"),
];

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let query = match filters_json(&a.filter)? {
        Some(f) => Query::new().set("filters", f),
        None => Query::new(),
    };
    let client = ctx.client().await?;
    let mut list: VolumeListResponse = client
        .get_json(&format!("/volumes{}", query.render()))
        .await?;
    list.volumes.sort_by(|a, b| a.name.cmp(&b.name));
    let fmt = if a.quiet {
        "{{.Name}}".to_owned()
    } else {
        a.format.clone().unwrap_or_default()
    };
    let rows: Vec<Value> = list
        .volumes
        .iter()
        .map(|v| {
            let labels = v
                .labels
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let s = |x: &str| Value::String(x.to_string());
            Value::Object(vec![
                ("Availability".into(), s("N/A")),
                ("Driver".into(), s(&v.driver)),
                ("Group".into(), s("N/A")),
                ("Labels".into(), s(&labels)),
                ("Links".into(), s("N/A")),
                ("Mountpoint".into(), s(&v.mountpoint)),
                ("Name".into(), s(&v.name)),
                ("Scope".into(), s(&v.scope)),
                ("Size".into(), s("N/A")),
                ("Status".into(), s("N/A")),
            ])
        })
        .collect();
    crate::out(&format::render(&fmt, TABLE, HEADERS, &rows)?)
}
