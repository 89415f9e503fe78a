//! The command tree (docker's names and flags) and its dispatch. Each resource (`container`,
//! `image`, `system`) has one command enum, one file per command and one dispatch; the top
//! level offers docker's shortcuts of them (`ps`, `rmi`, `run` …, see `shortcuts`) beside the
//! commands that belong to no resource (`inspect`, `login`, `logout`, `version`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Command, Parser, Subcommand};

use crate::{autostart, config, contexts, Ctx};

use container::ContainerCommand;
use image::ImageCommand;
use network::NetworkCommand;
use shortcuts::Shortcuts;
use system::SystemCommand;
use volume::VolumeCommand;

pub mod build;
pub mod builder;
pub mod completion;
pub mod confirm;
pub mod container;
pub mod context;
pub mod filters;
pub mod image;
pub mod inspect;
pub mod login;
pub mod logout;
pub mod network;
pub mod shortcuts;
pub mod stream;
pub mod stringid;
pub mod system;
pub mod timestamp;
pub mod volume;

#[derive(Parser, Debug)]
#[command(
    name = "muelle",
    version,
    about = "A container system: the client of muelled (and of any Docker Engine API)",
    disable_help_subcommand = true,
    // docker's flags take the last of repeated values (`--pull=never --pull always`).
    args_override_self = true,
    mut_subcommands = in_docker_order
)]
pub struct Cli {
    /// Daemon socket to connect to (default: $MUELLE_HOST, a unix:// $DOCKER_HOST, or unix:///run/muelle/muelle.sock)
    #[arg(short = 'H', long = "host", value_name = "unix:///PATH")]
    host: Option<String>,
    /// Location of client config files (default: $DOCKER_CONFIG or ~/.docker)
    #[arg(long = "config", value_name = "DIR")]
    config: Option<PathBuf>,
    /// Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "muelle context use")
    #[arg(short = 'c', long = "context", value_name = "string")]
    context: Option<String>,
    /// Do not start muelled when nothing answers on the default socket
    #[arg(long)]
    no_autostart: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    #[command(flatten)]
    Images(Shortcuts<ImageCommand>),
    /// Manage images
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Return low-level information on objects
    Inspect(inspect::Args),
    /// Authenticate to a registry
    Login(login::Args),
    /// Log out from a registry
    Logout(logout::Args),
    /// Show the client and daemon versions
    Version(system::version::Args),
    #[command(flatten)]
    Containers(Shortcuts<ContainerCommand>),
    #[command(flatten)]
    Systems(Shortcuts<SystemCommand>),
    /// Manage Docker
    System {
        #[command(subcommand)]
        command: SystemCommand,
    },
    /// Manage containers
    Container {
        #[command(subcommand)]
        command: ContainerCommand,
    },
    /// Manage networks
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// Manage builds
    Builder {
        #[command(subcommand)]
        command: builder::BuilderCommand,
    },
    /// Manage volumes
    Volume {
        #[command(subcommand)]
        command: VolumeCommand,
    },
    /// Manage contexts
    Context {
        #[command(subcommand)]
        command: context::ContextCommand,
    },
    /// Generate the autocompletion script for the specified shell
    Completion {
        #[command(subcommand)]
        command: completion::CompletionCommand,
    },
}

/// The top-level commands in the order docker's help lists them.
const TOP_LEVEL_ORDER: &[&str] = &[
    "build",
    "pull",
    "push",
    "images",
    "image",
    "inspect",
    "tag",
    "rmi",
    "save",
    "load",
    "import",
    "history",
    "login",
    "logout",
    "version",
    "info",
    "run",
    "create",
    "start",
    "stop",
    "kill",
    "restart",
    "rm",
    "ps",
    "logs",
    "attach",
    "exec",
    "wait",
    "top",
    "stats",
    "update",
    "port",
    "rename",
    "pause",
    "unpause",
    "diff",
    "export",
    "commit",
    "cp",
    "events",
    "system",
    "builder",
    "container",
    "network",
    "volume",
    "context",
    "completion",
];

fn in_docker_order(c: Command) -> Command {
    let at = TOP_LEVEL_ORDER.iter().position(|n| *n == c.get_name());
    c.display_order(at.unwrap_or(TOP_LEVEL_ORDER.len()))
}

pub async fn run(cli: Cli) -> Result<()> {
    let config_dir = config::default_dir(cli.config.as_deref());
    let store = contexts::Store::new(&config_dir);
    let selection = contexts::Selection {
        host_flag: cli.host.as_deref(),
        context_flag: cli.context.as_deref(),
    };
    let env = |k: &str| std::env::var(k).ok();
    match cli.command {
        Cmd::Completion { command } => return command.run(),
        Cmd::Context { command } => {
            let env = context::Env {
                current: contexts::current_name(&store, &selection, &env)?,
                default_host: contexts::default_endpoint(cli.host.as_deref()),
                store,
            };
            return command.run(&env);
        }
        _ => {}
    }
    let (host, default_host) = contexts::resolve(&store, &selection, env)?;
    let ctx = Ctx {
        host,
        default_host,
        autostart: !cli.no_autostart
            && !autostart::disabled_by_env(std::env::var_os("MUELLE_NO_AUTOSTART").as_deref()),
        config_dir,
    };
    match cli.command {
        Cmd::Images(Shortcuts(c)) | Cmd::Image { command: c } => c.run(&ctx).await,
        Cmd::Containers(Shortcuts(c)) | Cmd::Container { command: c } => c.run(&ctx).await,
        Cmd::Systems(Shortcuts(c)) | Cmd::System { command: c } => c.run(&ctx).await,
        Cmd::Volume { command: c } => c.run(&ctx).await,
        Cmd::Network { command: c } => c.run(&ctx).await,
        Cmd::Builder { command: c } => c.run(&ctx).await,
        Cmd::Inspect(a) => inspect::run(&ctx, a).await,
        Cmd::Login(a) => login::run(&ctx, a).await,
        Cmd::Logout(a) => logout::run(&ctx, a).await,
        Cmd::Version(a) => system::version::run(&ctx, a).await,
        Cmd::Completion { .. } | Cmd::Context { .. } => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "muelle",
            "-H",
            "unix:///x",
            "image",
            "ls",
            "-aq",
            "--filter",
            "dangling=true",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Cmd::Image {
                command: ImageCommand::Ls(_)
            }
        ));
        assert!(Cli::try_parse_from(["muelle", "images", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["muelle", "history", "-H=false", "busybox"]).is_ok());
    }

    #[test]
    fn shortcuts_parse_to_the_resource_commands() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap().command;
        assert!(matches!(
            parse(&["muelle", "ps", "-a"]),
            Cmd::Containers(Shortcuts(ContainerCommand::Ls(_)))
        ));
        assert!(matches!(
            parse(&["muelle", "rmi", "x"]),
            Cmd::Images(Shortcuts(ImageCommand::Rm(_)))
        ));
        assert!(matches!(
            parse(&["muelle", "images"]),
            Cmd::Images(Shortcuts(ImageCommand::Ls(_)))
        ));
        assert!(matches!(
            parse(&["muelle", "rm", "-f", "x"]),
            Cmd::Containers(Shortcuts(ContainerCommand::Rm(_)))
        ));
        assert!(matches!(
            parse(&["muelle", "events"]),
            Cmd::Systems(Shortcuts(SystemCommand::Events(_)))
        ));
        assert!(matches!(
            parse(&["muelle", "container", "list"]),
            Cmd::Container {
                command: ContainerCommand::Ls(_)
            }
        ));
        for absent in ["ls", "remove", "list", "prune", "df"] {
            assert!(Cli::try_parse_from(["muelle", absent]).is_err(), "{absent}");
        }
    }
}
