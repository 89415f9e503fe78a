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
