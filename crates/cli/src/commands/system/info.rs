//! `muelle info`: the client, then the main fields of the daemon's `GET /info`.

use anyhow::Result;

use crate::json::Value;
use crate::template::Template;
use crate::units::bytes_size;
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let client = ctx.client().await?;
    let info: Value = client.get_json("/info").await?;
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        return crate::out(&format!("{}\n", Template::parse(src)?.execute(&info)?));
    }
    let g = |k: &str| info.get(k).map(text).unwrap_or_default();
    let mut out = String::new();
    out.push_str("Client:\n");
    out.push_str(&format!(" Version:    {}\n", env!("CARGO_PKG_VERSION")));
    out.push_str(" Context:    default\n Debug Mode: false\n\nServer:\n");
    out.push_str(&format!(" Containers: {}\n", g("Containers")));
    for (label, key) in [
        ("Running", "ContainersRunning"),
        ("Paused", "ContainersPaused"),
        ("Stopped", "ContainersStopped"),
    ] {
        out.push_str(&format!("  {label}: {}\n", g(key)));
    }
    out.push_str(&format!(" Images: {}\n", g("Images")));
    for (label, key) in [
        ("Server Version", "ServerVersion"),
        ("Storage Driver", "Driver"),
        ("Logging Driver", "LoggingDriver"),
        ("Cgroup Driver", "CgroupDriver"),
        ("Cgroup Version", "CgroupVersion"),
    ] {
        if info.get(key).is_some() {
            out.push_str(&format!(" {label}: {}\n", g(key)));
        }
    }
    if let Some(Value::Object(runtimes)) = info.get("Runtimes") {
        let mut names: Vec<&str> = runtimes.iter().map(|(k, _)| k.as_str()).collect();
        names.sort();
        out.push_str(&format!(" Runtimes: {}\n", names.join(" ")));
    }
    for (label, key) in [
        ("Default Runtime", "DefaultRuntime"),
        ("Kernel Version", "KernelVersion"),
        ("Operating System", "OperatingSystem"),
        ("OSType", "OSType"),
        ("Architecture", "Architecture"),
        ("CPUs", "NCPU"),
    ] {
        if info.get(key).is_some() {
            out.push_str(&format!(" {label}: {}\n", g(key)));
        }
    }
    if let Some(mem) = info.get("MemTotal").and_then(Value::as_i64) {
        out.push_str(&format!(" Total Memory: {}\n", bytes_size(mem as f64)));
    }
    for (label, key) in [
        ("Name", "Name"),
        ("ID", "ID"),
        ("Docker Root Dir", "DockerRootDir"),
        ("Debug Mode", "Debug"),
        ("Experimental", "ExperimentalBuild"),
        ("Live Restore Enabled", "LiveRestoreEnabled"),
    ] {
        if info.get(key).is_some() {
            out.push_str(&format!(" {label}: {}\n", g(key)));
        }
    }
    crate::out(&out)
}
