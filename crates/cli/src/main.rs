//! `muelle`: the command-line client of the Docker Engine API. It talks to muelled (or any
//! dockerd) over a unix socket and nothing else; names, flags, output and exit codes are
//! docker's. Commands live under `commands/`, one directory per resource (`container`,
//! `image`, `system`) with one file per command; `template` is the Go-template engine of
//! `--format`, `format` docker's table/json/raw formats over it, `tabwriter` its tables,
//! `json` the order-keeping JSON that inspect prints.
#![deny(unsafe_code)] // one exception: setsid before exec when autostarting muelled

mod autostart;
mod client;
mod commands;
mod config;
mod contexts;
mod format;
mod json;
mod progress;
mod reference;
mod tabwriter;
mod template;
mod units;
mod usage;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

use client::{Client, ConnectError, Host};

/// An exit status chosen by a command that has already said what went wrong.
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// Exit status for usage errors and a daemon that cannot be reached for `run` (docker's 125).
pub const USAGE_EXIT: i32 = 125;

/// What every command gets: where the daemon is and where the config lives.
pub struct Ctx {
    pub host: Host,
    pub default_host: bool,
    pub autostart: bool,
    pub config_dir: PathBuf,
}

impl Ctx {
    /// A client that has negotiated its API version; starts muelled first when the default
    /// socket has no listener and autostart is allowed.
    pub async fn client(&self) -> Result<Client> {
        let pinned = std::env::var("DOCKER_API_VERSION").ok();
        let mut c = Client::new(self.host.clone());
        match c.negotiate(pinned.clone()).await {
            Ok(()) => Ok(c),
            Err(e) => {
                let nobody = e
                    .downcast_ref::<ConnectError>()
                    .is_some_and(ConnectError::nobody_listens);
                if !(nobody
                    && self.default_host
                    && self.autostart
                    && rustix::process::geteuid().is_root())
                {
                    return Err(e);
                }
                let pid = autostart::start(&self.host).await?;
                eprintln!("muelle: started muelled (pid {pid})");
                c.negotiate(pinned).await?;
                Ok(c)
            }
        }
    }
}

/// Writes to stdout; a closed pipe (`muelle images | head -1`) ends the command quietly.
pub fn out(s: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Exit(0).into()),
        r => Ok(r?),
    }
}

fn main() {
    let cli = match commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let argv: Vec<String> = std::env::args().collect();
            if let Some((message, code)) = usage::docker_error(&e, &argv) {
                eprint!("{message}");
                std::process::exit(code);
            }
            let code = if e.use_stderr() { USAGE_EXIT } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("muelle: starting the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match rt.block_on(commands::run(cli)) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<Exit>() {
            Some(Exit(code)) => *code,
            None => {
                eprintln!("muelle: {e:#}");
                1
            }
        },
    };
    // Do not wait for stdin readers and the like still parked on blocking threads.
    rt.shutdown_background();
    std::process::exit(code);
}
