//! What every container command shares: docker's "No such container" wording, inspect, the
//! bodyless calls, and the per-name loop that prints each name that succeeded and exits 1 if
//! any failed.

use anyhow::{anyhow, Result};
use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::client::{empty, encode_path, ApiError, Client};
use crate::Exit;

/// The names of the containers a command acts on, one at least.
#[derive(clap::Args, Debug)]
pub struct NamesArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub names: Vec<String>,
}

/// A 404 from the daemon about `name` as docker's client words it ("Error: No such
/// container: x"); other errors unchanged.
pub fn not_found(e: anyhow::Error, what: &str, name: &str) -> anyhow::Error {
    match e.downcast_ref::<ApiError>() {
        Some(api) if api.status == StatusCode::NOT_FOUND => {
            anyhow!("Error: No such {what}: {name}")
        }
        _ => e,
    }
}

/// `GET /containers/{name}/json` with docker's not-found wording.
pub async fn inspect(client: &Client, name: &str) -> Result<Value> {
    client
        .get_json(&format!("/containers/{}/json", encode_path(name)))
        .await
        .map_err(|e| not_found(e, "container", name))
}

/// A bodyless POST/DELETE whose answer does not matter.
pub async fn call(client: &Client, method: Method, path: &str) -> Result<()> {
    let res = client.request(method, path, &[], empty()).await?;
    drop(res);
    Ok(())
}

/// Runs `f` for each name; prints the name on success, `muelle: <error>` on failure, and
/// exits 1 at the end if any failed (docker's stop/kill/rm/pause…).
pub async fn each_name<F, Fut>(names: &[String], mut f: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut failed = false;
    for name in names {
        match f(name.clone()).await {
            Ok(()) => crate::out(&format!("{name}\n"))?,
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

/// `POST /containers/{name}/{action}{query}` for each name, printing each that succeeded
/// ([`each_name`]).
pub async fn post_each(client: &Client, names: &[String], action: &str, query: &str) -> Result<()> {
    each_name(names, |n| {
        let path = format!("/containers/{}/{action}{query}", encode_path(&n));
        async move { call(client, Method::POST, &path).await }
    })
    .await
}
