//! `muelle context …`: the docker CLI's contexts, in its own store (`crate::contexts`), one
//! file per command. These commands need no daemon: they run before one is chosen.

use anyhow::Result;
use clap::Subcommand;

use crate::contexts::Store;

pub mod create;
pub mod inspect;
pub mod ls;
pub mod rm;
pub mod show;
pub mod use_context;

#[derive(Subcommand, Debug)]
pub enum ContextCommand {
    /// Create a context
    Create(create::Args),
    /// Display detailed information on one or more contexts
    Inspect(inspect::Args),
    /// List contexts
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Remove one or more contexts
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
    /// Print the name of the current context
    Show,
    /// Set the current docker context
    Use(use_context::Args),
}

/// What the context commands work on: the store, the context in use and the `default`
/// context's endpoint.
pub struct Env {
    pub store: Store,
    pub current: String,
    pub default_host: String,
}

impl ContextCommand {
    pub fn run(self, env: &Env) -> Result<()> {
        match self {
            Self::Create(a) => create::run(env, a),
            Self::Inspect(a) => inspect::run(env, a),
            Self::Ls(a) => ls::run(env, a),
            Self::Rm(a) => rm::run(env, a),
            Self::Show => show::run(env),
            Self::Use(a) => use_context::run(env, a),
        }
    }
}

/// docker prints a context command's failure bare (no `docker:` prefix), status 1.
pub fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    eprintln!("{message}");
    crate::Exit(1).into()
}
