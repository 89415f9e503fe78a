//! `muelle stats`: containers' resource use from `GET /containers/{id}/stats`, computed and
//! printed as the docker CLI does (CPU % from the delta to `precpu_stats`, memory without
//! the inactive file cache, block and network I/O totals). `--no-stream` prints one table;
//! otherwise a table every half second: redrawn in place on a terminal, repeated when piped.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Result};
use hyper::Method;
use muelle_types::container::{MemoryStats, StatsResponse};
use serde::Deserialize;

use crate::client::{empty, encode_path, Client, JsonStream};
use crate::commands::stringid::short_id;
use crate::format;
use crate::json::Value;
use crate::units::{bytes_size, human_size_prec};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    names: Vec<String>,
}

const TABLE: &str = "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}";
const HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("ID", "CONTAINER ID"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// One container's figures, as the docker CLI's `StatsEntry`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub container: String,
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids: u64,
    /// The stream failed or ended: the figures are shown as docker shows invalid ones.
    pub invalid: bool,
}

/// The docker CLI's computations over one sample.
pub fn entry(container: &str, v: &StatsResponse) -> Entry {
    let cpu_delta =
        v.cpu_stats.cpu_usage.total_usage as f64 - v.precpu_stats.cpu_usage.total_usage as f64;
    let system_delta = v.cpu_stats.system_cpu_usage as f64 - v.precpu_stats.system_cpu_usage as f64;
    let mut online = v.cpu_stats.online_cpus as f64;
    if online == 0.0 {
        online = v.cpu_stats.cpu_usage.percpu_usage.len() as f64;
    }
    let cpu_percentage = if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    };
    let memory = mem_no_cache(&v.memory_stats);
    let memory_limit = v.memory_stats.limit as f64;
    let memory_percentage = if memory_limit != 0.0 {
        memory / memory_limit * 100.0
    } else {
        0.0
    };
    let (mut block_read, mut block_write) = (0u64, 0u64);
    for e in v.blkio_stats.io_service_bytes_recursive.iter().flatten() {
        match e.op.to_lowercase().as_str() {
            "read" => block_read = block_read.wrapping_add(e.value),
            "write" => block_write = block_write.wrapping_add(e.value),
            _ => {}
        }
    }
    let (mut rx, mut tx) = (0f64, 0f64);
    for n in v.networks.iter().flat_map(BTreeMap::values) {
        rx += n.rx_bytes as f64;
        tx += n.tx_bytes as f64;
    }
    Entry {
        container: container.to_string(),
        name: v.name.clone(),
        id: v.id.clone(),
        cpu_percentage,
        memory,
        memory_limit,
        memory_percentage,
        network_rx: rx,
        network_tx: tx,
        block_read: block_read as f64,
        block_write: block_write as f64,
        pids: v.pids_stats.current,
        invalid: false,
    }
}

/// Usage without the inactive page cache: v1's `total_inactive_file`, v2's `inactive_file`.
fn mem_no_cache(m: &MemoryStats) -> f64 {
    if let Some(v) = m.stats.get("total_inactive_file") {
        if *v < m.usage {
            return (m.usage - v) as f64;
        }
    } else if let Some(v) = m.stats.get("inactive_file") {
        if *v < m.usage {
            return (m.usage - v) as f64;
        }
    }
    m.usage as f64
}

/// The template fields of one row (`{{json .}}` shows them in this, sorted, order).
pub fn row(e: &Entry, trunc: bool) -> Value {
    let dash = || Value::from("--");
    let id = if trunc {
        short_id(&e.id).to_string()
    } else {
        e.id.clone()
    };
    let name = match e.name.get(1..) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "--".to_string(),
    };
    let io = |a: f64, b: f64| {
        Value::from(format!(
            "{} / {}",
            human_size_prec(a, 3),
            human_size_prec(b, 3)
        ))
    };
    let (cpu, mem, mem_pct, net, block, pids) = if e.invalid {
        (
            Value::from("0.00%"),
            Value::from(format!("{} / {}", bytes_size(0.0), bytes_size(0.0))),
            dash(),
            dash(),
            dash(),
            dash(),
        )
    } else {
        (
            Value::from(format!("{:.2}%", e.cpu_percentage)),
            Value::from(format!(
                "{} / {}",
                bytes_size(e.memory),
                bytes_size(e.memory_limit)
            )),
            Value::from(format!("{:.2}%", e.memory_percentage)),
            io(e.network_rx, e.network_tx),
            io(e.block_read, e.block_write),
            Value::from(e.pids.to_string()),
        )
    };
    Value::object([
        ("BlockIO", block),
        ("CPUPerc", cpu),
        ("Container", Value::from(e.container.clone())),
        ("ID", Value::from(id)),
        ("MemPerc", mem_pct),
        ("MemUsage", mem),
        ("Name", Value::from(name)),
        ("NetIO", net),
        ("PIDs", pids),
    ])
}

fn render(a: &Args, entries: &[Entry]) -> Result<String> {
    let rows: Vec<Value> = entries.iter().map(|e| row(e, !a.no_trunc)).collect();
    Ok(format::render(
        a.format.as_deref().unwrap_or(""),
        TABLE,
        HEADERS,
        &rows,
    )?)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listed {
    id: String,
}

/// The containers `stats` shows without names: running ones, or all with `-a`.
async fn listed(client: &Client, all: bool) -> Result<Vec<String>> {
    let q = if all { "?all=1" } else { "" };
    let list: Vec<Listed> = client.get_json(&format!("/containers/json{q}")).await?;
    Ok(list.into_iter().map(|c| c.id).collect())
}

async fn open(client: &Client, name: &str, stream: bool) -> Result<JsonStream> {
    let path = format!(
        "/containers/{}/stats?stream={}",
        encode_path(name),
        if stream { 1 } else { 0 }
    );
    let res = client.request(Method::GET, &path, &[], empty()).await?;
    Ok(JsonStream::new(res))
}

/// One sample per container (`stream=0`: the daemon primes the CPU counters first).
async fn once(client: &Client, name: &str) -> Result<Entry> {
    let mut s = open(client, name, false).await?;
    match s.next::<StatsResponse>().await? {
        Some(v) => Ok(entry(name, &v)),
        None => bail!("no stats for {name}"),
    }
}

type Shared = Arc<Mutex<Vec<(Entry, Option<String>)>>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Vec<(Entry, Option<String>)>> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Follows one container's stream into the shared table; the first sample (or the first
/// error) is signalled on `first`.
fn collect(client: Client, name: String, shared: Shared, first: tokio::sync::mpsc::Sender<()>) {
    tokio::spawn(async move {
        let set = |e: Entry, err: Option<String>| {
            let mut v = lock(&shared);
            if let Some(slot) = v.iter_mut().find(|(x, _)| x.container == name) {
                *slot = (e, err);
            }
        };
        let mut stream = match open(&client, &name, true).await {
            Ok(s) => s,
            Err(e) => {
                set(invalid(&name), Some(e.to_string()));
                let _ = first.send(()).await;
                return;
            }
        };
        let mut told = false;
        loop {
            match stream.next::<StatsResponse>().await {
                Ok(Some(v)) => set(entry(&name, &v), None),
                Ok(None) => {
                    set(invalid(&name), None);
                    break;
                }
                Err(e) => {
                    set(invalid(&name), Some(e.to_string()));
                    break;
                }
            }
            if !told {
                told = true;
                let _ = first.send(()).await;
            }
        }
        if !told {
            let _ = first.send(()).await;
        }
    });
}

fn invalid(name: &str) -> Entry {
    Entry {
        container: name.to_string(),
        invalid: true,
        ..Entry::default()
    }
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    // A bad template fails before anything is asked.
    render(&a, &[])?;
    if a.no_stream {
        let names = if a.names.is_empty() {
            listed(&client, a.all).await?
        } else {
            a.names.clone()
        };
        // All asked at once: each answer takes the daemon's priming second.
        let tasks: Vec<_> = names
            .iter()
            .map(|n| {
                let (client, n) = (client.clone(), n.clone());
                tokio::spawn(async move { once(&client, &n).await })
            })
            .collect();
        let mut entries = Vec::new();
        let mut errs = Vec::new();
        for t in tasks {
            match t.await? {
                Ok(e) => entries.push(e),
                Err(e) => errs.push(e.to_string()),
            }
        }
        if !errs.is_empty() {
            bail!("{}", errs.join("\n"));
        }
        return crate::out(&render(&a, &entries)?);
    }
    stream(&client, &a).await
}

async fn stream(client: &Client, a: &Args) -> Result<()> {
    let shared: Shared = Arc::new(Mutex::new(Vec::new()));
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let add = |name: &str| {
        let mut v = lock(&shared);
        if v.iter().any(|(e, _)| e.container == name) {
            return false;
        }
        v.push((
            Entry {
                container: name.to_string(),
                ..Entry::default()
            },
            None,
        ));
        true
    };
    let named = !a.names.is_empty();
    if named {
        let mut n = 0;
        for name in &a.names {
            if add(name) {
                collect(client.clone(), name.clone(), shared.clone(), tx.clone());
                n += 1;
            }
        }
        for _ in 0..n {
            rx.recv().await;
        }
        let errs: Vec<String> = lock(&shared)
            .iter()
            .filter_map(|(_, e)| e.clone())
            .collect();
        if !errs.is_empty() {
            bail!("{}", errs.join("\n"));
        }
    }
    let tty = std::io::stdout().is_terminal();
    if tty {
        crate::out("\x1b[2J")?;
    }
    let mut ticks = tokio::time::interval(Duration::from_millis(500));
    let mut n: u64 = 0;
    loop {
        ticks.tick().await;
        if !named && n.is_multiple_of(2) {
            let now = listed(client, a.all).await?;
            lock(&shared).retain(|(e, _)| now.contains(&e.container));
            for id in now {
                if add(&id) {
                    collect(client.clone(), id, shared.clone(), tx.clone());
                }
            }
        }
        n += 1;
        let entries: Vec<Entry> = lock(&shared).iter().map(|(e, _)| e.clone()).collect();
        let table = render(a, &entries)?;
        if tty {
            let mut screen = String::from("\x1b[H");
            for line in table.lines() {
                screen.push_str(line);
                screen.push_str("\x1b[K\n");
            }
            screen.push_str("\x1b[J");
            crate::out(&screen)?;
        } else {
            crate::out(&table)?;
        }
        if named && entries.iter().all(|e| e.invalid) {
            return Ok(());
        }
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
