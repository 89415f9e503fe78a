//! `muelle wait`, and the wait that `run`, `start -a` and `attach` register before they start
//! or follow a container: `POST /containers/{id}/wait`, the exit status read from its body.

use anyhow::{anyhow, Result};
use hyper::Method;

use super::calls::NamesArgs;
use crate::client::{empty, encode_path, read_json, Client};
use crate::{Ctx, Exit};

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct WaitBody {
    status_code: i64,
    error: Option<WaitError>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct WaitError {
    message: String,
}

/// Registers `POST /containers/{id}/wait?condition=…` (the daemon answers the headers at
/// once, so the wait is in place when this returns) and reads the status in a task.
pub async fn wait_task(
    client: &Client,
    id: &str,
    condition: &str,
) -> Result<tokio::task::JoinHandle<Result<i64>>> {
    let res = client
        .request(
            Method::POST,
            &format!("/containers/{id}/wait?condition={condition}"),
            &[],
            empty(),
        )
        .await?;
    Ok(tokio::spawn(async move {
        let body: WaitBody = read_json(res).await?;
        if let Some(e) = body.error.filter(|e| !e.message.is_empty()) {
            return Err(anyhow!("{}", e.message));
        }
        Ok(body.status_code)
    }))
}

pub async fn run(ctx: &Ctx, a: NamesArgs) -> Result<()> {
    let client = ctx.client().await?;
    let mut failed = false;
    for n in &a.names {
        let r: Result<WaitBody> = async {
            let res = client
                .request(
                    Method::POST,
                    &format!("/containers/{}/wait", encode_path(n)),
                    &[],
                    empty(),
                )
                .await?;
            read_json(res).await
        }
        .await;
        match r {
            Ok(b) => crate::out(&format!("{}\n", b.status_code))?,
            Err(e) => {
                eprintln!("muelle: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}
