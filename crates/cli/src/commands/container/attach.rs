//! `muelle attach`, and what `start -a` shares with it: attach to the streams, register the
//! wait, optionally start, follow the streams (tty, detach keys, resize, signals) and exit
//! with the container's status.

use std::io::IsTerminal;

use anyhow::{anyhow, bail, Result};
use hyper::Method;

use super::calls::{call, inspect};
use super::wait::wait_task;
use crate::client::{empty, Client, Query};
use crate::commands::stream::{self, Outcome, Pump, RawTerminal};
use crate::{Ctx, Exit};

pub(super) struct AttachCfg {
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Option<String>,
    pub sig_proxy: bool,
    pub condition: &'static str,
    pub start: bool,
}

/// Attach, register the wait, optionally start, follow the streams, exit with the status.
pub(super) async fn attach_and(client: &Client, id: &str, c: AttachCfg) -> Result<()> {
    let keys = stream::parse_detach_keys(
        c.detach_keys
            .as_deref()
            .unwrap_or(stream::DEFAULT_DETACH_KEYS),
    )?;
    let mut q = Query::new()
        .set("stream", "1")
        .set_if(c.stdin, "stdin", "1")
        .set("stdout", "1")
        .set("stderr", "1");
    if let Some(k) = &c.detach_keys {
        q = q.set("detachKeys", k.as_str());
    }
    let io = client
        .upgrade(
            Method::POST,
            &format!("/containers/{id}/attach{}", q.render()),
            empty(),
        )
        .await?;
    let wait = wait_task(client, id, c.condition).await?;
    let raw = stream::wants_raw(c.tty, c.stdin).then(RawTerminal::new);
    if c.start {
        if let Err(e) = call(client, Method::POST, &format!("/containers/{id}/start")).await {
            drop(raw);
            return Err(e);
        }
    }
    let sizer = (c.tty && std::io::stdout().is_terminal())
        .then(|| stream::monitor_size(client, format!("/containers/{id}")));
    let proxy = (c.sig_proxy && !c.tty).then(|| stream::proxy_signals(client, id.to_owned()));
    let outcome = stream::pump(
        io,
        Pump {
            tty: c.tty,
            stdin: c.stdin,
            output: true,
            detach_keys: keys,
        },
    )
    .await;
    drop(raw);
    if let Some(s) = sizer {
        s.abort();
    }
    if let Some(p) = proxy {
        p.abort();
    }
    if outcome? == Outcome::Detached {
        return Ok(());
    }
    let code = wait.await.map_err(|e| anyhow!(e))??;
    if code != 0 {
        return Err(Exit(code as i32).into());
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, value_name = "bool", default_value = "true", action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[arg(value_name = "CONTAINER")]
    name: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let c = inspect(&client, &a.name).await?;
    if !c["State"]["Running"].as_bool().unwrap_or(false) {
        bail!("You cannot attach to a stopped container, start it first");
    }
    if c["State"]["Paused"].as_bool().unwrap_or(false) {
        bail!("You cannot attach to a paused container, unpause it first");
    }
    let id = c["Id"].as_str().unwrap_or(&a.name).to_owned();
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && c["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    if tty && stdin && !std::io::stdin().is_terminal() {
        bail!("the input device is not a TTY");
    }
    attach_and(
        &client,
        &id,
        AttachCfg {
            tty,
            stdin,
            detach_keys: crate::config::detach_keys(&ctx.config_dir, a.detach_keys.as_deref()),
            sig_proxy: a.sig_proxy,
            condition: "not-running",
            start: false,
        },
    )
    .await
}
