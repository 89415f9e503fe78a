//! `muelle builder …`: `build` (the same command as `muelle build`) and `prune` of the
//! daemon's build cache.

use anyhow::Result;
use clap::Subcommand;

use crate::Ctx;

pub mod prune;

#[derive(Subcommand, Debug)]
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(Box<super::build::Args>),
    /// Remove build cache
    Prune(prune::Args),
}

impl BuilderCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Build(a) => super::build::run(ctx, *a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
        }
    }
}
