//! The docker CLI's context store, shared with it so both CLIs agree on which daemon is
//! current: `CONFIG/contexts/meta/<sha256 of the name>/meta.json` holds a context's name,
//! description and docker endpoint; `currentContext` in `CONFIG/config.json` names the current
//! one. `default` is never stored: it is `-H`/`MUELLE_HOST`/`DOCKER_HOST` or the default socket.
//! Which context a command uses is chosen as docker chooses it: `--context`, then a host given
//! by flag or environment (which means `default`), then `DOCKER_CONTEXT`, then the config file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::client::{parse_host, resolve_host, Host};
use crate::config::ConfigFile;

pub const DEFAULT: &str = "default";
/// What `context ls` says of the `default` context.
pub const DEFAULT_DESCRIPTION: &str = "Current DOCKER_HOST based configuration";

/// A stored context, field for field as the docker CLI writes `meta.json`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Meta {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Metadata", default)]
    pub metadata: Metadata,
    #[serde(rename = "Endpoints", default)]
    pub endpoints: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct Metadata {
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Other tools' metadata (compose, buildx), kept as they wrote it.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `docker` endpoint of a context.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct DockerEndpoint {
    #[serde(rename = "Host", default)]
    pub host: String,
    #[serde(rename = "SkipTLSVerify", default)]
    pub skip_tls_verify: bool,
}

impl Meta {
    pub fn docker(&self) -> DockerEndpoint {
        self.endpoints
            .get("docker")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }
}

/// The store under one config directory.
pub struct Store {
    pub dir: PathBuf,
}

fn name_hash(name: &str) -> String {
    muelle_image::Digest::sha256_of(name.as_bytes())
        .hex()
        .to_owned()
}

/// docker's rule for context names.
pub fn validate_name(name: &str) -> Result<()> {
    if name == DEFAULT {
        bail!("\"{DEFAULT}\" is a reserved context name");
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(*c));
    if !(first_ok && rest_ok) {
        bail!(
            "context name {name:?} is invalid, names are validated against regexp \
             \"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\""
        );
    }
    Ok(())
}

impl Store {
    pub fn new(config_dir: &Path) -> Store {
        Store {
            dir: config_dir.to_owned(),
        }
    }

    pub fn meta_dir(&self, name: &str) -> PathBuf {
        self.dir.join("contexts/meta").join(name_hash(name))
    }

    pub fn tls_dir(&self, name: &str) -> PathBuf {
        self.dir.join("contexts/tls").join(name_hash(name))
    }

    fn meta_file(&self, name: &str) -> PathBuf {
        self.meta_dir(name).join("meta.json")
    }

    pub fn exists(&self, name: &str) -> bool {
        self.meta_file(name).is_file()
    }

    /// A stored context (never `default`), with docker's words when it is not there.
    pub fn load(&self, name: &str) -> Result<Meta> {
        let path = self.meta_file(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "context {name:?}: context not found: open {}: no such file or directory",
                path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// Every stored context; unreadable ones are skipped as docker's store skips them.
    pub fn list(&self) -> Result<Vec<Meta>> {
        let root = self.dir.join("contexts/meta");
        let entries = match fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let Ok(bytes) = fs::read(e.path().join("meta.json")) else {
                continue;
            };
            if let Ok(m) = serde_json::from_slice::<Meta>(&bytes) {
                out.push(m);
            }
        }
        Ok(out)
    }

    pub fn save(&self, meta: &Meta) -> Result<()> {
        let dir = self.meta_dir(&meta.name);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let bytes = serde_json::to_vec(meta)?;
        let tmp = dir.join(format!(".meta.json.{}", std::process::id()));
        fs::write(&tmp, &bytes)
            .and_then(|()| fs::rename(&tmp, dir.join("meta.json")))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                anyhow!("writing {}: {e}", dir.display())
            })
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        for d in [self.meta_dir(name), self.tls_dir(name)] {
            match fs::remove_dir_all(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", d.display())),
            }
        }
        Ok(())
    }

    /// `currentContext` of config.json, `default` when unset.
    pub fn configured(&self) -> Result<String> {
        let cfg = ConfigFile::load(&self.dir)?;
        Ok(cfg
            .current_context()
            .filter(|c| !c.is_empty())
            .unwrap_or(DEFAULT)
            .to_owned())
    }

    /// Sets `currentContext` (removed for `default`, as docker does).
    pub fn set_configured(&self, name: &str) -> Result<()> {
        let mut cfg = ConfigFile::load(&self.dir)?;
        cfg.set_current_context((name != DEFAULT).then_some(name));
        cfg.save()
    }
}

/// The flags and environment that choose the daemon.
pub struct Selection<'a> {
    pub host_flag: Option<&'a str>,
    pub context_flag: Option<&'a str>,
}

/// A host given by the environment overrides the current context, as `DOCKER_HOST` does for
/// docker; muelle's own `MUELLE_HOST` does too.
fn host_from_env(env: &impl Fn(&str) -> Option<String>) -> bool {
    env("MUELLE_HOST").is_some_and(|h| !h.is_empty())
        || env("DOCKER_HOST").is_some_and(|h| h.starts_with("unix://"))
}

/// The name of the context a command uses.
pub fn current_name(
    store: &Store,
    sel: &Selection<'_>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String> {
    if let Some(c) = sel.context_flag.filter(|c| !c.is_empty()) {
        if sel.host_flag.is_some() {
            bail!("conflicting options: cannot specify both --host and --context");
        }
        return Ok(c.to_owned());
    }
    if sel.host_flag.is_some() || host_from_env(env) {
        return Ok(DEFAULT.to_owned());
    }
    if let Some(c) = env("DOCKER_CONTEXT").filter(|c| !c.is_empty()) {
        return Ok(c);
    }
    store.configured()
}

/// The daemon a command talks to, and whether it is the default socket (which alone may be
/// autostarted).
pub fn resolve(
    store: &Store,
    sel: &Selection<'_>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Host, bool)> {
    let name = current_name(store, sel, &env)?;
    if name == DEFAULT {
        return resolve_host(sel.host_flag, env);
    }
    let meta = store
        .load(&name)
        .map_err(|e| anyhow!("unable to resolve docker endpoint: {e:#}"))?;
    let host = meta.docker().host;
    let host = parse_host(&host).with_context(|| format!("context {name:?}"))?;
    Ok((host, false))
}

/// The endpoint of the `default` context: the host muelle would use without one.
pub fn default_endpoint(host_flag: Option<&str>) -> String {
    resolve_host(host_flag, |k| std::env::var(k).ok())
        .map(|(h, _)| h.url)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_hash_as_docker_does() {
        // `docker context create foo` writes contexts/meta/2c26b4…/meta.json.
        assert!(name_hash("foo").starts_with("2c26b46b68ffc68ff99b453c1d30413413422d"));
    }

    #[test]
    fn name_rules() {
        assert!(validate_name("ab").is_ok());
        assert!(validate_name("my-ctx.1+x_y").is_ok());
        for bad in ["x", "a/b", "-ab", "", "default"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_context_is_chosen_as_docker_chooses_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let none = |_: &str| None::<String>;
        let sel = |h: Option<&'static str>, c: Option<&'static str>| Selection {
            host_flag: h,
            context_flag: c,
        };
        assert_eq!(
            current_name(&store, &sel(None, None), &none).unwrap(),
            "default"
        );
        store.set_configured("cfg").unwrap();
        assert_eq!(
            current_name(&store, &sel(None, None), &none).unwrap(),
            "cfg"
        );
        let env_ctx = |k: &str| (k == "DOCKER_CONTEXT").then(|| "envc".to_owned());
        assert_eq!(
            current_name(&store, &sel(None, None), &env_ctx).unwrap(),
            "envc"
        );
        assert_eq!(
            current_name(&store, &sel(None, Some("flag")), &env_ctx).unwrap(),
            "flag"
        );
        let env_host = |k: &str| (k == "DOCKER_HOST").then(|| "unix:///x".to_owned());
        assert_eq!(
            current_name(&store, &sel(None, None), &env_host).unwrap(),
            "default"
        );
        assert!(current_name(&store, &sel(Some("unix:///x"), Some("c")), &none).is_err());
        store.set_configured("default").unwrap();
        assert!(!fs::read_to_string(dir.path().join("config.json"))
            .unwrap()
            .contains("currentContext"));
    }
}
