//! `muelle run` as the docker CLI does it: create (pulling if needed), attach before start so
//! no output is lost, register the wait before start, start, follow the streams, exit with
//! the container's status. `-d` prints the id; `--rm` is the daemon's AutoRemove.

use std::io::IsTerminal;

use anyhow::{anyhow, Result};
use hyper::Method;

use super::create::{create, fail};
use super::opts::CreateOpts;
use super::wait::wait_task;
use crate::client::{empty, ApiError, Query};
use crate::commands::stream::{self, Outcome, Pump, RawTerminal};
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
#[command(override_usage = "muelle run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
pub struct Args {
    /// Run container in background and print container ID
    #[arg(short, long)]
    detach: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string")]
    detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(long, value_name = "bool", default_value = "true", action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[command(flatten)]
    opts: CreateOpts,
}

/// docker's `runStartContainerErr`: a command that cannot be found is 127, one that cannot
/// be invoked 126, anything else 125.
pub fn start_error_code(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") {
        126
    } else {
        125
    }
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let o = &a.opts;
    o.refuse_unknown_flag("run")?;
    let (a_in, a_out, a_err) = o.attach_streams();
    if a.detach && !o.attach.is_empty() {
        return Err(fail(125, anyhow!("Conflicting options: -a and -d")));
    }
    if !a.detach && o.tty && a_in && !std::io::stdin().is_terminal() {
        eprintln!("muelle: the input device is not a TTY");
        return Err(Exit(1).into());
    }
    let keys_text = crate::config::detach_keys(&ctx.config_dir, a.detach_keys.as_deref());
    let detach_keys =
        stream::parse_detach_keys(keys_text.as_deref().unwrap_or(stream::DEFAULT_DETACH_KEYS))
            .map_err(|e| fail(125, e))?;
    let client = ctx.client().await.map_err(|e| fail(125, e))?;
    let id = match create(ctx, &client, o, a.detach, a.rm).await {
        Ok(id) => id,
        Err(e) => {
            let code = e
                .downcast_ref::<ApiError>()
                .map_or(125, |api| start_error_code(&api.message));
            return Err(fail(code, e));
        }
    };
    if a.detach {
        if let Err(e) = client
            .request(
                Method::POST,
                &format!("/containers/{id}/start"),
                &[],
                empty(),
            )
            .await
        {
            let code = start_error_code(&e.to_string());
            return Err(fail(code, e));
        }
        return crate::out(&format!("{id}\n"));
    }

    let mut q = Query::new()
        .set("stream", "1")
        .set_if(a_in, "stdin", "1")
        .set_if(a_out, "stdout", "1")
        .set_if(a_err, "stderr", "1");
    if let Some(k) = &keys_text {
        q = q.set("detachKeys", k.as_str());
    }
    let condition = if a.rm { "removed" } else { "next-exit" };
    // Both are in place before the start; neither needs the other, so one round trip.
    let attach_path = format!("/containers/{id}/attach{}", q.render());
    let (io, wait) = tokio::join!(
        client.upgrade(Method::POST, &attach_path, empty()),
        wait_task(&client, &id, condition)
    );
    let io = io.map_err(|e| fail(125, e))?;
    let wait = wait.map_err(|e| fail(125, e))?;
    let raw = stream::wants_raw(o.tty, a_in).then(RawTerminal::new);
    // Before the start, as docker does: a signal sent once the container runs is its own.
    let proxy = (a.sig_proxy && !o.tty).then(|| stream::proxy_signals(&client, id.clone()));
    if let Err(e) = client
        .request(
            Method::POST,
            &format!("/containers/{id}/start"),
            &[],
            empty(),
        )
        .await
    {
        drop(raw);
        if let Some(p) = &proxy {
            p.abort();
        }
        let code = start_error_code(&e.to_string());
        let e = fail(code, e);
        if a.rm {
            // The daemon removes it; wait for that as docker does.
            let _ = wait.await;
        }
        return Err(e);
    }
    let sizer = (o.tty && std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .then(|| stream::monitor_size(&client, format!("/containers/{id}")));
    let outcome = stream::pump(
        io,
        Pump {
            tty: o.tty,
            stdin: a_in,
            output: a_out || a_err,
            detach_keys,
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
    match outcome {
        Ok(Outcome::Detached) => return Ok(()),
        Ok(Outcome::Ended) => {}
        Err(e) => eprintln!("muelle: {e:#}"),
    }
    let code = match wait.await {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => return Err(fail(125, e)),
        Err(e) => return Err(fail(125, e.into())),
    };
    if code == 0 {
        return Ok(());
    }
    Err(Exit(code as i32).into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_errors() {
        assert_eq!(
            start_error_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_error_code("exec /x: permission denied"), 126);
        assert_eq!(start_error_code("something else"), 125);
    }
}
