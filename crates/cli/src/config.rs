//! The docker CLI's config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//! registry credentials as base64 `user:password` under `auths`, or a credential helper named
//! by `credsStore`/`credHelpers`. Sharing the file means `docker login` and `muelle login`
//! see each other's credentials. Fields muelle does not know are kept as they are.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

/// What the daemon takes in `X-Registry-Auth` and `POST /auth`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AuthConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
}

impl AuthConfig {
    /// The `X-Registry-Auth` value: URL-safe base64 of the JSON, `e30=` (`{}`) when anonymous,
    /// which is what docker sends too (old daemons insist on the header for push).
    pub fn header(&self) -> String {
        URL_SAFE.encode(serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec()))
    }
}

pub fn default_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(d) = flag {
        return d.to_owned();
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker")
}

pub struct ConfigFile {
    pub path: PathBuf,
    doc: Map<String, Value>,
}

/// `https://host/v1/` and `host` name the same registry (docker's `ConvertToHostname`).
fn hostname(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

impl ConfigFile {
    pub fn load(dir: &Path) -> Result<ConfigFile> {
        let path = dir.join("config.json");
        let doc = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => bail!("{}: not a JSON object", path.display()),
                Err(e) => bail!("{}: {e}", path.display()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(ConfigFile { path, doc })
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The registries `auths` holds credentials for.
    pub fn auth_keys(&self) -> Vec<String> {
        self.auths()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The key under `auths` that names `server`, exact match first.
    fn find_key(&self, server: &str) -> Option<String> {
        let auths = self.auths()?;
        if auths.contains_key(server) {
            return Some(server.to_owned());
        }
        let want = hostname(server);
        auths.keys().find(|k| hostname(k) == want).cloned()
    }

    fn helper_for(&self, server: &str) -> Option<String> {
        let helpers = self.doc.get("credHelpers").and_then(Value::as_object);
        if let Some(h) = helpers
            .and_then(|h| h.get(hostname(server)))
            .and_then(Value::as_str)
        {
            return Some(h.to_owned());
        }
        self.doc
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Credentials for a registry (its auth key: `https://index.docker.io/v1/` or `host:port`).
    pub fn get_auth(&self, server: &str) -> Result<AuthConfig> {
        if let Some(helper) = self.helper_for(server) {
            if let Some(a) = helper_get(&helper, server)? {
                return Ok(a);
            }
        }
        let Some(key) = self.find_key(server) else {
            return Ok(AuthConfig {
                serveraddress: server.to_owned(),
                ..Default::default()
            });
        };
        let entry = self.auths().and_then(|a| a.get(&key));
        let field = |name: &str| {
            entry
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let mut auth = AuthConfig {
            serveraddress: server.to_owned(),
            identitytoken: field("identitytoken"),
            username: field("username"),
            password: field("password"),
        };
        let encoded = field("auth");
        if !encoded.is_empty() {
            let decoded = STANDARD
                .decode(encoded.trim())
                .map_err(|e| anyhow!("{}: auths[{key:?}].auth: {e}", self.path.display()))?;
            let text = String::from_utf8(decoded).map_err(|_| {
                anyhow!("{}: auths[{key:?}].auth is not UTF-8", self.path.display())
            })?;
            let (user, pass) = text.split_once(':').ok_or_else(|| {
                anyhow!("{}: auths[{key:?}].auth has no ':'", self.path.display())
            })?;
            auth.username = user.to_owned();
            auth.password = pass.trim_end_matches('\0').to_owned();
        }
        Ok(auth)
    }

    pub fn set_auth(&mut self, server: &str, auth: &AuthConfig) {
        let mut entry = Map::new();
        // With an identity token the password is not kept, as docker does.
        let pass = if auth.identitytoken.is_empty() {
            auth.password.as_str()
        } else {
            ""
        };
        entry.insert(
            "auth".into(),
            Value::String(STANDARD.encode(format!("{}:{pass}", auth.username))),
        );
        if !auth.identitytoken.is_empty() {
            entry.insert(
                "identitytoken".into(),
                Value::String(auth.identitytoken.clone()),
            );
        }
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Some(map) = auths.as_object_mut() {
            let key = map
                .keys()
                .find(|k| hostname(k) == hostname(server))
                .cloned()
                .unwrap_or_else(|| server.to_owned());
            map.insert(key, Value::Object(entry));
        }
    }

    /// Removes the credentials; false when there were none.
    pub fn remove_auth(&mut self, server: &str) -> bool {
        let Some(key) = self.find_key(server) else {
            return false;
        };
        self.doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .map(|m| m.remove(&key).is_some())
            .unwrap_or(false)
    }

    pub fn uses_helper(&self, server: &str) -> Option<String> {
        self.helper_for(server)
    }

    /// `detachKeys`: the sequence the docker CLI detaches with when no `--detach-keys` is given.
    pub fn detach_keys(&self) -> Option<&str> {
        self.doc
            .get("detachKeys")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
    }

    /// `currentContext`: the context the docker CLI (and muelle) use when none is named.
    pub fn current_context(&self) -> Option<&str> {
        self.doc.get("currentContext").and_then(Value::as_str)
    }

    /// Sets `currentContext`, or removes it (`None`) as docker does for `default`.
    pub fn set_current_context(&mut self, name: Option<&str>) {
        match name {
            Some(n) => {
                self.doc
                    .insert("currentContext".to_owned(), Value::String(n.to_owned()));
            }
            None => {
                self.doc.remove("currentContext");
            }
        }
    }

    /// Writes the file atomically, readable only by its owner (it holds passwords).
    pub fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut buf = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(
            &mut buf,
            serde_json::ser::PrettyFormatter::with_indent(b"\t"),
        );
        Value::Object(self.doc.clone())
            .serialize(&mut ser)
            .context("encoding config.json")?;
        let tmp = dir.join(format!(".config.json.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
            fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            anyhow!("writing {}: {e}", self.path.display())
        })
    }
}

/// The detach keys of an attach, run or exec: `--detach-keys`, else the config file's
/// `detachKeys` (as the docker CLI chooses them); None means the default sequence. A config
/// file that cannot be read is warned about and ignored, as docker does.
pub fn detach_keys(dir: &Path, flag: Option<&str>) -> Option<String> {
    if let Some(k) = flag.filter(|k| !k.is_empty()) {
        return Some(k.to_owned());
    }
    match ConfigFile::load(dir) {
        Ok(c) => c.detach_keys().map(str::to_owned),
        Err(e) => {
            eprintln!("WARNING: Error loading config file: {e:#}");
            None
        }
    }
}

/// `docker-credential-<helper> get`: the server on stdin, `{"Username","Secret"}` on stdout.
fn helper_get(helper: &str, server: &str) -> Result<Option<AuthConfig>> {
    let prog = format!("docker-credential-{helper}");
    let child = Command::new(&prog)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => bail!("credential helper {prog}: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("credential helper {prog}"))?;
    if !out.status.success() {
        // "credentials not found in native keychain" means none, not an error.
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("credential helper {prog}: bad answer"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let (user, secret) = (field("Username"), field("Secret"));
    Ok(Some(if user == "<token>" {
        AuthConfig {
            identitytoken: secret,
            serveraddress: server.to_owned(),
            ..Default::default()
        }
    } else {
        AuthConfig {
            username: user,
            password: secret,
            serveraddress: server.to_owned(),
            ..Default::default()
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lookup() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}},"psFormat":"x"}"#,
        )
        .unwrap();
        let mut c = ConfigFile::load(dir.path()).unwrap();
        let a = c.get_auth("https://index.docker.io/v1/").unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("u", "p"));
        let anon = c.get_auth("127.0.0.1:5000").unwrap();
        assert_eq!(
            anon.header(),
            URL_SAFE.encode(r#"{"serveraddress":"127.0.0.1:5000"}"#)
        );
        c.set_auth(
            "127.0.0.1:5000",
            &AuthConfig {
                username: "me".into(),
                password: "s3:cret".into(),
                ..Default::default()
            },
        );
        c.save().unwrap();
        let mode = fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let c2 = ConfigFile::load(dir.path()).unwrap();
        let a = c2.get_auth("http://127.0.0.1:5000/v2/").unwrap();
        assert_eq!(
            (a.username.as_str(), a.password.as_str()),
            ("me", "s3:cret")
        );
        let raw: Value =
            serde_json::from_slice(&fs::read(dir.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(raw["psFormat"], "x");
        assert_eq!(
            raw["auths"]["127.0.0.1:5000"]["auth"],
            STANDARD.encode("me:s3:cret")
        );
        let mut c3 = ConfigFile::load(dir.path()).unwrap();
        assert!(c3.remove_auth("127.0.0.1:5000"));
        assert!(!c3.remove_auth("127.0.0.1:5000"));
    }

    #[test]
    fn anonymous_header_is_empty_object() {
        assert_eq!(AuthConfig::default().header(), "e30=");
    }
}
