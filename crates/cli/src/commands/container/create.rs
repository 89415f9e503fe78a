//! `muelle create`, and creating as `run` does it: `POST /containers/create`, pulling the
//! image first per `--pull` or when the daemon has not got it (docker's `createContainer`).

use anyhow::{bail, Result};
use hyper::{Method, StatusCode};

use super::opts::CreateOpts;
use crate::client::{bytes, empty, read_json, ApiError, Client, JsonStream, Query};
use crate::progress::{self, Mode};
use crate::reference::{familiar, normalize_name, Reference};
use crate::{Ctx, Exit};

/// Prints `muelle: <error>` and turns it into the exit status given (docker's 125 for
/// anything that went wrong before the container ran).
pub fn fail(code: i32, e: anyhow::Error) -> anyhow::Error {
    if let Some(Exit(_)) = e.downcast_ref::<Exit>() {
        return e;
    }
    eprintln!("muelle: {e:#}");
    Exit(code).into()
}

/// Pulls `image` with its progress on stderr (quiet: none), as `docker run` does.
async fn pull(ctx: &Ctx, client: &Client, image: &str, platform: Option<&str>) -> Result<()> {
    let r = Reference::parse(image)?;
    let mut q = Query::new()
        .set("fromImage", normalize_name(&r.name))
        .set("tag", r.api_tag());
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    let auth = crate::commands::image::pull::registry_auth(ctx, &r)?;
    let res = client
        .request(
            Method::POST,
            &format!("/images/create{}", q.render()),
            &[auth],
            empty(),
        )
        .await?;
    // Progress goes to stdout in `show`; run and create keep stdout for the container, so
    // the stream is only drained for its errors.
    progress::show(&mut JsonStream::new(res), Mode::Quiet).await?;
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    id: String,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

/// `POST /containers/create`, pulling the image first per `--pull` (docker's
/// `createContainer`). Returns the new container's id.
pub async fn create(
    ctx: &Ctx,
    client: &Client,
    o: &CreateOpts,
    detach: bool,
    auto_remove: bool,
) -> Result<String> {
    let mut body = o.body(detach, auto_remove)?;
    o.client.check_api(&client.version)?;
    o.net.check_api(&client.version)?;
    let cidfile = super::client_opts::CidFile::new(o.client.cidfile.as_deref())?;
    let api_creds = if o.use_api_socket {
        super::api_socket::prepare(ctx, &mut body)?
    } else {
        None
    };
    let image = o.image();
    Reference::parse(image)?;
    let mut q = Query::new();
    if let Some(n) = &o.name {
        q = q.set("name", n.as_str());
    }
    if let Some(p) = o.platform.as_deref().filter(|p| !p.is_empty()) {
        q = q.set("platform", p.to_lowercase());
    }
    let path = format!("/containers/create{}", q.render());
    let shown = familiar(&Reference::parse(image)?.normalized()).to_owned();
    match o.pull.as_str() {
        "always" => pull(ctx, client, image, o.platform.as_deref()).await?,
        "missing" | "never" => {}
        other => bail!(
            "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
        ),
    }
    let send = || async {
        let res = client
            .request(
                Method::POST,
                &path,
                &[("content-type", "application/json".to_owned())],
                bytes(body.to_string()),
            )
            .await?;
        read_json::<Created>(res).await
    };
    let created = match send().await {
        Ok(c) => c,
        Err(e) => {
            let missing = e
                .downcast_ref::<ApiError>()
                .is_some_and(|a| a.status == StatusCode::NOT_FOUND && a.message.contains("image"));
            if !missing || o.pull != "missing" {
                return Err(e);
            }
            eprintln!("Unable to find image '{shown}' locally");
            pull(ctx, client, image, o.platform.as_deref()).await?;
            send().await?
        }
    };
    for w in created.warnings.unwrap_or_default() {
        eprintln!("WARNING: {w}");
    }
    cidfile.write(&created.id)?;
    if let Some(config) = api_creds {
        super::api_socket::inject(client, &created.id, &config).await?;
    }
    Ok(created.id)
}

#[derive(clap::Args, Debug)]
#[command(override_usage = "muelle create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
pub struct Args {
    #[command(flatten)]
    pub opts: CreateOpts,
}

/// `muelle create`: prints the new id.
pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    a.opts.refuse_unknown_flag("create")?;
    let client = ctx.client().await.map_err(|e| fail(125, e))?;
    let id = create(ctx, &client, &a.opts, true, false)
        .await
        .map_err(|e| fail(125, e))?;
    crate::out(&format!("{id}\n"))
}
