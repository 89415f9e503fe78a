//! `muelle inspect` (any object: containers, then images, networks, volumes), and the inspect that `image
//! inspect` and `container inspect` share: the daemon's JSON, re-indented but not re-encoded
//! (as docker does), or a `--format` template per object.

use anyhow::{bail, Result};

use crate::client::{encode_path, ApiError, Client};
use crate::json::{self, Value};
use crate::template::Template;
use crate::{Ctx, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
    /// Return JSON for specified type
    #[arg(long = "type", value_name = "string")]
    kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    size: bool,
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let kinds: &[Kind] = match a.kind.as_deref() {
        None | Some("") => &[Kind::Container, Kind::Image, Kind::Network, Kind::Volume],
        Some("image") => &[Kind::Image],
        Some("container") => &[Kind::Container],
        Some("volume") => &[Kind::Volume],
        Some("network") => &[Kind::Network],
        Some(other) => bail!("\"{other}\" is not a valid value for --type"),
    };
    let client = ctx.client().await?;
    inspect_all(&client, &a.names, a.format.as_deref(), kinds, a.size, |n| {
        format!("No such object: {n}")
    })
    .await
}

#[derive(Clone, Copy)]
pub enum Kind {
    Container,
    Image,
    Volume,
    Network,
}

/// Fetches each object (trying each kind in turn, as docker's `inspect` without `--type`);
/// what was found is printed, then every miss as one line, exit 1.
pub async fn inspect_all(
    client: &Client,
    names: &[String],
    format: Option<&str>,
    kinds: &[Kind],
    size: bool,
    missing: impl Fn(&str) -> String,
) -> Result<()> {
    let mut found: Vec<bytes::Bytes> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    'names: for name in names {
        for kind in kinds {
            let path = match kind {
                Kind::Container => format!(
                    "/containers/{}/json{}",
                    encode_path(name),
                    if size { "?size=1" } else { "" }
                ),
                Kind::Image => format!("/images/{}/json", encode_path(name)),
                Kind::Volume => format!("/volumes/{}", encode_path(name)),
                Kind::Network => format!("/networks/{}", encode_path(name)),
            };
            match client.get_bytes(&path).await {
                Ok(b) => {
                    found.push(b);
                    continue 'names;
                }
                Err(e) => match e.downcast_ref::<ApiError>() {
                    Some(api) if api.status == hyper::StatusCode::NOT_FOUND => {}
                    _ => return Err(e),
                },
            }
        }
        errors.push(missing(name));
    }
    match format.filter(|f| !f.is_empty()) {
        None => {
            let mut raw = Vec::from(&b"["[..]);
            for (i, b) in found.iter().enumerate() {
                if i > 0 {
                    raw.push(b',');
                }
                raw.extend_from_slice(b.trim_ascii());
            }
            raw.push(b']');
            let text = json::indent(&raw, "    ")
                .map_err(|e| anyhow::anyhow!("the daemon's answer is not JSON: {e}"))?;
            crate::out(&format!("{text}\n"))?;
        }
        Some(f) => {
            let src = if f.trim() == "json" { "{{json .}}" } else { f };
            let t = Template::parse(src)?;
            let mut text = String::new();
            for b in &found {
                let v: Value = serde_json::from_slice(b)
                    .map_err(|e| anyhow::anyhow!("the daemon's answer is not JSON: {e}"))?;
                text.push_str(&t.execute(&v)?);
                text.push('\n');
            }
            crate::out(&text)?;
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        eprintln!("muelle: Error: {e}");
    }
    Err(Exit(1).into())
}
