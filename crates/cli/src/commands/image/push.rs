//! `muelle push`: `POST /images/{name}/push?tag=…` with the stored credentials.

use anyhow::{bail, Result};
use hyper::Method;

use super::pull::registry_auth;
use crate::client::{empty, encode_path, JsonStream, Query};
use crate::progress::{self, Mode};
use crate::reference::{normalize_name, Reference};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Push all tags of an image to the repository
    #[arg(short, long = "all-tags")]
    all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Compression of layers stored uncompressed: gzip (Docker's) or zstd
    #[arg(long, value_name = "gzip|zstd", value_parser = ["gzip", "zstd"])]
    compression: Option<String>,
    /// Skip image signing (accepted for compatibility; there is none)
    #[arg(long, hide = true)]
    disable_content_trust: bool,
    #[arg(value_name = "NAME[:TAG]")]
    name: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let _ = a.disable_content_trust;
    let r = Reference::parse(&a.name)?;
    if r.digest.is_some() {
        bail!("cannot push a digest reference");
    }
    if a.all_tags && r.tag.is_some() {
        bail!("tag can't be used with --all-tags/-a");
    }
    let mut q = Query::new().set_if(!a.all_tags, "tag", r.api_tag());
    if let Some(c) = &a.compression {
        q = q.set("compression", c);
    }
    let auth = registry_auth(ctx, &r)?;
    let client = ctx.client().await?;
    let path = format!(
        "/images/{}/push{}",
        encode_path(&normalize_name(&r.name)),
        q.render()
    );
    let res = client
        .request(Method::POST, &path, &[auth], empty())
        .await?;
    progress::show(&mut JsonStream::new(res), Mode::for_stdout(a.quiet)).await?;
    if a.quiet {
        crate::out(&format!("{}\n", r.normalized()))?;
    }
    Ok(())
}
