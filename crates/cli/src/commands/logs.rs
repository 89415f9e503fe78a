//! `muelle logs`: `GET /containers/{id}/logs`, raw for a tty container, else the stdcopy
//! frames split onto stdout and stderr.

use anyhow::Result;
use http_body_util::BodyExt;
use hyper::Method;

use super::containers::inspect;
use super::stream::Demux;
use crate::client::{empty, Query};
use crate::units::{now_unix, parse_rfc3339_unix};
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

/// A Go duration ("1h30m", "42m", "10s", "1.5h") in seconds.
fn go_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Some(total)
}

/// docker's `timetypes.GetTimestamp`: a duration is relative to now, RFC 3339 and dates are
/// converted, anything else (Unix seconds) goes as it is.
pub fn timestamp(s: &str) -> String {
    if let Some(d) = go_duration(s) {
        let t = now_unix() - d;
        return format!("{:.9}", t);
    }
    if let Some(t) = parse_rfc3339_unix(s) {
        return t.to_string();
    }
    if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        if let Some(t) = parse_rfc3339_unix(&format!("{s}T00:00:00Z")) {
            return t.to_string();
        }
    }
    if s.len() == 19 && s.as_bytes().get(10) == Some(&b'T') {
        if let Some(t) = parse_rfc3339_unix(&format!("{s}Z")) {
            return t.to_string();
        }
    }
    s.to_owned()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_timestamps() {
        assert_eq!(go_duration("42m"), Some(2520.0));
        assert_eq!(go_duration("1h30m"), Some(5400.0));
        assert_eq!(go_duration("1.5s"), Some(1.5));
        assert_eq!(go_duration("1234"), None);
        assert_eq!(timestamp("2013-01-02T13:23:37Z"), "1357133017");
        assert_eq!(timestamp("1357133017"), "1357133017");
    }
}
