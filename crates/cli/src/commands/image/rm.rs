//! `muelle rmi` / `muelle image rm`: `DELETE /images/{name}` for each name; every name is
//! tried, failures are reported at the end and make the exit status 1, as docker does.

use anyhow::Result;
use hyper::Method;
use serde::Deserialize;

use crate::client::{empty, encode_path, read_json, Query};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteItem {
    pub untagged: Option<String>,
    pub deleted: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new()
        .set_if(a.force, "force", "1")
        .set_if(a.no_prune, "noprune", "1")
        .render();
    let mut failed = false;
    for name in &a.names {
        let res = client
            .request(
                Method::DELETE,
                &format!("/images/{}{q}", encode_path(name)),
                &[],
                empty(),
            )
            .await;
        let items: Result<Vec<DeleteItem>> = match res {
            Ok(res) => read_json(res).await,
            Err(e) => Err(e),
        };
        match items {
            Ok(items) => {
                let mut text = String::new();
                for i in items {
                    if let Some(u) = i.untagged.filter(|s| !s.is_empty()) {
                        text.push_str(&format!("Untagged: {u}\n"));
                    }
                    if let Some(d) = i.deleted.filter(|s| !s.is_empty()) {
                        text.push_str(&format!("Deleted: {d}\n"));
                    }
                }
                crate::out(&text)?;
            }
            Err(e) => {
                eprintln!("muelle: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}
