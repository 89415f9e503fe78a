//! `muelle save`: `GET /images/get?names=…`, the tar written to `-o FILE` (atomically: a
//! temporary file renamed into place) or to stdout, never to a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use http_body_util::BodyExt;
use hyper::Method;

use crate::client::{empty, Query};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    output: Option<PathBuf>,
    #[arg(required = true, value_name = "IMAGE")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let mut q = Query::new();
    for n in &a.names {
        q = q.set("names", n.as_str());
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::GET,
            &format!("/images/get{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let mut body = res.into_body();
    match &a.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            while let Some(frame) = body.frame().await {
                let frame = frame.context("reading the archive from the daemon")?;
                if let Ok(data) = frame.into_data() {
                    match stdout.write_all(&data) {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                            return Err(crate::Exit(1).into())
                        }
                        r => r.context("writing the archive to stdout")?,
                    }
                }
            }
            stdout.flush().context("writing the archive to stdout")?;
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.muelle-{}", std::process::id()));
            let result: Result<()> = async {
                let mut f = std::fs::File::create(&tmp)
                    .with_context(|| format!("failed to save image: creating {}", tmp.display()))?;
                while let Some(frame) = body.frame().await {
                    let frame = frame.context("reading the archive from the daemon")?;
                    if let Ok(data) = frame.into_data() {
                        f.write_all(&data)
                            .with_context(|| format!("writing {}", tmp.display()))?;
                    }
                }
                f.sync_all()
                    .with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, path).with_context(|| {
                    format!("failed to save image: renaming to {}", path.display())
                })
            }
            .await;
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
    }
    Ok(())
}
