//! Credentials from Docker's client config (`~/.docker/config.json`), read and written in the
//! same format so `docker login` and `muelle login` share one file.
//!
//! ```json
//! {"auths": {"registry.example.com": {"auth": "<base64 user:password>"},
//!            "https://index.docker.io/v1/": {"auth": "...", "identitytoken": "..."}},
//!  "credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}
//! ```
//!
//! Keys under `auths` come in several historical spellings (`host`, `https://host`,
//! `https://host/v1/`), so lookups compare the host part only. Credential helpers are not run:
//! a host whose credentials live in one gets [`RegistryError::CredentialHelperUnsupported`]
//! when the registry insists on authentication.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::auth::Credentials;
use super::error::{RegistryError, Result};

/// Where the client gets credentials from.
#[derive(Debug, Clone, Default)]
pub enum CredentialSource {
    /// Never authenticate (anonymous tokens are still fetched when a registry asks).
    Anonymous,
    /// Docker's config.json at this path, re-read whenever credentials are needed so a login
    /// in another process is seen.
    DockerConfig(PathBuf),
    /// Fixed credentials per registry host.
    Static(HashMap<String, Credentials>),
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; anonymous if neither
    /// variable is set.
    #[default]
    DefaultDockerConfig,
}

impl CredentialSource {
    pub(crate) fn config_path(&self) -> Option<PathBuf> {
        match self {
            CredentialSource::DockerConfig(p) => Some(p.clone()),
            CredentialSource::DefaultDockerConfig => default_config_path(),
            _ => None,
        }
    }

    pub(crate) fn lookup(&self, host: &str) -> Result<Lookup> {
        match self {
            CredentialSource::Anonymous => Ok(Lookup::None),
            CredentialSource::Static(map) => Ok(map
                .iter()
                .find(|(k, _)| normalize_key(k) == normalize_key(host))
                .map_or(Lookup::None, |(_, c)| Lookup::Found(c.clone()))),
            CredentialSource::DockerConfig(_) | CredentialSource::DefaultDockerConfig => {
                match self.config_path() {
                    Some(p) => lookup(&p, host),
                    None => Ok(Lookup::None),
                }
            }
        }
    }
}

/// The default config path, following the docker CLI's `DOCKER_CONFIG` convention.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// What config.json says about a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(Credentials),
    None,
    /// The credentials are kept by this helper (`docker-credential-<name>`).
    Helper(String),
}

/// The key Docker uses for a host in `auths`: Docker Hub has its historical index URL.
pub fn config_key(host: &str) -> String {
    if normalize_key(host) == "index.docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    }
}

/// Host part of an `auths` key, with Docker Hub's aliases folded into one.
fn normalize_key(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match k.as_str() {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "index.docker.io".to_string(),
        _ => k,
    }
}

fn read_config(path: &Path) -> Result<Option<Map<String, Value>>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::ConfigIo {
                path: path.to_path_buf(),
                what: "reading",
                source,
            })
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(invalid(path, "not a JSON object".into())),
        Err(e) => Err(invalid(path, e.to_string())),
    }
}

fn invalid(path: &Path, reason: String) -> RegistryError {
    RegistryError::ConfigInvalid {
        path: path.to_path_buf(),
        reason,
    }
}

/// Looks `host` up in the config at `path`. A missing file means no credentials.
pub fn lookup(path: &Path, host: &str) -> Result<Lookup> {
    let Some(cfg) = read_config(path)? else {
        return Ok(Lookup::None);
    };
    let want = normalize_key(host);
    if let Some(Value::Object(auths)) = cfg.get("auths") {
        for (key, entry) in auths {
            if normalize_key(key) != want {
                continue;
            }
            if let Some(c) = entry_credentials(path, key, entry)? {
                return Ok(Lookup::Found(c));
            }
        }
    }
    if let Some(Value::Object(helpers)) = cfg.get("credHelpers") {
        for (key, helper) in helpers {
            if normalize_key(key) == want {
                if let Some(h) = helper.as_str() {
                    return Ok(Lookup::Helper(h.to_string()));
                }
            }
        }
    }
    if let Some(h) = cfg.get("credsStore").and_then(Value::as_str) {
        if !h.is_empty() {
            return Ok(Lookup::Helper(h.to_string()));
        }
    }
    Ok(Lookup::None)
}

fn entry_credentials(path: &Path, key: &str, entry: &Value) -> Result<Option<Credentials>> {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (mut username, mut password) = (
        field("username").map(String::from),
        field("password").map(String::from),
    );
    if let Some(auth) = field("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| invalid(path, format!("auths.{key}.auth: not base64: {e}")))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| invalid(path, format!("auths.{key}.auth: not UTF-8")))?;
        let (u, p) = decoded
            .split_once(':')
            .ok_or_else(|| invalid(path, format!("auths.{key}.auth: not user:password")))?;
        username = Some(u.to_string());
        password = Some(p.to_string());
    }
    if let Some(token) = field("identitytoken") {
        return Ok(Some(Credentials::IdentityToken {
            username: username.unwrap_or_default(),
            token: token.to_string(),
        }));
    }
    Ok(match (username, password) {
        (Some(username), Some(password)) => Some(Credentials::Basic { username, password }),
        _ => None,
    })
}

/// Records Basic credentials for `host`, keeping everything else in the file as it was.
/// Refuses when a credential store is configured, since Docker would put them there and a
/// copy in the file would shadow it.
pub fn store(path: &Path, host: &str, username: &str, password: &str) -> Result<()> {
    let mut cfg = read_config(path)?.unwrap_or_default();
    if let Lookup::Helper(helper) = lookup(path, host)? {
        return Err(RegistryError::CredentialHelperUnsupported {
            host: host.to_string(),
            helper,
        });
    }
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(invalid(path, "\"auths\" is not an object".into()));
    };
    let want = normalize_key(host);
    auths.retain(|k, _| normalize_key(k) != want);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut entry = Map::new();
    entry.insert("auth".into(), Value::String(auth));
    auths.insert(config_key(host), Value::Object(entry));
    write_config(path, &cfg)
}

/// Removes the credentials for `host`; returns whether there were any.
pub fn erase(path: &Path, host: &str) -> Result<bool> {
    let Some(mut cfg) = read_config(path)? else {
        return Ok(false);
    };
    let want = normalize_key(host);
    let removed = match cfg.get_mut("auths") {
        Some(Value::Object(auths)) => {
            let before = auths.len();
            auths.retain(|k, _| normalize_key(k) != want);
            auths.len() != before
        }
        _ => false,
    };
    if removed {
        write_config(path, &cfg)?;
    }
    Ok(removed)
}

/// Temp file (0600, since it holds secrets) + fsync + rename, so a crash leaves either the old
/// or the new file and never a truncated one.
fn write_config(path: &Path, cfg: &Map<String, Value>) -> Result<()> {
    let io_err = |what, source| RegistryError::ConfigIo {
        path: path.to_path_buf(),
        what,
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(|e| io_err("creating its directory", e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err("creating its directory", e))?;
    }
    let mut body =
        serde_json::to_vec_pretty(cfg).map_err(|e| io_err("encoding", io::Error::other(e)))?;
    body.push(b'\n');
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config.json");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| io_err("writing", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lookup_erase_round_trip() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("sub/config.json");
        assert_eq!(lookup(&p, "r.example").expect("lookup"), Lookup::None);
        store(&p, "r.example:5000", "me", "pa:ss").expect("store");
        let mode = fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            lookup(&p, "r.example:5000").expect("lookup"),
            Lookup::Found(Credentials::basic("me", "pa:ss"))
        );
        assert_eq!(lookup(&p, "r.example").expect("lookup"), Lookup::None);
        store(&p, "docker.io", "hub", "pw").expect("store hub");
        let raw: Value = serde_json::from_slice(&fs::read(&p).expect("read")).expect("json");
        assert!(raw["auths"]["https://index.docker.io/v1/"]["auth"].is_string());
        assert_eq!(
            lookup(&p, "registry-1.docker.io").expect("lookup"),
            Lookup::Found(Credentials::basic("hub", "pw"))
        );
        assert!(erase(&p, "r.example:5000").expect("erase"));
        assert!(!erase(&p, "r.example:5000").expect("erase again"));
        assert_eq!(lookup(&p, "r.example:5000").expect("lookup"), Lookup::None);
    }

    #[test]
    fn keeps_other_fields_and_reads_old_spellings() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("config.json");
        fs::write(
            &p,
            r#"{"auths":{"https://q.example/v1/":{"auth":"dTpw"},"t.example":{"auth":"dTo=","identitytoken":"rt"}},"psFormat":"x"}"#,
        )
        .expect("write");
        assert_eq!(
            lookup(&p, "q.example").expect("lookup"),
            Lookup::Found(Credentials::basic("u", "p"))
        );
        assert_eq!(
            lookup(&p, "t.example").expect("lookup"),
            Lookup::Found(Credentials::IdentityToken {
                username: "u".into(),
                token: "rt".into()
            })
        );
        store(&p, "n.example", "a", "b").expect("store");
        let raw: Value = serde_json::from_slice(&fs::read(&p).expect("read")).expect("json");
        assert_eq!(raw["psFormat"], "x");
        assert!(raw["auths"]["https://q.example/v1/"].is_object());
    }

    #[test]
    fn helpers_are_reported_and_bad_files_named() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("config.json");
        fs::write(
            &p,
            r#"{"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}"#,
        )
        .expect("write");
        assert_eq!(
            lookup(&p, "gcr.io").expect("lookup"),
            Lookup::Helper("gcloud".into())
        );
        assert_eq!(
            lookup(&p, "x.example").expect("lookup"),
            Lookup::Helper("desktop".into())
        );
        let err = store(&p, "x.example", "a", "b").expect_err("helper");
        assert!(
            err.to_string().contains("docker-credential-desktop"),
            "{err}"
        );
        fs::write(&p, r#"{"auths":{"h":{"auth":"!!"}}}"#).expect("write");
        let err = lookup(&p, "h").expect_err("bad base64");
        assert!(err.to_string().contains(&p.display().to_string()), "{err}");
    }
}
