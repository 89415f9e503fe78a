//! `muelle context ls [-q] [--format]`: the stored contexts and `default`, by name, the
//! current one starred; docker's columns and `json` rows.

use anyhow::Result;

use super::Env;
use crate::contexts::{DEFAULT, DEFAULT_DESCRIPTION};
use crate::format;
use crate::json::Value;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "string")]
    format: Option<String>,
    /// Only show context names
    #[arg(short, long)]
    quiet: bool,
}

const TABLE: &str =
    "table {{.Name}}{{if .Current}} *{{end}}\\t{{.Description}}\\t{{.DockerEndpoint}}\\t{{.Error}}";
const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("DockerEndpoint", "DOCKER ENDPOINT"),
    ("Error", "ERROR"),
    // Empty, so the header line of the default table stars nothing.
    ("Current", ""),
];

pub fn run(env: &Env, a: Args) -> Result<()> {
    let mut rows: Vec<(String, String, String)> = vec![(
        DEFAULT.to_owned(),
        DEFAULT_DESCRIPTION.to_owned(),
        env.default_host.clone(),
    )];
    for m in env.store.list()? {
        let host = m.docker().host;
        rows.push((m.name, m.metadata.description, host));
    }
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(name, description, endpoint)| {
            Value::object([
                ("Current", Value::Bool(name == env.current)),
                ("Description", Value::from(description)),
                ("DockerEndpoint", Value::from(endpoint)),
                ("Error", Value::from("")),
                ("Name", Value::from(name)),
            ])
        })
        .collect();
    let fmt = if a.quiet {
        "{{.Name}}".to_owned()
    } else {
        a.format.unwrap_or_default()
    };
    crate::out(&format::render(&fmt, TABLE, HEADERS, &items)?)
}
