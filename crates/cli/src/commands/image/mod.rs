//! `muelle image …`: one file per command, the command enum both trees parse to (docker's
//! top-level `pull`, `images`, `rmi` … are [`Shortcuts`](super::shortcuts::Shortcuts) of it),
//! and its one dispatch.

use anyhow::Result;
use clap::{ArgMatches, FromArgMatches, Subcommand};

use super::shortcuts::{Resource, Shortcut};
use crate::Ctx;

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Build an image from a Dockerfile
    Build(Box<crate::commands::build::Args>),
    /// List images
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Display detailed information on one or more images
    Inspect(inspect::Args),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
    /// Remove unused images
    Prune(prune::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
    /// Download an image from a registry
    Pull(pull::Args),
    /// Upload an image to a registry
    Push(push::Args),
    /// Save one or more images to a tar archive
    Save(save::Args),
    /// Load an image from a tar archive or STDIN
    Load(load::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::Args),
    /// Show the history of an image
    History(history::Args),
}

impl Resource for ImageCommand {
    const SHORTCUTS: &'static [Shortcut] = &[
        Shortcut::same("build"),
        Shortcut::same("pull"),
        Shortcut::same("push"),
        Shortcut::renamed("ls", "images"),
        Shortcut::same("tag"),
        Shortcut::renamed("rm", "rmi"),
        Shortcut {
            name: "save",
            top: "save",
            about: Some("Save one or more images to a tar archive (streamed to STDOUT by default)"),
        },
        Shortcut::same("load"),
        Shortcut::same("import"),
        Shortcut::same("history"),
    ];

    fn from_renamed(name: &str, m: &mut ArgMatches) -> Result<Self, clap::Error> {
        match name {
            "ls" => ls::Args::from_arg_matches_mut(m).map(Self::Ls),
            "rm" => rm::Args::from_arg_matches_mut(m).map(Self::Rm),
            _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        }
    }
}

impl ImageCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Build(a) => crate::commands::build::run(ctx, *a).await,
            Self::Ls(a) => ls::run(ctx, a).await,
            Self::Inspect(a) => inspect::run(ctx, a).await,
            Self::Rm(a) => rm::run(ctx, a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
            Self::Tag(a) => tag::run(ctx, a).await,
            Self::Pull(a) => pull::run(ctx, a).await,
            Self::Push(a) => push::run(ctx, a).await,
            Self::Save(a) => save::run(ctx, a).await,
            Self::Load(a) => load::run(ctx, a).await,
            Self::Import(a) => import::run(ctx, a).await,
            Self::History(a) => history::run(ctx, a).await,
        }
    }
}
