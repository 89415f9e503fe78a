//! `muelle commit`: `POST /commit` with the repository, tag, message, author, changes and
//! pause asked for; prints the new image's id.

use anyhow::Result;
use hyper::Method;
use serde_json::Value;

use crate::client::{bytes, read_json, Query};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long, value_name = "string")]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long, value_name = "list")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long, value_name = "string")]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, value_name = "bool", default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    #[arg(value_name = "CONTAINER")]
    name: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let mut q = Query::new().set("container", a.name.as_str());
    if let Some(r) = &a.reference {
        let parsed = crate::reference::Reference::parse(r)?;
        q = q.set("repo", crate::reference::normalize_name(&parsed.name));
        if let Some(t) = &parsed.tag {
            q = q.set("tag", t.as_str());
        }
    }
    if let Some(m) = &a.message {
        q = q.set("comment", m.as_str());
    }
    if let Some(au) = &a.author {
        q = q.set("author", au.as_str());
    }
    for c in &a.change {
        q = q.set("changes", c.as_str());
    }
    if !a.pause {
        q = q.set("pause", "0");
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            &format!("/commit{}", q.render()),
            &[("content-type", "application/json".to_owned())],
            bytes("{}"),
        )
        .await?;
    let v: Value = read_json(res).await?;
    crate::out(&format!("{}\n", v["Id"].as_str().unwrap_or("")))
}
