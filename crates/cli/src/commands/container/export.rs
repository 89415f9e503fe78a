//! `muelle export`: `GET /containers/{id}/export` to a file or to stdout (never a terminal),
//! and the body copy `cp` shares.

use std::io::IsTerminal;

use anyhow::{anyhow, bail, Result};
use hyper::Method;

use crate::client::{empty, encode_path};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    output: Option<String>,
    #[arg(value_name = "CONTAINER")]
    name: String,
}

/// Copies a response body to a file or stdout.
pub async fn body_to(
    res: hyper::Response<hyper::body::Incoming>,
    output: Option<&str>,
) -> Result<()> {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .map_err(|e| anyhow!("failed to export container: {path}: {e}"))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    let mut body = res.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            match sink.write_all(&data).await {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Exit(0).into()),
                r => r?,
            }
        }
    }
    sink.flush().await?;
    Ok(())
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::GET,
            &format!("/containers/{}/export", encode_path(&a.name)),
            &[],
            empty(),
        )
        .await?;
    body_to(res, a.output.as_deref()).await
}
