//! `--output` after a successful build, through the daemon's existing routes: `type=docker`
//! and `type=oci` are `GET /images/{id}/get` (muelled's save archive is an OCI image layout
//! with Docker's `manifest.json` over the same blobs, so it is both), `type=local` and
//! `type=tar` the image's filesystem from a container that is created, exported
//! (`GET /containers/{id}/export`) and removed, never started. `local` extracts into the
//! directory with the image crate's root-scoped extraction, as `cp` does: the archive cannot
//! write outside it.

use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use http_body_util::BodyExt;
use hyper::Method;
use serde::{Deserialize, Serialize};

use super::options::Output;
use crate::client::{bytes, empty, encode_path, Client, Query};

pub async fn write(client: &Client, id: &str, output: &Output) -> Result<()> {
    match output {
        Output::Docker(dest) | Output::Oci(dest) => {
            let res = client
                .request(
                    Method::GET,
                    &format!("/images/{}/get", encode_path(id)),
                    &[],
                    empty(),
                )
                .await?;
            to_file_or_stdout(res, dest).await
        }
        Output::Tar(dest) => {
            with_container(client, id, |res| async move {
                to_file_or_stdout(res, dest).await
            })
            .await
        }
        Output::Local(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the output directory {}", dir.display()))?;
            let dir = dir.clone();
            with_container(client, id, |res| async move { extract(res, &dir).await }).await
        }
    }
}

async fn to_file_or_stdout(res: hyper::Response<hyper::body::Incoming>, dest: &str) -> Result<()> {
    let path = (dest != "-").then_some(dest);
    crate::commands::container::export::body_to(res, path).await
}

/// The create request: the image, and a command so that images without CMD can be
/// created (it never runs).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody<'a> {
    image: &'a str,
    cmd: [&'a str; 1],
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    id: String,
}

/// Runs `f` on the export of a container made from `image`, removing the container after.
async fn with_container<F, Fut>(client: &Client, image: &str, f: F) -> Result<()>
where
    F: FnOnce(hyper::Response<hyper::body::Incoming>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let config = CreateBody {
        image,
        cmd: ["/nonexistent-muelle-export"],
    };
    let res = client
        .request(
            Method::POST,
            "/containers/create",
            &[("content-type", "application/json".to_owned())],
            bytes(serde_json::to_vec(&config)?),
        )
        .await
        .context("creating a container to export the image's filesystem")?;
    let created: Created = crate::client::read_json(res).await?;
    let result = async {
        let res = client
            .request(
                Method::GET,
                &format!("/containers/{}/export", created.id),
                &[],
                empty(),
            )
            .await?;
        f(res).await
    }
    .await;
    let q = Query::new().set("v", "1").set("force", "1").render();
    let removed = client
        .request(
            Method::DELETE,
            &format!("/containers/{}{q}", created.id),
            &[],
            empty(),
        )
        .await;
    result?;
    removed.map(|_| ()).context("removing the export container")
}

/// Extracts an export answer into `dir` on a blocking thread, fed as the body arrives.
async fn extract(res: hyper::Response<hyper::body::Incoming>, dir: &Path) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
    let base = dir.to_path_buf();
    let worker = tokio::task::spawn_blocking(move || {
        let opts = muelle_image::ExtractOptions {
            rename_top: None,
            no_overwrite_dir_non_dir: true,
            symlinks_out: false,
        };
        muelle_image::extract_to_dir(
            crate::commands::container::cp::ChanReader::new(rx),
            &base,
            &opts,
        )
        .map(|_| ())
        .with_context(|| format!("extracting the image's filesystem into {}", base.display()))
    });
    let mut body = res.into_body();
    let mut fed: Result<()> = Ok(());
    while let Some(frame) = body.frame().await {
        match frame {
            Err(e) => {
                fed = Err(anyhow!("reading the export from the daemon: {e}"));
                break;
            }
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    if tx.send(data).is_err() {
                        break; // the extraction failed; its error says why
                    }
                }
            }
        }
    }
    drop(tx);
    let extracted = worker.await.map_err(|e| anyhow!("extraction task: {e}"))?;
    extracted.and(fed)
}
