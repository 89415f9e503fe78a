//! `muelle diff`: `GET /containers/{id}/changes` as docker's `C`/`A`/`D` lines.

use anyhow::Result;
use serde_json::Value;

use crate::client::encode_path;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "CONTAINER")]
    name: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let v: Value = client
        .get_json(&format!("/containers/{}/changes", encode_path(&a.name)))
        .await?;
    let mut text = String::new();
    for ch in v.as_array().into_iter().flatten() {
        let kind = match ch["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        text.push_str(&format!("{kind} {}\n", ch["Path"].as_str().unwrap_or("")));
    }
    crate::out(&text)
}
