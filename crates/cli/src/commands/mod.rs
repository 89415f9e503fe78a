//! The command tree (docker's names and flags) and dispatch; one module per command.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};

use crate::client::resolve_host;
use crate::{autostart, config, Ctx};

mod containers;
mod cp;
mod events;
mod exec;
mod history;
mod images;
mod import;
mod info;
mod inspect;
mod lifecycle;
mod load;
mod login;
mod logout;
mod logs;
mod prune;
mod ps;
mod pull;
mod push;
mod rmi;
mod run;
mod save;
mod stream;
mod system;
mod tag;
mod version;

#[derive(Parser, Debug)]
#[command(
    name = "muelle",
    version,
    about = "A container system: the client of muelled (and of any Docker Engine API)",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Daemon socket to connect to (default: $MUELLE_HOST, a unix:// $DOCKER_HOST, or unix:///run/muelle/muelle.sock)
    #[arg(short = 'H', long = "host", value_name = "unix:///PATH")]
    host: Option<String>,
    /// Location of client config files (default: $DOCKER_CONFIG or ~/.docker)
    #[arg(long = "config", value_name = "DIR")]
    config: Option<PathBuf>,
    /// Do not start muelled when nothing answers on the default socket
    #[arg(long)]
    no_autostart: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Download an image from a registry
    Pull(pull::Args),
    /// Upload an image to a registry
    Push(push::Args),
    /// List images
    Images(images::Args),
    /// Manage images
    Image {
        #[command(subcommand)]
        command: ImageCmd,
    },
    /// Return low-level information on objects
    Inspect(inspect::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
    /// Remove one or more images
    Rmi(rmi::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::Args),
    /// Load an image from a tar archive or STDIN
    Load(load::Args),
    /// Import the contents from a tarball to create a filesystem image
    Import(import::Args),
    /// Show the history of an image
    History(history::Args),
    /// Authenticate to a registry
    Login(login::Args),
    /// Log out from a registry
    Logout(logout::Args),
    /// Show the client and daemon versions
    Version(version::Args),
    /// Display system-wide information
    Info(info::Args),
    /// Run a command in a new container
    Run(run::Args),
    /// Create a new container
    Create(containers::CreateArgs),
    /// Start one or more stopped containers
    Start(lifecycle::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// List containers
    Ps(ps::Args),
    /// Fetch the logs of a container
    Logs(logs::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(lifecycle::AttachArgs),
    /// Run a command in a running container
    Exec(exec::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::NamesArgs),
    /// Display the running processes of a container
    Top(lifecycle::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(lifecycle::PortArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::NamesArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(lifecycle::NameArg),
    /// Export a container's filesystem as a tar archive
    Export(lifecycle::ExportArgs),
    /// Create a new image from a container's changes
    Commit(lifecycle::CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::Args),
    /// Get real time events from the server
    Events(events::Args),
    /// Manage Docker
    System {
        #[command(subcommand)]
        command: SystemCmd,
    },
    /// Manage containers
    Container {
        #[command(subcommand)]
        command: ContainerCmd,
    },
}

#[derive(Subcommand, Debug)]
enum ContainerCmd {
    /// Run a command in a new container
    Run(run::Args),
    /// Create a new container
    Create(containers::CreateArgs),
    /// Start one or more stopped containers
    Start(lifecycle::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(lifecycle::RmArgs),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(ps::Args),
    /// Fetch the logs of a container
    Logs(logs::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(lifecycle::AttachArgs),
    /// Run a command in a running container
    Exec(exec::Args),
    /// Display detailed information on one or more containers
    Inspect(inspect::ContainerArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::NamesArgs),
    /// Display the running processes of a container
    Top(lifecycle::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(lifecycle::PortArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::NamesArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::NamesArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(lifecycle::NameArg),
    /// Export a container's filesystem as a tar archive
    Export(lifecycle::ExportArgs),
    /// Create a new image from a container's changes
    Commit(lifecycle::CommitArgs),
    /// Remove all stopped containers
    Prune(lifecycle::PruneArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::Args),
}

#[derive(Subcommand, Debug)]
enum SystemCmd {
    /// Show docker disk usage
    Df(system::DfArgs),
    /// Remove unused data
    Prune(system::PruneArgs),
    /// Get real time events from the server
    Events(events::Args),
    /// Display system-wide information
    Info(info::Args),
}

#[derive(Subcommand, Debug)]
enum ImageCmd {
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::Args),
    /// Display detailed information on one or more images
    Inspect(inspect::ImageArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(rmi::Args),
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

pub async fn run(cli: Cli) -> Result<()> {
    let (host, default_host) = resolve_host(cli.host.as_deref(), |k| std::env::var(k).ok())?;
    let ctx = Ctx {
        host,
        default_host,
        autostart: !cli.no_autostart
            && !autostart::disabled_by_env(std::env::var_os("MUELLE_NO_AUTOSTART").as_deref()),
        config_dir: config::default_dir(cli.config.as_deref()),
    };
    match cli.command {
        Cmd::Pull(a)
        | Cmd::Image {
            command: ImageCmd::Pull(a),
        } => pull::run(&ctx, a).await,
        Cmd::Push(a)
        | Cmd::Image {
            command: ImageCmd::Push(a),
        } => push::run(&ctx, a).await,
        Cmd::Images(a)
        | Cmd::Image {
            command: ImageCmd::Ls(a),
        } => images::run(&ctx, a).await,
        Cmd::Inspect(a) => inspect::run(&ctx, a).await,
        Cmd::Image {
            command: ImageCmd::Inspect(a),
        } => inspect::run_image(&ctx, a).await,
        Cmd::Tag(a)
        | Cmd::Image {
            command: ImageCmd::Tag(a),
        } => tag::run(&ctx, a).await,
        Cmd::Rmi(a)
        | Cmd::Image {
            command: ImageCmd::Rm(a),
        } => rmi::run(&ctx, a).await,
        Cmd::Image {
            command: ImageCmd::Prune(a),
        } => prune::run(&ctx, a).await,
        Cmd::Save(a)
        | Cmd::Image {
            command: ImageCmd::Save(a),
        } => save::run(&ctx, a).await,
        Cmd::Load(a)
        | Cmd::Image {
            command: ImageCmd::Load(a),
        } => load::run(&ctx, a).await,
        Cmd::Import(a)
        | Cmd::Image {
            command: ImageCmd::Import(a),
        } => import::run(&ctx, a).await,
        Cmd::History(a)
        | Cmd::Image {
            command: ImageCmd::History(a),
        } => history::run(&ctx, a).await,
        Cmd::Login(a) => login::run(&ctx, a).await,
        Cmd::Logout(a) => logout::run(&ctx, a).await,
        Cmd::Version(a) => version::run(&ctx, a).await,
        Cmd::Info(a) => info::run(&ctx, a).await,
        Cmd::Container { command } => container(&ctx, command).await,
        Cmd::Cp(a) => cp::run(&ctx, a).await,
        Cmd::Events(a) => events::run(&ctx, a).await,
        Cmd::System { command } => match command {
            SystemCmd::Df(a) => system::df(&ctx, a).await,
            SystemCmd::Prune(a) => system::prune(&ctx, a).await,
            SystemCmd::Events(a) => events::run(&ctx, a).await,
            SystemCmd::Info(a) => info::run(&ctx, a).await,
        },
        Cmd::Run(a) => run::run(&ctx, a).await,
        Cmd::Create(a) => containers::run_create(&ctx, a).await,
        Cmd::Start(a) => lifecycle::start(&ctx, a).await,
        Cmd::Stop(a) => lifecycle::stop(&ctx, a).await,
        Cmd::Kill(a) => lifecycle::kill(&ctx, a).await,
        Cmd::Restart(a) => lifecycle::restart(&ctx, a).await,
        Cmd::Rm(a) => lifecycle::rm(&ctx, a).await,
        Cmd::Ps(a) => ps::run(&ctx, a).await,
        Cmd::Logs(a) => logs::run(&ctx, a).await,
        Cmd::Attach(a) => lifecycle::attach(&ctx, a).await,
        Cmd::Exec(a) => exec::run(&ctx, a).await,
        Cmd::Wait(a) => lifecycle::wait(&ctx, a).await,
        Cmd::Top(a) => lifecycle::top(&ctx, a).await,
        Cmd::Port(a) => lifecycle::port(&ctx, a).await,
        Cmd::Rename(a) => lifecycle::rename(&ctx, a).await,
        Cmd::Pause(a) => lifecycle::pause(&ctx, a, "pause").await,
        Cmd::Unpause(a) => lifecycle::pause(&ctx, a, "unpause").await,
        Cmd::Diff(a) => lifecycle::diff(&ctx, a).await,
        Cmd::Export(a) => lifecycle::export(&ctx, a).await,
        Cmd::Commit(a) => lifecycle::commit(&ctx, a).await,
    }
}

async fn container(ctx: &Ctx, c: ContainerCmd) -> Result<()> {
    match c {
        ContainerCmd::Run(a) => run::run(ctx, a).await,
        ContainerCmd::Create(a) => containers::run_create(ctx, a).await,
        ContainerCmd::Start(a) => lifecycle::start(ctx, a).await,
        ContainerCmd::Stop(a) => lifecycle::stop(ctx, a).await,
        ContainerCmd::Kill(a) => lifecycle::kill(ctx, a).await,
        ContainerCmd::Restart(a) => lifecycle::restart(ctx, a).await,
        ContainerCmd::Rm(a) => lifecycle::rm(ctx, a).await,
        ContainerCmd::Ls(a) => ps::run(ctx, a).await,
        ContainerCmd::Logs(a) => logs::run(ctx, a).await,
        ContainerCmd::Attach(a) => lifecycle::attach(ctx, a).await,
        ContainerCmd::Exec(a) => exec::run(ctx, a).await,
        ContainerCmd::Inspect(a) => inspect::run_container(ctx, a).await,
        ContainerCmd::Wait(a) => lifecycle::wait(ctx, a).await,
        ContainerCmd::Top(a) => lifecycle::top(ctx, a).await,
        ContainerCmd::Port(a) => lifecycle::port(ctx, a).await,
        ContainerCmd::Rename(a) => lifecycle::rename(ctx, a).await,
        ContainerCmd::Pause(a) => lifecycle::pause(ctx, a, "pause").await,
        ContainerCmd::Unpause(a) => lifecycle::pause(ctx, a, "unpause").await,
        ContainerCmd::Diff(a) => lifecycle::diff(ctx, a).await,
        ContainerCmd::Export(a) => lifecycle::export(ctx, a).await,
        ContainerCmd::Commit(a) => lifecycle::commit(ctx, a).await,
        ContainerCmd::Prune(a) => lifecycle::prune(ctx, a).await,
        ContainerCmd::Cp(a) => cp::run(ctx, a).await,
    }
}

/// `--filter k=v` (repeatable) → the API's `{"k":{"v":true}}`.
pub fn filters_json(filters: &[String]) -> Result<Option<String>> {
    if filters.is_empty() {
        return Ok(None);
    }
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        let entry = map
            .entry(k.trim().to_lowercase())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(m) = entry.as_object_mut() {
            m.insert(v.to_owned(), serde_json::Value::Bool(true));
        }
    }
    Ok(Some(serde_json::Value::Object(map).to_string()))
}

/// `sha256:5e72c6dd051f…` → `5e72c6dd051f` (docker's `stringid.TruncateID`).
pub fn short_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    id.get(..12).unwrap_or(id)
}

/// Asks on the terminal; anything but y/yes is a no. EOF is a no.
pub fn confirm(question: &str) -> Result<bool> {
    crate::out(&format!("{question} [y/N] "))?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let a = line.trim().to_lowercase();
    Ok(a == "y" || a == "yes")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(filters_json(&[]).unwrap(), None);
        let f = filters_json(&["dangling=true".into(), "label=a=b".into(), "label=c".into()])
            .unwrap()
            .unwrap();
        assert_eq!(
            f,
            r#"{"dangling":{"true":true},"label":{"a=b":true,"c":true}}"#
        );
        assert!(filters_json(&["nonsense".into()]).is_err());
    }

    #[test]
    fn ids() {
        assert_eq!(short_id("sha256:5e72c6dd051ffba444c3349c"), "5e72c6dd051f");
        assert_eq!(short_id("<missing>"), "<missing>");
    }

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
                command: ImageCmd::Ls(_)
            }
        ));
        assert!(Cli::try_parse_from(["muelle", "images", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["muelle", "history", "-H=false", "busybox"]).is_ok());
    }
}
