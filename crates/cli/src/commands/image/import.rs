//! `muelle import FILE|URL|- [REPOSITORY[:TAG]]`: a root filesystem tar to
//! `POST /images/create?fromSrc=…`, with Dockerfile-style `--change`s.

use std::io::IsTerminal;

use anyhow::{bail, Result};
use hyper::Method;

use super::load::input_body;
use crate::client::{empty, JsonStream, Query};
use crate::progress::{self, Mode};
use crate::reference::Reference;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change", value_name = "list")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long, value_name = "string")]
    message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    #[arg(value_name = "file|URL|-")]
    source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if let Some(r) = &a.reference {
        Reference::parse(r)?;
    }
    let is_url = a.source.starts_with("http://") || a.source.starts_with("https://");
    let (src, body) = if is_url {
        (a.source.clone(), empty())
    } else if a.source == "-" {
        if std::io::stdin().is_terminal() {
            bail!("requested import from stdin, but stdin is a terminal");
        }
        ("-".to_owned(), input_body(None).await?)
    } else {
        (
            "-".to_owned(),
            input_body(Some(std::path::Path::new(&a.source))).await?,
        )
    };
    let mut q = Query::new().set("fromSrc", src);
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        q = q.set("repo", r);
    }
    if let Some(m) = a.message.as_deref().filter(|m| !m.is_empty()) {
        q = q.set("message", m);
    }
    if let Some(p) = a.platform.as_deref().filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    for c in &a.change {
        q = q.set("changes", c.as_str());
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            &format!("/images/create{}", q.render()),
            &[],
            body,
        )
        .await?;
    // The stream's one status line is the new image's ID, which docker prints as is.
    progress::show(&mut JsonStream::new(res), Mode::Plain).await?;
    Ok(())
}
