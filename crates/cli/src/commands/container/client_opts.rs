//! The `run`/`create` flags the CLI itself acts on: `--cidfile` (the new container's id
//! written to a file that must not exist yet, and no file left when the create fails),
//! `--label-file` (labels read as env files are, `--label` winning), `--annotation` (sent
//! as `HostConfig.Annotations`, for the OCI runtime), and `--disable-content-trust`
//! (accepted: like docker without a notary, nothing is verified).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{Map, Value};

#[derive(clap::Args, Debug, Default)]
pub struct ClientOpts {
    /// Write the container ID to the file
    #[arg(long, value_name = "string")]
    pub cidfile: Option<String>,
    /// Read in a line delimited file of labels
    #[arg(long, value_name = "list")]
    pub label_file: Vec<String>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long, value_name = "map")]
    pub annotation: Vec<String>,
    /// Skip image verification
    #[arg(long, value_name = "bool", default_missing_value = "true", num_args = 0..=1, require_equals = true)]
    pub disable_content_trust: Option<bool>,
}

/// docker's `parseKeyValueFile` without environment lookups: `#` comments and blank lines
/// skipped, keys without whitespace, a line without `=` dropped (an env file would look it
/// up in the environment; a label file has nothing to look it up in).
fn read_label_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            _ => e.to_string(),
        };
        anyhow!("open {path}: {why}")
    })?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        if k.contains(char::is_whitespace) {
            bail!("variable '{k}' contains whitespaces");
        }
        out.push(line.to_owned());
    }
    Ok(out)
}

/// A `--cidfile` that is there from before the create until the id is written.
pub struct CidFile {
    path: Option<PathBuf>,
}

impl CidFile {
    /// docker's `newCIDFile`: refuses a file that exists.
    pub fn new(path: Option<&str>) -> Result<CidFile> {
        let Some(p) = path.filter(|p| !p.is_empty()) else {
            return Ok(CidFile { path: None });
        };
        if Path::new(p).exists() {
            bail!("container ID file found, make sure the other container isn't running or delete {p}");
        }
        Ok(CidFile {
            path: Some(PathBuf::from(p)),
        })
    }

    /// Writes the id (no newline, as docker does); refuses to overwrite a file that
    /// appeared meanwhile.
    pub fn write(&self, id: &str) -> Result<()> {
        let Some(p) = &self.path else {
            return Ok(());
        };
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .with_context(|| format!("failed to create the container ID file {}", p.display()))?;
        f.write_all(id.as_bytes())
            .with_context(|| format!("failed to write the container ID {id} to file"))
    }
}

impl ClientOpts {
    /// The docker CLI refuses what an older daemon would silently drop.
    pub fn check_api(&self, api_version: &str) -> Result<()> {
        if !self.annotation.is_empty() && crate::client::version_less(api_version, "1.43") {
            bail!(
                "\"--annotation\" requires API version 1.43, but the Docker daemon API version is {api_version}"
            );
        }
        Ok(())
    }

    /// Adds the flags' keys to the create body: labels from files under `--label`'s own,
    /// annotations.
    pub fn apply(&self, labels: &[String], body: &mut Map<String, Value>) -> Result<()> {
        if !self.label_file.is_empty() {
            let mut all: BTreeMap<String, String> = BTreeMap::new();
            for f in &self.label_file {
                for l in read_label_file(f)? {
                    let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                    all.insert(k.to_owned(), v.to_owned());
                }
            }
            for l in labels {
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                all.insert(k.to_owned(), v.to_owned());
            }
            let map: Map<String, Value> = all
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            body.insert("Labels".into(), Value::Object(map));
        }
        if !self.annotation.is_empty() {
            let mut map = Map::new();
            for a in &self.annotation {
                let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
                if k.is_empty() {
                    bail!("invalid argument {a:?} for \"--annotation\" flag: invalid key");
                }
                map.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            if let Some(Value::Object(hc)) = body.get_mut("HostConfig") {
                hc.insert("Annotations".into(), Value::Object(map));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidfile_refuses_an_existing_file_and_writes_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cid");
        let c = CidFile::new(p.to_str()).unwrap();
        c.write("abc").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc");
        assert!(CidFile::new(p.to_str())
            .err()
            .unwrap()
            .to_string()
            .starts_with("container ID file found"));
    }

    #[test]
    fn label_files_then_labels() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("labels");
        std::fs::write(&f, "# c\na=1\n\nb=2\nflag\n").unwrap();
        let o = ClientOpts {
            label_file: vec![f.display().to_string()],
            ..ClientOpts::default()
        };
        let mut body = Map::new();
        o.apply(&["b=3".into()], &mut body).unwrap();
        assert_eq!(
            Value::Object(body)["Labels"],
            serde_json::json!({"a": "1", "b": "3"})
        );
    }
}
