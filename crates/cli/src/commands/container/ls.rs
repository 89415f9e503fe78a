//! `muelle ps` / `muelle container ls`: docker 20.10's columns, `{{json .}}` keys (sorted,
//! as its map marshalling gives them) and truncation rules.

use anyhow::Result;
use serde::Deserialize;

use crate::client::Query;
use crate::commands::filters::filters_json;
use crate::commands::stringid::short_id;
use crate::format;
use crate::json::Value;
use crate::reference::familiar;
use crate::units::{go_time_string, human_size_prec, since};
use crate::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Pretty-print containers using a Go template, 'table', 'table TEMPLATE' or 'json'
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

const TABLE: &str = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";
const TABLE_SIZE: &str = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}\\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Networks", "NETWORKS"),
];

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "PascalCase", default)]
pub struct Port {
    #[serde(rename = "IP")]
    pub ip: String,
    pub private_port: u16,
    pub public_port: u16,
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct MountPoint {
    name: String,
    source: String,
    driver: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Summary {
    id: String,
    names: Option<Vec<String>>,
    image: String,
    #[serde(rename = "ImageID")]
    image_id: String,
    command: String,
    created: i64,
    ports: Option<Vec<Port>>,
    size_rw: i64,
    size_root_fs: i64,
    labels: Option<std::collections::BTreeMap<String, String>>,
    state: String,
    status: String,
    network_settings: Option<NetSettings>,
    mounts: Option<Vec<MountPoint>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct NetSettings {
    networks: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

pub async fn run(ctx: &Ctx, a: Args) -> Result<()> {
    let fmt = if a.quiet {
        "{{.ID}}".to_owned()
    } else {
        a.format.clone().unwrap_or_default()
    };
    // docker asks for sizes when the template shows them (`{{json .}}` does).
    let json_all = {
        let f = fmt.replace(' ', "");
        f == "json" || f.contains("{{json.}}")
    };
    let size = a.size || (!a.quiet && (fmt.contains(".Size") || json_all));
    let limit = if a.latest { 1 } else { a.last };
    let mut q = Query::new()
        .set_if(a.all, "all", "1")
        .set_if(limit > 0, "limit", limit.to_string())
        .set_if(size, "size", "1");
    if let Some(f) = filters_json(&a.filter)? {
        q = q.set("filters", f);
    }
    let client = ctx.client().await?;
    let list: Vec<Summary> = client
        .get_json(&format!("/containers/json{}", q.render()))
        .await?;
    let rows: Vec<Value> = list.iter().map(|c| row(c, !a.no_trunc)).collect();
    let default = if a.size { TABLE_SIZE } else { TABLE };
    crate::out(&format::render(&fmt, default, HEADERS, &rows)?)
}

/// docker's `formatter.Ellipsis` for ASCII-width text: `maxlen-1` characters and `…`.
pub fn ellipsis(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote` for the printable text a command line is.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn image(c: &Summary, trunc: bool) -> String {
    if c.image.is_empty() {
        return "<no image>".into();
    }
    if trunc {
        if short_id(&c.image_id) == short_id(&c.image) {
            return short_id(&c.image).to_owned();
        }
        // A digest reference loses its digest; a tagged one is shown familiar.
        let named = c.image.split('@').next().unwrap_or(&c.image);
        return familiar(named).to_owned();
    }
    c.image.clone()
}

/// `api.DisplayablePorts`: ranges grouped per IP and protocol, unequal mappings listed last.
pub fn displayable_ports(ports: &[Port]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|i, j| {
        (i.private_port, &i.ip, i.public_port, &i.kind).cmp(&(
            j.private_port,
            &j.ip,
            j.public_port,
            &j.kind,
        ))
    });
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    let form = |key: &str, first: u16, last: u16| {
        let (ip, kind) = match key.split_once('/') {
            Some((ip, k)) => (ip, k),
            None => ("", key),
        };
        let mut g = first.to_string();
        if first != last {
            g = format!("{g}-{last}");
        }
        if !ip.is_empty() {
            g = format!("{ip}:{g}->{g}");
        }
        format!("{g}/{kind}")
    };
    for p in &ports {
        let cur = p.private_port;
        let mut key = p.kind.clone();
        if !p.ip.is_empty() {
            if p.public_port != cur {
                let host = if p.ip.contains(':') {
                    format!("[{}]:{}", p.ip, p.public_port)
                } else {
                    format!("{}:{}", p.ip, p.public_port)
                };
                host_mappings.push(format!("{host}->{}/{}", p.private_port, p.kind));
                continue;
            }
            key = format!("{}/{}", p.ip, p.kind);
        }
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, cur, cur)),
            Some(g) => {
                if cur == g.2.wrapping_add(1) {
                    g.2 = cur;
                } else {
                    result.push(form(&g.0, g.1, g.2));
                    g.1 = cur;
                    g.2 = cur;
                }
            }
        }
    }
    for g in &groups {
        result.push(form(&g.0, g.1, g.2));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn row(c: &Summary, trunc: bool) -> Value {
    let names: Vec<String> = c
        .names
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|n| n.strip_prefix('/').unwrap_or(n).to_owned())
        .collect();
    let names = if trunc {
        names
            .iter()
            .find(|n| !n.contains('/'))
            .map(|n| vec![n.clone()])
            .unwrap_or(names)
    } else {
        names
    };
    let command = if trunc {
        ellipsis(&c.command, 20)
    } else {
        c.command.clone()
    };
    let labels: Vec<String> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mounts: Vec<String> = c
        .mounts
        .iter()
        .flatten()
        .map(|m| {
            let n = if m.name.is_empty() {
                &m.source
            } else {
                &m.name
            };
            if trunc {
                ellipsis(n, 15)
            } else {
                n.clone()
            }
        })
        .collect();
    let local = c
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.driver == "local")
        .count();
    let networks: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    let srw = human_size_prec(c.size_rw as f64, 3);
    let size = if c.size_root_fs > 0 {
        format!(
            "{srw} (virtual {})",
            human_size_prec(c.size_root_fs as f64, 3)
        )
    } else {
        srw
    };
    let id = if trunc { short_id(&c.id) } else { &c.id };
    Value::object([
        ("Command", Value::from(go_quote(&command))),
        ("CreatedAt", go_time_string(c.created).into()),
        ("ID", id.into()),
        ("Image", image(c, trunc).into()),
        ("Labels", labels.join(",").into()),
        ("LocalVolumes", local.to_string().into()),
        ("Mounts", mounts.join(",").into()),
        ("Names", names.join(",").into()),
        ("Networks", networks.join(",").into()),
        (
            "Ports",
            displayable_ports(c.ports.as_deref().unwrap_or_default()).into(),
        ),
        ("RunningFor", since(c.created).into()),
        ("Size", size.into()),
        ("State", c.state.as_str().into()),
        ("Status", c.status.as_str().into()),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn port(ip: &str, private: u16, public: u16) -> Port {
        Port {
            ip: ip.into(),
            private_port: private,
            public_port: public,
            kind: "tcp".into(),
        }
    }

    #[test]
    fn ports_like_docker() {
        assert_eq!(displayable_ports(&[]), "");
        assert_eq!(displayable_ports(&[port("", 80, 0)]), "80/tcp");
        assert_eq!(
            displayable_ports(&[port("0.0.0.0", 80, 8080), port("", 81, 0), port("", 82, 0)]),
            "81-82/tcp, 0.0.0.0:8080->80/tcp"
        );
        assert_eq!(
            displayable_ports(&[port("0.0.0.0", 80, 80)]),
            "0.0.0.0:80->80/tcp"
        );
    }

    #[test]
    fn command_quoting() {
        assert_eq!(
            go_quote(&ellipsis("echo 'a very long command line here'", 20)),
            "\"echo 'a very long c…\""
        );
        assert_eq!(go_quote("sh -c \"x\""), "\"sh -c \\\"x\\\"\"");
    }
}
