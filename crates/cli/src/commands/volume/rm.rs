//! `muelle volume rm [-f] VOLUME...`: each name printed once removed; failures reported at
//! the end with exit status 1, as docker does.

use anyhow::Result;
use hyper::Method;

use crate::client::{empty, encode_path, Query};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new().set_if(a.force, "force", "1").render();
    let mut errors = Vec::new();
    for name in &a.names {
        let res = client
            .request(
                Method::DELETE,
                &format!("/volumes/{}{q}", encode_path(name)),
                &[],
                empty(),
            )
            .await;
        match res {
            Ok(_) => crate::out(&format!("{name}\n"))?,
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        eprintln!("muelle: {e:#}");
    }
    Err(Exit(1).into())
}
