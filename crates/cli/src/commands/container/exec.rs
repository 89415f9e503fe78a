//! `muelle exec`: `POST /containers/{id}/exec`, then `POST /exec/{id}/start` hijacked (or
//! detached), the tty sized, and the exit code read back from `GET /exec/{id}/json`.

use std::io::IsTerminal;

use anyhow::{bail, Result};
use hyper::Method;
use muelle_types::container::{ExecConfig, ExecStartConfig};
use serde_json::Value;

use super::calls::inspect;
use crate::client::{bytes, read_json};
use crate::commands::stream::{self, Outcome, Pump, RawTerminal};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "list")]
    env: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, value_name = "string")]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "string")]
    workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(
        required = true,
        num_args = 2..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CONTAINER COMMAND [ARG...]"
    )]
    args: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    crate::usage::refuse_leading_flag(a.args.first().map(String::as_str))?;
    let name = &a.args[0];
    let cmd = &a.args[1..];
    let client = ctx.client().await?;
    let c = inspect(&client, name).await?;
    let id = c["Id"].as_str().unwrap_or(name).to_owned();
    if a.tty && a.interactive && !a.detach && !std::io::stdin().is_terminal() {
        bail!("the input device is not a TTY");
    }
    let env: Vec<String> = a
        .env
        .iter()
        .map(|e| {
            if e.contains('=') {
                e.clone()
            } else {
                std::env::var(e).map_or(e.clone(), |v| format!("{e}={v}"))
            }
        })
        .collect();
    // The daemon detaches on these keys too, so they go in the exec's config.
    let detach_keys = crate::config::detach_keys(&ctx.config_dir, a.detach_keys.as_deref());
    let cfg = ExecConfig {
        attach_stdin: a.interactive && !a.detach,
        attach_stdout: !a.detach,
        attach_stderr: !a.detach,
        detach_keys: detach_keys.clone(),
        tty: a.tty,
        env: Some(env),
        cmd: Some(cmd.to_vec()),
        privileged: a.privileged,
        user: a.user.clone(),
        working_dir: a.workdir.clone(),
    };
    let cfg = serde_json::to_string(&cfg)?;
    let ct = [("content-type", "application/json".to_owned())];
    let res = client
        .request(
            Method::POST,
            &format!("/containers/{id}/exec"),
            &ct,
            bytes(cfg),
        )
        .await?;
    let created: Value = read_json(res).await?;
    let Some(exec_id) = created["Id"].as_str().map(str::to_owned) else {
        bail!("the daemon's answer has no exec Id");
    };
    let start = serde_json::to_string(&ExecStartConfig {
        detach: a.detach,
        tty: a.tty,
    })?;
    if a.detach {
        let res = client
            .request(
                Method::POST,
                &format!("/exec/{exec_id}/start"),
                &ct,
                bytes(start),
            )
            .await?;
        drop(res);
        return Ok(());
    }
    let keys = stream::parse_detach_keys(
        detach_keys
            .as_deref()
            .unwrap_or(stream::DEFAULT_DETACH_KEYS),
    )?;
    let raw = stream::wants_raw(a.tty, a.interactive).then(RawTerminal::new);
    let io = match client
        .upgrade_with(
            Method::POST,
            &format!("/exec/{exec_id}/start"),
            &ct,
            bytes(start),
        )
        .await
    {
        Ok(io) => io,
        Err(e) => {
            drop(raw);
            return Err(e);
        }
    };
    let sizer = (a.tty && std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .then(|| stream::monitor_size(&client, format!("/exec/{exec_id}")));
    let outcome = stream::pump(
        io,
        Pump {
            tty: a.tty,
            stdin: a.interactive,
            output: true,
            detach_keys: keys,
        },
    )
    .await;
    drop(raw);
    if let Some(s) = sizer {
        s.abort();
    }
    if outcome? == Outcome::Detached {
        return Ok(());
    }
    let info: Value = client.get_json(&format!("/exec/{exec_id}/json")).await?;
    let code = info["ExitCode"].as_i64().unwrap_or(0);
    if code != 0 {
        return Err(Exit(code as i32).into());
    }
    Ok(())
}
