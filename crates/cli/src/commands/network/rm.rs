//! `muelle network rm [-f] NETWORK...`: each name printed once removed; failures reported
//! at the end with exit status 1, as docker does (`-f`: a missing network is no failure).

use anyhow::Result;
use hyper::Method;

use crate::client::{empty, encode_path, ApiError};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let mut errors = Vec::new();
    for name in &a.names {
        let res = client
            .request(
                Method::DELETE,
                &format!("/networks/{}", encode_path(name)),
                &[],
                empty(),
            )
            .await;
        match res {
            Ok(_) => crate::out(&format!("{name}\n"))?,
            Err(e) => {
                let missing = e
                    .downcast_ref::<ApiError>()
                    .is_some_and(|api| api.status == hyper::StatusCode::NOT_FOUND);
                if !(a.force && missing) {
                    errors.push(e);
                }
            }
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
