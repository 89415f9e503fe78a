//! `muelle network ls [-q] [--no-trunc] [--filter] [--format]`: docker's table (`NETWORK
//! ID`, `NAME`, `DRIVER`, `SCOPE`), sorted by name, with its row fields for `--format`.

use anyhow::Result;
use muelle_types::network::Network;

use crate::client::Query;
use crate::commands::filters::filters_json;
use crate::format;
use crate::json::Value;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
}

const TABLE: &str = "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// Go's `time.Time.String()` of an RFC 3339 UTC time: `2026-12-07 15:32:53.198871906 +0000 UTC`.
pub(crate) fn go_time(rfc3339: &str) -> String {
    let s = rfc3339.trim_end_matches('Z').replacen('T', " ", 1);
    let s = match s.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{frac}")
            }
        }
        None => s,
    };
    format!("{s} +0000 UTC")
}

fn row(n: &Network, no_trunc: bool) -> Value {
    let id = if no_trunc {
        n.id.clone()
    } else {
        n.id.chars().take(12).collect()
    };
    let labels = n
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let s = |x: &str| Value::String(x.to_string());
    // The daemon's API (1.41) has no EnableIPv4: docker shows "false" then, as here.
    Value::Object(vec![
        ("CreatedAt".into(), s(&go_time(&n.created))),
        ("Driver".into(), s(&n.driver)),
        ("ID".into(), s(&id)),
        ("IPv4".into(), s("false")),
        ("IPv6".into(), s(&n.enable_ipv6.to_string())),
        ("Internal".into(), s(&n.internal.to_string())),
        ("Labels".into(), s(&labels)),
        ("Name".into(), s(&n.name)),
        ("Scope".into(), s(&n.scope)),
    ])
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let query = match filters_json(&a.filter)? {
        Some(f) => Query::new().set("filters", f),
        None => Query::new(),
    };
    let client = ctx.client().await?;
    let mut list: Vec<Network> = client
        .get_json(&format!("/networks{}", query.render()))
        .await?;
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let fmt = if a.quiet {
        "{{.ID}}".to_owned()
    } else {
        a.format.clone().unwrap_or_default()
    };
    let rows: Vec<Value> = list.iter().map(|n| row(n, a.no_trunc)).collect();
    crate::out(&format::render(&fmt, TABLE, HEADERS, &rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_is_gos_time_string() {
        assert_eq!(
            go_time("2026-12-07T15:32:53.198871900Z"),
            "2026-12-07 15:32:53.1988719 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-12-07T15:32:53.000000000Z"),
            "2026-12-07 15:32:53 +0000 UTC"
        );
    }
}
