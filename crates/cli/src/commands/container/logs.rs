//! `muelle logs`: `GET /containers/{id}/logs`, raw for a tty container, else the stdcopy
//! frames split onto stdout and stderr.

use anyhow::Result;
use http_body_util::BodyExt;
use hyper::Method;

use super::calls::inspect;
use crate::client::{empty, Query};
use crate::commands::stream::Demux;
use crate::commands::timestamp::timestamp;
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long, value_name = "string")]
    since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, value_name = "string", default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long, value_name = "string")]
    until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    name: String,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let c = inspect(&client, &a.name).await?;
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let id = c["Id"].as_str().unwrap_or(&a.name).to_owned();
    let mut q = Query::new()
        .set("stdout", "1")
        .set("stderr", "1")
        .set_if(a.follow, "follow", "1")
        .set_if(a.timestamps, "timestamps", "1")
        .set_if(a.details, "details", "1")
        .set("tail", a.tail.as_str());
    if let Some(s) = &a.since {
        q = q.set("since", timestamp(s));
    }
    if let Some(u) = &a.until {
        q = q.set("until", timestamp(u));
    }
    let res = client
        .request(
            Method::GET,
            &format!("/containers/{id}/logs{}", q.render()),
            &[],
            empty(),
        )
        .await?;
    let mut body = res.into_body();
    let mut demux = Demux::default();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let (mut o, mut e) = (stdout.lock(), stderr.lock());
        let r = if tty {
            use std::io::Write;
            o.write_all(&data)
                .and_then(|()| o.flush())
                .map_err(anyhow::Error::from)
        } else {
            demux.push(&data, &mut o, &mut e)
        };
        if let Err(e) = r {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return Err(Exit(0).into());
            }
            return Err(e);
        }
    }
    Ok(())
}
