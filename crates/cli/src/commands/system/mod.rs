//! `muelle system …` and `muelle version`: one file per command, the command enum both trees
//! parse to (docker's top-level `info` and `events` are
//! [`Shortcuts`](super::shortcuts::Shortcuts) of it), and its one dispatch. `version` is
//! docker's system command offered at the top level only.

use anyhow::Result;
use clap::{ArgMatches, Subcommand};

use super::shortcuts::{Resource, Shortcut};
use crate::Ctx;

pub mod df;
pub mod events;
pub mod info;
pub mod prune;
pub mod version;

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(df::Args),
    /// Remove unused data
    Prune(prune::Args),
    /// Get real time events from the server
    Events(events::Args),
    /// Display system-wide information
    Info(info::Args),
}

impl Resource for SystemCommand {
    const SHORTCUTS: &'static [Shortcut] = &[Shortcut::same("info"), Shortcut::same("events")];

    fn from_renamed(_: &str, _: &mut ArgMatches) -> Result<Self, clap::Error> {
        Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
    }
}

impl SystemCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Df(a) => df::run(ctx, a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
            Self::Events(a) => events::run(ctx, a).await,
            Self::Info(a) => info::run(ctx, a).await,
        }
    }
}
