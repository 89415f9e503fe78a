//! `muelle tag SOURCE TARGET`: `POST /images/{source}/tag?repo=…&tag=…`.

use anyhow::{bail, Result};
use hyper::Method;

use crate::client::{empty, encode_path, Query};
use crate::reference::{normalize_name, Reference};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let target = Reference::parse(&a.target)?;
    if target.digest.is_some() {
        bail!("refusing to create a tag with a digest reference");
    }
    let q = Query::new()
        .set("repo", normalize_name(&target.name))
        .set("tag", target.api_tag());
    let client = ctx.client().await?;
    client
        .request(
            Method::POST,
            &format!("/images/{}/tag{}", encode_path(&a.source), q.render()),
            &[],
            empty(),
        )
        .await?;
    Ok(())
}
