//! `muelle network …`: one file per command (`connect`, `create`, `disconnect`, `inspect`,
//! `ls`, `prune`, `rm`) and the dispatch, with docker 28's flags and output.

use anyhow::Result;
use clap::Subcommand;

use crate::Ctx;

pub mod connect;
pub mod create;
pub mod disconnect;
pub mod inspect;
pub mod ipam;
pub mod ls;
pub mod prune;
pub mod rm;

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(connect::Args),
    /// Create a network
    Create(create::Args),
    /// Disconnect a container from a network
    Disconnect(disconnect::Args),
    /// Display detailed information on one or more networks
    Inspect(inspect::Args),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Remove all unused networks
    Prune(prune::Args),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
}

impl NetworkCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Connect(a) => connect::run(ctx, a).await,
            Self::Create(a) => create::run(ctx, a).await,
            Self::Disconnect(a) => disconnect::run(ctx, a).await,
            Self::Inspect(a) => inspect::run(ctx, a).await,
            Self::Ls(a) => ls::run(ctx, a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
            Self::Rm(a) => rm::run(ctx, a).await,
        }
    }
}

/// The body of a POST as JSON, sent and checked for an error status.
pub(crate) async fn post_json(
    client: &crate::client::Client,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<hyper::Response<hyper::body::Incoming>> {
    client
        .request(
            hyper::Method::POST,
            path,
            &[("Content-Type", "application/json".to_string())],
            crate::client::bytes(serde_json::to_vec(body)?),
        )
        .await
}
