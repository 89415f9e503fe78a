//! `muelle load`: a `docker save` (or OCI layout) tar from `-i FILE` or stdin to
//! `POST /images/load`, the daemon's messages shown as they come.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use http_body_util::BodyExt;
use hyper::Method;

use crate::client::{reader, Body, JsonStream, Query};
use crate::progress::{self, Mode};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "string")]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

pub async fn input_body(path: Option<&std::path::Path>) -> Result<Body> {
    Ok(match path {
        Some(p) => reader(
            tokio::fs::File::open(p)
                .await
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        None => reader(tokio::io::stdin()),
    })
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.input.is_none() && std::io::stdin().is_terminal() {
        bail!("requested load from stdin, but stdin is empty");
    }
    let body = input_body(a.input.as_deref()).await?;
    let client = ctx.client().await?;
    let q = Query::new().set_if(a.quiet, "quiet", "1");
    let res = client
        .request(
            Method::POST,
            &format!("/images/load{}", q.render()),
            &[("content-type", "application/x-tar".to_owned())],
            body,
        )
        .await?;
    let is_json = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        let text = res
            .into_body()
            .collect()
            .await
            .context("reading the daemon's answer")?;
        return crate::out(&String::from_utf8_lossy(&text.to_bytes()));
    }
    // With quiet the daemon itself leaves the progress out; the "Loaded image" lines stay.
    let mode = if a.quiet {
        Mode::Plain
    } else {
        Mode::for_stdout(false)
    };
    progress::show(&mut JsonStream::new(res), mode).await?;
    Ok(())
}
