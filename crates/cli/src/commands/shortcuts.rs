//! docker's top-level spellings of resource commands: `docker ps` is `docker container ls`,
//! `docker rmi` is `docker image rm`, `docker run` is `docker container run`. A resource's
//! command enum is the one definition; [`Shortcuts`] offers the commands it lists at the top
//! level, renamed where docker renames them and without their aliases, as docker/cli's
//! `NewPsCommand`/`NewRmCommand` copies of the resource commands are. Both trees then parse to
//! the same enum and run through its one dispatch.

use clap::error::ErrorKind;
use clap::{ArgMatches, Command, FromArgMatches, Subcommand};

/// A command of a resource that docker also offers at the top level.
pub struct Shortcut {
    /// Its name under the resource (`ls`).
    pub name: &'static str,
    /// Its name at the top level (`ps`).
    pub top: &'static str,
    /// Its one-line help at the top level, when that differs from the resource's.
    pub about: Option<&'static str>,
}

impl Shortcut {
    /// Offered at the top level under the same name.
    pub const fn same(name: &'static str) -> Shortcut {
        Shortcut {
            name,
            top: name,
            about: None,
        }
    }

    /// Offered at the top level under another name.
    pub const fn renamed(name: &'static str, top: &'static str) -> Shortcut {
        Shortcut {
            name,
            top,
            about: None,
        }
    }
}

/// A resource's command enum (`container …`, `image …`, `system …`).
pub trait Resource: Subcommand {
    /// The commands docker also offers at the top level.
    const SHORTCUTS: &'static [Shortcut];

    /// Parses the arguments of the command named `name` under the resource. Called for the
    /// renamed shortcuts only: the derived parser knows the resource's names, not docker's
    /// top-level ones.
    fn from_renamed(name: &str, m: &mut ArgMatches) -> Result<Self, clap::Error>;
}

/// The top-level shortcuts of resource `C`, to be `#[command(flatten)]`ed into the top-level
/// command enum.
#[derive(Debug)]
pub struct Shortcuts<C>(pub C);

impl<C: Resource> FromArgMatches for Shortcuts<C> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut m.clone())
    }

    fn from_arg_matches_mut(m: &mut ArgMatches) -> Result<Self, clap::Error> {
        let top = m.subcommand_name().unwrap_or_default();
        let Some(s) = C::SHORTCUTS.iter().find(|s| s.top == top) else {
            return Err(clap::Error::raw(
                ErrorKind::InvalidSubcommand,
                format!("the subcommand '{top}' wasn't recognized"),
            ));
        };
        if s.name == s.top {
            return C::from_arg_matches_mut(m).map(Shortcuts);
        }
        let Some((_, mut sub)) = m.remove_subcommand() else {
            return Err(clap::Error::new(ErrorKind::MissingSubcommand));
        };
        C::from_renamed(s.name, &mut sub).map(Shortcuts)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<C: Resource> Subcommand for Shortcuts<C> {
    fn augment_subcommands(mut cmd: Command) -> Command {
        let tree = C::augment_subcommands(Command::new("resource"));
        for s in C::SHORTCUTS {
            let Some(sub) = tree.find_subcommand(s.name) else {
                continue;
            };
            // Unordered here: the top level sets docker's order.
            let mut sub = sub.clone().name(s.top).alias(None).display_order(None);
            if let Some(about) = s.about {
                sub = sub.about(about);
            }
            cmd = cmd.subcommand(sub);
        }
        cmd
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        C::SHORTCUTS.iter().any(|s| s.top == name)
    }
}
