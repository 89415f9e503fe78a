//! `muelle top`: `GET /containers/{id}/top` as a table (docker's 20-column minimum width).

use anyhow::Result;
use serde_json::Value;

use crate::client::{encode_path, Query};
use crate::tabwriter::tabwrite_min;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "CONTAINER")]
    name: String,
    /// [ps OPTIONS]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new()
        .set_if(!a.ps_args.is_empty(), "ps_args", a.ps_args.join(" "))
        .render();
    let v: Value = client
        .get_json(&format!("/containers/{}/top{q}", encode_path(&a.name)))
        .await?;
    let mut lines = Vec::new();
    let titles: Vec<&str> = v["Titles"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    lines.push(titles.join("\t"));
    for row in v["Processes"].as_array().into_iter().flatten() {
        let cells: Vec<&str> = row
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        lines.push(cells.join("\t"));
    }
    crate::out(&tabwrite_min(&lines.join("\n"), 20))
}
