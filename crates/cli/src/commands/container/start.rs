//! `muelle start`: start each container and print its name; with `-a`/`-i`, attach first and
//! exit with the container's status, as `run` does.

use anyhow::{bail, Result};
use hyper::Method;

use super::attach::{attach_and, AttachCfg};
use super::calls::{call, inspect};
use crate::client::encode_path;
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    if a.attach || a.interactive {
        if a.names.len() > 1 {
            bail!("you cannot start and attach multiple containers at once");
        }
        let name = &a.names[0];
        let c = inspect(&client, name).await?;
        let id = c["Id"].as_str().unwrap_or(name).to_owned();
        let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
        let open_stdin = c["Config"]["OpenStdin"].as_bool().unwrap_or(false);
        let auto_remove = c["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false);
        let use_stdin = a.interactive && open_stdin;
        return attach_and(
            &client,
            &id,
            AttachCfg {
                tty,
                stdin: use_stdin,
                detach_keys: crate::config::detach_keys(&ctx.config_dir, a.detach_keys.as_deref()),
                sig_proxy: true,
                condition: if auto_remove { "removed" } else { "next-exit" },
                start: true,
            },
        )
        .await;
    }
    let mut failed = Vec::new();
    for name in &a.names {
        match call(
            &client,
            Method::POST,
            &format!("/containers/{}/start", encode_path(name)),
        )
        .await
        {
            Ok(()) => crate::out(&format!("{name}\n"))?,
            Err(e) => {
                eprintln!("muelle: {e:#}");
                failed.push(name.clone());
            }
        }
    }
    if !failed.is_empty() {
        eprintln!(
            "muelle: Error: failed to start containers: {}",
            failed.join(", ")
        );
        return Err(Exit(1).into());
    }
    Ok(())
}
