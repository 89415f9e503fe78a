//! `muelle rm` / `muelle container rm`: `DELETE /containers/{id}` for each name, with docker's
//! "No such container" wording.

use anyhow::Result;
use hyper::Method;

use super::calls::{call, each_name, not_found};
use crate::client::{encode_path, Query};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove the specified link
    #[arg(short, long)]
    link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new()
        .set_if(a.force, "force", "1")
        .set_if(a.link, "link", "1")
        .set_if(a.volumes, "v", "1")
        .render();
    each_name(&a.names, |n| {
        let path = format!("/containers/{}{q}", encode_path(n.trim_start_matches('/')));
        let client = &client;
        async move {
            call(client, Method::DELETE, &path)
                .await
                .map_err(|e| not_found(e, "container", &n))
        }
    })
    .await
}
