//! `muelle volume …`: one file per command (`create`, `ls`, `inspect`, `rm`, `prune`) and
//! the dispatch. Docker has no top-level shortcuts for volumes.

use anyhow::Result;
use clap::Subcommand;

use crate::Ctx;

pub mod create;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume
    Create(create::Args),
    /// Display detailed information on one or more volumes
    Inspect(inspect::Args),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Remove all unused local volumes
    Prune(prune::Args),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
}

impl VolumeCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Create(a) => create::run(ctx, a).await,
            Self::Inspect(a) => inspect::run(ctx, a).await,
            Self::Ls(a) => ls::run(ctx, a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
            Self::Rm(a) => rm::run(ctx, a).await,
        }
    }
}

/// `k=v` pairs of `--label`/`--opt` as a map; a bare `k` has an empty value, as docker's.
pub(crate) fn key_values(items: &[String]) -> std::collections::BTreeMap<String, String> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}
