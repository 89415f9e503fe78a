//! `muelle pull`: `POST /images/create?fromImage=…&tag=…` with the stored credentials, the
//! progress stream shown per layer.

use anyhow::Result;
use hyper::Method;

use crate::client::{empty, JsonStream, Query};
use crate::config::ConfigFile;
use crate::progress::{self, Mode};
use crate::reference::{auth_key, normalize_name, Reference};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Download all tagged images in the repository
    #[arg(short, long = "all-tags")]
    all_tags: bool,
    /// Set platform if server is multi-platform capable (os[/arch[/variant]])
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    /// Skip image verification (accepted for compatibility; there is none)
    #[arg(long, hide = true)]
    disable_content_trust: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    name: String,
}

/// The `X-Registry-Auth` header for the registry a reference lives on.
pub fn registry_auth(ctx: &Ctx, r: &Reference) -> Result<(&'static str, String)> {
    let cfg = ConfigFile::load(&ctx.config_dir)?;
    let auth = cfg.get_auth(&auth_key(r.domain()))?;
    Ok(("x-registry-auth", auth.header()))
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let _ = a.disable_content_trust;
    let r = Reference::parse(&a.name)?;
    if a.all_tags && (r.tag.is_some() || r.digest.is_some()) {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let mut q = Query::new().set("fromImage", normalize_name(&r.name));
    if !a.all_tags {
        q = q.set("tag", r.api_tag());
    }
    if let Some(p) = a.platform.as_deref().filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    let auth = registry_auth(ctx, &r)?;
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            &format!("/images/create{}", q.render()),
            &[auth],
            empty(),
        )
        .await?;
    progress::show(&mut JsonStream::new(res), Mode::for_stdout(a.quiet)).await?;
    if !a.all_tags {
        crate::out(&format!("{}\n", r.normalized()))?;
    }
    Ok(())
}
