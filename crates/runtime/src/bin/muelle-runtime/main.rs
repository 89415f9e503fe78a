//! `muelle-runtime`: a runc-compatible command line over the muelle runtime library, so that
//! dockerd, containerd, podman and CRI-O can use it as their OCI runtime.

mod commands;
mod log;
mod spec_template;
mod tty;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "muelle-runtime", version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0"), about = "muelle's OCI runtime (runc-compatible)")]
pub struct Cli {
    /// Root directory for container state.
    #[arg(long, global = true, default_value = "/run/muelle-runtime")]
    pub root: PathBuf,
    /// Log file (errors and debug lines also go there).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Debug logging.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Interpret cgroupsPath as systemd's slice:prefix:name.
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for compatibility; checkpointing is not supported.
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    /// Accepted for compatibility (true|false|auto).
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    #[command(subcommand)]
    pub cmd: commands::Command,
}

fn main() -> ExitCode {
    // create, run and exec re-execute from a read-only view of this binary before they go
    // near a container (muelle_runtime::sealed). Doing it before the command line is parsed
    // spares the first image that work; the commands' own ensure_sealed is then a cheap
    // check, and it is the one that reports a failure (through --log too).
    if enters_container(std::env::args_os().skip(1)) {
        let _ = muelle_runtime::sealed::ensure_sealed();
    }
    let cli = Cli::parse();
    log::init(cli.log.as_deref(), &cli.log_format, cli.debug);
    log::debug(&format!(
        "invoked: {:?}",
        std::env::args().collect::<Vec<_>>()
    ));
    match commands::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let msg = one_line(&e);
            log::error(&msg);
            eprintln!("muelle-runtime: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Whether the subcommand is one that enters a container: the first argument that is neither
/// an option nor the value of a global option taking one. A wrong guess only moves the
/// re-execution later or makes a needless one.
fn enters_container(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--root" | "--log" | "--log-format" | "--criu") => {
                args.next();
            }
            Some(s) if s.starts_with('-') => {}
            Some(s) => return matches!(s, "create" | "run" | "exec"),
            None => return false,
        }
    }
    false
}

/// The error chain on one line; a cause already quoted by its parent's message is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if out.contains(&c) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c);
    }
    out
}

/// Only for clap's derive of the subcommand enum living in another module.
#[allow(dead_code)]
fn _assert_subcommand<T: Subcommand>() {}

#[cfg(test)]
mod tests {
    use super::enters_container;

    fn guess(args: &[&str]) -> bool {
        enters_container(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn subcommand_after_global_options() {
        assert!(guess(&["--root", "/run/x", "run", "--bundle", "b", "id"]));
        assert!(guess(&["--root=/run/x", "--debug", "exec", "id", "sh"]));
        assert!(guess(&["--log", "create", "create", "id"]));
        assert!(!guess(&["--root", "run", "state", "run"]));
        assert!(!guess(&["delete", "-f", "run"]));
        assert!(!guess(&[]));
    }
}
