//! The per-container verbs: start, stop, kill, restart, rm, wait, pause, unpause, rename,
//! attach, top, port, diff, export, commit and container prune, with docker's outputs (the
//! names given, one a line) and exit statuses.

use std::io::IsTerminal;

use anyhow::{anyhow, bail, Result};
use hyper::Method;
use serde_json::Value;

use super::containers::{call, each_name, inspect, not_found};
use super::run::{wait_task, WaitBody};
use super::stream::{self, Outcome, Pump, RawTerminal};
use crate::client::{bytes, empty, encode_path, read_json, Client, Query};
use crate::format::tabwrite_min;
use crate::units::human_size;
use crate::{Ctx, Exit};

fn p(name: &str) -> String {
    encode_path(name)
}

#[derive(clap::Args, Debug)]
pub struct StartArgs {
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

pub async fn start(ctx: &Ctx, a: StartArgs) -> Result<()> {
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
            &format!("/containers/{}/start", p(name)),
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

struct AttachCfg {
    tty: bool,
    stdin: bool,
    detach_keys: Option<String>,
    sig_proxy: bool,
    condition: &'static str,
    start: bool,
}

/// Attach, register the wait, optionally start, follow the streams, exit with the status.
async fn attach_and(client: &Client, id: &str, c: AttachCfg) -> Result<()> {
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
pub struct AttachArgs {
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

pub async fn attach(ctx: &Ctx, a: AttachArgs) -> Result<()> {
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

#[derive(clap::Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait for stop before killing it
    #[arg(short = 't', long = "time", value_name = "int")]
    time: Option<i64>,
    /// Signal to send to the container
    #[arg(short, long, value_name = "string")]
    signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn stop(ctx: &Ctx, a: StopArgs) -> Result<()> {
    stop_or_restart(ctx, a, "stop").await
}

pub async fn restart(ctx: &Ctx, a: StopArgs) -> Result<()> {
    stop_or_restart(ctx, a, "restart").await
}

async fn stop_or_restart(ctx: &Ctx, a: StopArgs, action: &str) -> Result<()> {
    let client = ctx.client().await?;
    let mut q = Query::new();
    if let Some(t) = a.time {
        q = q.set("t", t.to_string());
    }
    if let Some(s) = &a.signal {
        q = q.set("signal", s.as_str());
    }
    post_each(&client, &a.names, action, &q.render()).await
}

/// `POST /containers/{name}/{action}{query}` for each name, printing each that succeeded
/// ([`each_name`]).
async fn post_each(client: &Client, names: &[String], action: &str, query: &str) -> Result<()> {
    each_name(names, |n| {
        let path = format!("/containers/{}/{action}{query}", p(&n));
        async move { call(client, Method::POST, &path).await }
    })
    .await
}

#[derive(clap::Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, value_name = "string", default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn kill(ctx: &Ctx, a: KillArgs) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new().set("signal", a.signal.as_str()).render();
    post_each(&client, &a.names, "kill", &q).await
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove the specified link
    #[arg(short, long)]
    link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn rm(ctx: &Ctx, a: RmArgs) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new()
        .set_if(a.force, "force", "1")
        .set_if(a.link, "link", "1")
        .set_if(a.volumes, "v", "1")
        .render();
    each_name(&a.names, |n| {
        let path = format!("/containers/{}{q}", p(n.trim_start_matches('/')));
        let client = &client;
        async move {
            call(client, Method::DELETE, &path)
                .await
                .map_err(|e| not_found(e, "container", &n))
        }
    })
    .await
}

#[derive(clap::Args, Debug)]
pub struct NamesArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    names: Vec<String>,
}

pub async fn pause(ctx: &Ctx, a: NamesArgs, verb: &'static str) -> Result<()> {
    let client = ctx.client().await?;
    post_each(&client, &a.names, verb, "").await
}

pub async fn wait(ctx: &Ctx, a: NamesArgs) -> Result<()> {
    let client = ctx.client().await?;
    let mut failed = false;
    for n in &a.names {
        let r: Result<WaitBody> = async {
            let res = client
                .request(
                    Method::POST,
                    &format!("/containers/{}/wait", p(n)),
                    &[],
                    empty(),
                )
                .await?;
            read_json(res).await
        }
        .await;
        match r {
            Ok(b) => crate::out(&format!("{}\n", b.status_code))?,
            Err(e) => {
                eprintln!("muelle: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    old: String,
    #[arg(value_name = "NEW_NAME")]
    new: String,
}

pub async fn rename(ctx: &Ctx, a: RenameArgs) -> Result<()> {
    let old = a.old.trim();
    let new = a.new.trim();
    if old.is_empty() || new.is_empty() {
        bail!("Error: Neither old nor new names may be empty");
    }
    let client = ctx.client().await?;
    let q = Query::new().set("name", new).render();
    if let Err(e) = call(
        &client,
        Method::POST,
        &format!("/containers/{}/rename{q}", p(old)),
    )
    .await
    {
        eprintln!("muelle: {e:#}");
        eprintln!("muelle: Error: failed to rename container named {old}");
        return Err(Exit(1).into());
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    name: String,
    /// [ps OPTIONS]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub async fn top(ctx: &Ctx, a: TopArgs) -> Result<()> {
    let client = ctx.client().await?;
    let q = Query::new()
        .set_if(!a.ps_args.is_empty(), "ps_args", a.ps_args.join(" "))
        .render();
    let v: Value = client
        .get_json(&format!("/containers/{}/top{q}", p(&a.name)))
        .await?;
    let mut lines = Vec::new();
    let titles: Vec<&str> = v["Titles"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    lines.push(titles.join("\t"));
    for row in v["Processes"].as_array().into_iter().flatten() {
        let cells: Vec<&str> = row
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        lines.push(cells.join("\t"));
    }
    crate::out(&tabwrite_min(&lines.join("\n"), 20))
}

#[derive(clap::Args, Debug)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    name: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    port: Option<String>,
}

pub async fn port(ctx: &Ctx, a: PortArgs) -> Result<()> {
    let client = ctx.client().await?;
    let c = inspect(&client, &a.name).await?;
    let ports = c["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let host_port = |b: &Value| {
        let ip = b["HostIp"].as_str().unwrap_or("");
        let port = b["HostPort"].as_str().unwrap_or("");
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut out = Vec::new();
    if let Some(want) = &a.port {
        let key = if want.contains('/') {
            want.clone()
        } else {
            format!("{want}/tcp")
        };
        if let Some(Value::Array(bs)) = ports.get(&key) {
            for b in bs {
                out.push(host_port(b));
            }
        }
        if out.is_empty() {
            bail!("Error: No public port '{key}' published for {}", a.name);
        }
    } else {
        for (k, v) in &ports {
            for b in v.as_array().into_iter().flatten() {
                out.push(format!("{k} -> {}", host_port(b)));
            }
        }
        out.sort();
    }
    let mut text = String::new();
    for l in out {
        text.push_str(&l);
        text.push('\n');
    }
    crate::out(&text)
}

#[derive(clap::Args, Debug)]
pub struct NameArg {
    #[arg(value_name = "CONTAINER")]
    name: String,
}

pub async fn diff(ctx: &Ctx, a: NameArg) -> Result<()> {
    let client = ctx.client().await?;
    let v: Value = client
        .get_json(&format!("/containers/{}/changes", p(&a.name)))
        .await?;
    let mut text = String::new();
    for ch in v.as_array().into_iter().flatten() {
        let kind = match ch["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        text.push_str(&format!("{kind} {}\n", ch["Path"].as_str().unwrap_or("")));
    }
    crate::out(&text)
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    output: Option<String>,
    #[arg(value_name = "CONTAINER")]
    name: String,
}

/// Copies a response body to a file or stdout.
pub async fn body_to(
    res: hyper::Response<hyper::body::Incoming>,
    output: Option<&str>,
) -> Result<()> {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .map_err(|e| anyhow!("failed to export container: {path}: {e}"))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    let mut body = res.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            match sink.write_all(&data).await {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Err(Exit(0).into()),
                r => r?,
            }
        }
    }
    sink.flush().await?;
    Ok(())
}

pub async fn export(ctx: &Ctx, a: ExportArgs) -> Result<()> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::GET,
            &format!("/containers/{}/export", p(&a.name)),
            &[],
            empty(),
        )
        .await?;
    body_to(res, a.output.as_deref()).await
}

#[derive(clap::Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long, value_name = "string")]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long, value_name = "list")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long, value_name = "string")]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, value_name = "bool", default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    #[arg(value_name = "CONTAINER")]
    name: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

pub async fn commit(ctx: &Ctx, a: CommitArgs) -> Result<()> {
    let mut q = Query::new().set("container", a.name.as_str());
    if let Some(r) = &a.reference {
        let parsed = crate::reference::Reference::parse(r)?;
        q = q.set("repo", crate::reference::normalize_name(&parsed.name));
        if let Some(t) = &parsed.tag {
            q = q.set("tag", t.as_str());
        }
    }
    if let Some(m) = &a.message {
        q = q.set("comment", m.as_str());
    }
    if let Some(au) = &a.author {
        q = q.set("author", au.as_str());
    }
    for c in &a.change {
        q = q.set("changes", c.as_str());
    }
    if !a.pause {
        q = q.set("pause", "0");
    }
    let client = ctx.client().await?;
    let res = client
        .request(
            Method::POST,
            &format!("/commit{}", q.render()),
            &[("content-type", "application/json".to_owned())],
            bytes("{}"),
        )
        .await?;
    let v: Value = read_json(res).await?;
    crate::out(&format!("{}\n", v["Id"].as_str().unwrap_or("")))
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

/// `POST /containers/prune`; returns (deleted ids, space reclaimed).
pub async fn prune_containers(client: &Client, filters: &[String]) -> Result<(Vec<String>, i64)> {
    let q = match super::filters_json(filters)? {
        Some(f) => Query::new().set("filters", f).render(),
        None => String::new(),
    };
    let res = client
        .request(Method::POST, &format!("/containers/prune{q}"), &[], empty())
        .await?;
    let v: Value = read_json(res).await?;
    let ids = v["ContainersDeleted"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok((ids, v["SpaceReclaimed"].as_i64().unwrap_or(0)))
}

pub async fn prune(ctx: &Ctx, a: PruneArgs) -> Result<()> {
    let client = ctx.client().await?;
    if !a.force
        && !super::confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )?
    {
        return Ok(());
    }
    let (ids, space) = prune_containers(&client, &a.filter).await?;
    let mut text = String::new();
    if !ids.is_empty() {
        text.push_str("Deleted Containers:\n");
        for id in ids {
            text.push_str(&id);
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(space as f64)
    ));
    crate::out(&text)
}
