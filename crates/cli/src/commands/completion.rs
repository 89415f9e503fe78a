//! `muelle completion bash|fish|powershell|zsh`: the shell's completion script, generated
//! from the command tree the CLI parses with, so it offers exactly muelle's commands and
//! flags. docker's subcommand names; `--no-descriptions` is accepted as docker accepts it
//! (the bash script has none anyway).

use anyhow::Result;
use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;

#[derive(Subcommand, Debug)]
pub enum CompletionCommand {
    /// Generate the autocompletion script for bash
    Bash(Args),
    /// Generate the autocompletion script for fish
    Fish(Args),
    /// Generate the autocompletion script for powershell
    Powershell(Args),
    /// Generate the autocompletion script for zsh
    Zsh(Args),
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// disable completion descriptions
    #[arg(long)]
    no_descriptions: bool,
}

impl CompletionCommand {
    pub fn run(self) -> Result<()> {
        let shell = match self {
            Self::Bash(_) => Shell::Bash,
            Self::Fish(_) => Shell::Fish,
            Self::Powershell(_) => Shell::PowerShell,
            Self::Zsh(_) => Shell::Zsh,
        };
        let mut cmd = super::Cli::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "muelle", &mut script);
        crate::out(&String::from_utf8_lossy(&script))
    }
}
