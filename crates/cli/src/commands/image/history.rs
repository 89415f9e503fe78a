//! `muelle history IMAGE`: `GET /images/{name}/history` in docker's columns.

use anyhow::Result;
use serde::Deserialize;

use crate::client::encode_path;
use crate::commands::stringid::short_id;
use crate::format;
use crate::json::Value;
use crate::units::{human_size_prec, rfc3339, since};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long = "human",
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_name = "true|false"
    )]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "IMAGE")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Layer {
    id: String,
    created: i64,
    created_by: String,
    size: i64,
    comment: String,
}

const TABLE_HUMAN: &str =
    "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}";
const TABLE_RAW: &str =
    "table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

/// docker's `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn row(l: &Layer, human: bool, trunc: bool) -> Value {
    let created_by = l.created_by.replace('\t', " ");
    let created_at = rfc3339(l.created);
    Value::object([
        ("Comment", l.comment.clone().into()),
        ("CreatedAt", created_at.clone().into()),
        (
            "CreatedBy",
            if trunc {
                ellipsis(&created_by, 45)
            } else {
                created_by
            }
            .into(),
        ),
        (
            "CreatedSince",
            if human { since(l.created) } else { created_at }.into(),
        ),
        (
            "ID",
            if trunc {
                short_id(&l.id).to_owned()
            } else {
                l.id.clone()
            }
            .into(),
        ),
        (
            "Size",
            if human {
                human_size_prec(l.size as f64, 3)
            } else {
                l.size.to_string()
            }
            .into(),
        ),
    ])
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let layers: Vec<Layer> = client
        .get_json(&format!("/images/{}/history", encode_path(&a.name)))
        .await?;
    let rows: Vec<Value> = layers
        .iter()
        .map(|l| row(l, a.human, !a.no_trunc))
        .collect();
    let fmt = if a.quiet {
        "{{.ID}}".to_owned()
    } else {
        a.format.unwrap_or_default()
    };
    let default = if a.human { TABLE_HUMAN } else { TABLE_RAW };
    crate::out(&format::render(&fmt, default, HEADERS, &rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_by_is_cut_like_docker() {
        let long = "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789 in /";
        assert_eq!(ellipsis(long, 45).chars().count(), 45);
        assert!(ellipsis(long, 45).ends_with('…'));
        assert_eq!(ellipsis("short", 45), "short");
        let l = Layer {
            id: "<missing>".into(),
            created: 0,
            created_by: "a\tb".into(),
            size: 1_985_650,
            comment: String::new(),
        };
        let r = row(&l, false, true);
        assert_eq!(r.get("ID").and_then(Value::as_str), Some("<missing>"));
        assert_eq!(r.get("Size").and_then(Value::as_str), Some("1985650"));
        assert_eq!(r.get("CreatedBy").and_then(Value::as_str), Some("a b"));
        assert_eq!(
            r.get("CreatedSince").and_then(Value::as_str),
            Some("1970-01-01T00:00:00Z")
        );
    }
}
