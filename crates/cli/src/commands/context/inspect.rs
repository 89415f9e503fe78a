//! `muelle context inspect [-f FORMAT] [NAME...]`: docker's document for each context (the
//! current one when none is named): its metadata and endpoints, no TLS material, and where
//! it is stored (`<IN MEMORY>` for `default`).

use anyhow::Result;
use serde::Serialize;

use super::{fail, Env};
use crate::contexts::{DockerEndpoint, Meta, Metadata, DEFAULT};
use crate::json::{self, Value};
use crate::template::Template;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short, long, value_name = "string")]
    format: Option<String>,
    #[arg(value_name = "CONTEXT")]
    names: Vec<String>,
}

#[derive(Serialize)]
struct Storage {
    #[serde(rename = "MetadataPath")]
    metadata_path: String,
    #[serde(rename = "TLSPath")]
    tls_path: String,
}

#[derive(Serialize)]
struct Document {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Metadata")]
    metadata: Metadata,
    #[serde(rename = "Endpoints")]
    endpoints: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(rename = "TLSMaterial")]
    tls_material: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "Storage")]
    storage: Storage,
}

fn document(env: &Env, name: &str) -> Result<Document> {
    if name == DEFAULT {
        let ep = DockerEndpoint {
            host: env.default_host.clone(),
            skip_tls_verify: false,
        };
        return Ok(Document {
            name: DEFAULT.to_owned(),
            metadata: Metadata::default(),
            endpoints: [("docker".to_owned(), serde_json::to_value(ep)?)]
                .into_iter()
                .collect(),
            tls_material: Default::default(),
            storage: Storage {
                metadata_path: "<IN MEMORY>".to_owned(),
                tls_path: "<IN MEMORY>".to_owned(),
            },
        });
    }
    let Meta {
        name,
        metadata,
        endpoints,
    } = env.store.load(name)?;
    Ok(Document {
        storage: Storage {
            metadata_path: env.store.meta_dir(&name).display().to_string(),
            tls_path: env.store.tls_dir(&name).display().to_string(),
        },
        name,
        metadata,
        endpoints,
        tls_material: Default::default(),
    })
}

pub fn run(env: &Env, a: Args) -> Result<()> {
    let names = if a.names.is_empty() {
        vec![env.current.clone()]
    } else {
        a.names.clone()
    };
    let mut docs = Vec::new();
    for n in &names {
        docs.push(document(env, n).map_err(|e| fail(format!("{e:#}")))?);
    }
    match a.format.as_deref().filter(|f| !f.is_empty()) {
        None => {
            let compact = json::go_escape(&serde_json::to_string(&docs)?);
            let text = json::indent(compact.as_bytes(), "    ").map_err(anyhow::Error::msg)?;
            crate::out(&format!("{text}\n"))
        }
        Some(f) => {
            let src = if f.trim() == "json" { "{{json .}}" } else { f };
            let t = Template::parse(src)?;
            let mut out = String::new();
            for d in &docs {
                let v: Value = serde_json::from_value(serde_json::to_value(d)?)?;
                out.push_str(&t.execute(&v)?);
                out.push('\n');
            }
            crate::out(&out)
        }
    }
}
