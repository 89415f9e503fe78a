//! `muelle container …`: one file per command, the command enum both trees parse to (docker's
//! top-level `run`, `ps`, `rm` … are [`Shortcuts`](super::shortcuts::Shortcuts) of it), and its
//! one dispatch. `calls` holds what the commands share; `opts`, `body` and `health` (the
//! `--health-*` flags) what `create` and `run` share.

use anyhow::Result;
use clap::{ArgMatches, FromArgMatches, Subcommand};

use super::shortcuts::{Resource, Shortcut};
use crate::Ctx;

pub mod api_socket;
pub mod attach;
pub mod body;
pub mod calls;
pub mod caps;
pub mod client_opts;
pub mod commit;
pub mod cp;
pub mod create;
pub mod devices;
pub mod diff;
pub mod exec;
pub mod export;
pub mod health;
pub mod inspect;
pub mod kill;
pub mod limits;
pub mod logs;
pub mod ls;
pub mod mount_opt;
pub mod namespaces;
pub mod network_opts;
pub mod opts;
pub mod pause;
pub mod port;
pub mod prune;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod unpause;
pub mod update;
pub mod wait;

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Run a command in a new container
    Run(run::Args),
    /// Create a new container
    Create(create::Args),
    /// Start one or more stopped containers
    Start(start::Args),
    /// Stop one or more running containers
    Stop(stop::Args),
    /// Kill one or more running containers
    Kill(kill::Args),
    /// Restart one or more containers
    Restart(restart::Args),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(ls::Args),
    /// Fetch the logs of a container
    Logs(logs::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::Args),
    /// Run a command in a running container
    Exec(exec::Args),
    /// Display detailed information on one or more containers
    Inspect(inspect::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(calls::NamesArgs),
    /// Display the running processes of a container
    Top(top::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::Args),
    /// Update configuration of one or more containers
    Update(update::Args),
    /// List port mappings or a specific mapping for the container
    Port(port::Args),
    /// Rename a container
    Rename(rename::Args),
    /// Pause all processes within one or more containers
    Pause(calls::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(calls::NamesArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(diff::Args),
    /// Export a container's filesystem as a tar archive
    Export(export::Args),
    /// Create a new image from a container's changes
    Commit(commit::Args),
    /// Remove all stopped containers
    Prune(prune::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::Args),
}

impl Resource for ContainerCommand {
    const SHORTCUTS: &'static [Shortcut] = &[
        Shortcut::same("run"),
        Shortcut::same("create"),
        Shortcut::same("start"),
        Shortcut::same("stop"),
        Shortcut::same("kill"),
        Shortcut::same("restart"),
        Shortcut::same("rm"),
        Shortcut::renamed("ls", "ps"),
        Shortcut::same("logs"),
        Shortcut::same("attach"),
        Shortcut::same("exec"),
        Shortcut::same("wait"),
        Shortcut::same("top"),
        Shortcut::same("stats"),
        Shortcut::same("update"),
        Shortcut::same("port"),
        Shortcut::same("rename"),
        Shortcut::same("pause"),
        Shortcut::same("unpause"),
        Shortcut::same("diff"),
        Shortcut::same("export"),
        Shortcut::same("commit"),
        Shortcut::same("cp"),
    ];

    fn from_renamed(name: &str, m: &mut ArgMatches) -> Result<Self, clap::Error> {
        match name {
            "ls" => ls::Args::from_arg_matches_mut(m).map(Self::Ls),
            _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        }
    }
}

impl ContainerCommand {
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Self::Run(a) => run::run(ctx, a).await,
            Self::Create(a) => create::run(ctx, a).await,
            Self::Start(a) => start::run(ctx, a).await,
            Self::Stop(a) => stop::run(ctx, a).await,
            Self::Kill(a) => kill::run(ctx, a).await,
            Self::Restart(a) => restart::run(ctx, a).await,
            Self::Rm(a) => rm::run(ctx, a).await,
            Self::Ls(a) => ls::run(ctx, a).await,
            Self::Logs(a) => logs::run(ctx, a).await,
            Self::Attach(a) => attach::run(ctx, a).await,
            Self::Exec(a) => exec::run(ctx, a).await,
            Self::Inspect(a) => inspect::run(ctx, a).await,
            Self::Wait(a) => wait::run(ctx, a).await,
            Self::Top(a) => top::run(ctx, a).await,
            Self::Stats(a) => stats::run(ctx, a).await,
            Self::Update(a) => update::run(ctx, a).await,
            Self::Port(a) => port::run(ctx, a).await,
            Self::Rename(a) => rename::run(ctx, a).await,
            Self::Pause(a) => pause::run(ctx, a).await,
            Self::Unpause(a) => unpause::run(ctx, a).await,
            Self::Diff(a) => diff::run(ctx, a).await,
            Self::Export(a) => export::run(ctx, a).await,
            Self::Commit(a) => commit::run(ctx, a).await,
            Self::Prune(a) => prune::run(ctx, a).await,
            Self::Cp(a) => cp::run(ctx, a).await,
        }
    }
}
