//! `muelle version`: this client, then the daemon's `GET /version`, in docker's layout.

use anyhow::Result;

use crate::client::CLIENT_API_VERSION;
use crate::json::Value;
use crate::template::Template;
use crate::units::{ansic, parse_rfc3339_unix};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
}

/// Go's names for the architectures, as OS/Arch and platforms use them.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// A label padded as docker's tabwriter (min width 20, padding 1) pads it.
fn kv(label: &str, value: &str) -> String {
    let width = label.chars().count() + 1;
    format!(
        "{label}{}{value}\n",
        " ".repeat(20usize.max(width) - label.chars().count())
    )
}

fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
    }
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let server = ctx.client().await;
    let (api_version, server_version) = match server {
        Ok(c) => {
            let v: Result<Value> = c.get_json("/version").await;
            (c.version.clone(), Some(v))
        }
        Err(e) => (CLIENT_API_VERSION.to_owned(), Some(Err(e))),
    };
    let client_info = Value::object([
        ("Version", Value::from(env!("CARGO_PKG_VERSION"))),
        ("ApiVersion", api_version.clone().into()),
        ("DefaultAPIVersion", CLIENT_API_VERSION.into()),
        ("Os", std::env::consts::OS.into()),
        ("Arch", go_arch().into()),
        ("Context", "default".into()),
    ]);
    let (server_value, server_err) = match server_version {
        Some(Ok(v)) => (v, None),
        Some(Err(e)) => (Value::Null, Some(e)),
        None => (Value::Null, None),
    };

    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        let data = Value::object([("Client", client_info), ("Server", server_value)]);
        crate::out(&format!("{}\n", Template::parse(src)?.execute(&data)?))?;
        return server_err.map_or(Ok(()), Err);
    }

    let mut text = String::from("Client:\n");
    text.push_str(&kv(" Version:", env!("CARGO_PKG_VERSION")));
    let downgraded = if api_version != CLIENT_API_VERSION {
        format!(" (downgraded from {CLIENT_API_VERSION})")
    } else {
        String::new()
    };
    text.push_str(&kv(" API version:", &format!("{api_version}{downgraded}")));
    text.push_str(&kv(
        " OS/Arch:",
        &format!("{}/{}", std::env::consts::OS, go_arch()),
    ));
    text.push_str(&kv(" Context:", "default"));
    if server_err.is_none() {
        let v = &server_value;
        let platform = v.get("Platform").map(|p| s(p, "Name")).unwrap_or_default();
        text.push_str(&format!(
            "\nServer:{}\n",
            if platform.is_empty() {
                String::new()
            } else {
                format!(" {platform}")
            }
        ));
        let components = v.get("Components").map(Value::as_array).unwrap_or_default();
        if components.is_empty() {
            // Daemons before API 1.35 have no components: show the top level as the engine.
            text.push_str(" Engine:\n");
            text.push_str(&kv("  Version:", &s(v, "Version")));
            text.push_str(&kv(
                "  API version:",
                &format!(
                    "{} (minimum version {})",
                    s(v, "ApiVersion"),
                    s(v, "MinAPIVersion")
                ),
            ));
        }
        for c in components {
            let name = s(c, "Name");
            let details = c.get("Details").cloned().unwrap_or_default();
            text.push_str(&format!(" {name}:\n"));
            text.push_str(&kv("  Version:", &s(c, "Version")));
            if name == "Engine" {
                let d = |k: &str| s(&details, k);
                text.push_str(&kv(
                    "  API version:",
                    &format!(
                        "{} (minimum version {})",
                        d("ApiVersion"),
                        d("MinAPIVersion")
                    ),
                ));
                let built = d("BuildTime");
                let built = parse_rfc3339_unix(&built).map(ansic).unwrap_or(built);
                for (label, value) in [
                    ("  Go version:", d("GoVersion")),
                    ("  Git commit:", d("GitCommit")),
                    ("  Built:", built),
                ] {
                    if !value.is_empty() {
                        text.push_str(&kv(label, &value));
                    }
                }
                text.push_str(&kv("  OS/Arch:", &format!("{}/{}", d("Os"), d("Arch"))));
                text.push_str(&kv("  Experimental:", &d("Experimental")));
            } else if let Value::Object(fields) = &details {
                let mut keys: Vec<&String> = fields.iter().map(|(k, _)| k).collect();
                keys.sort();
                for k in keys {
                    text.push_str(&kv(&format!("  {k}:"), &s(&details, k)));
                }
            }
        }
    }
    crate::out(&text)?;
    server_err.map_or(Ok(()), Err)
}
