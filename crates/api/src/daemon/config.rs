//! daemon.json: the keys of dockerd's file that apply to muelled. Other dockerd keys are
//! ignored with a warning (a file shared with dockerd stays usable); anything else that is
//! not JSON of the right shape is an error naming the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use muelle_engine::containers::log_driver;
use muelle_types::container::LogConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The keys muelled reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DaemonFile {
    pub data_root: Option<PathBuf>,
    pub exec_root: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
    pub insecure_registries: Option<Vec<String>>,
    pub log_level: Option<String>,
    pub log_format: Option<LogFormat>,
    /// The default logging driver of containers, and its options.
    pub log_driver: Option<String>,
    pub log_opts: Option<BTreeMap<String, String>>,
    pub pidfile: Option<PathBuf>,
    // dockerd spells these without dashes, so kebab-case leaves them as they are.
    pub tls: Option<bool>,
    pub tlsverify: Option<bool>,
    pub tlscacert: Option<PathBuf>,
    pub tlscert: Option<PathBuf>,
    pub tlskey: Option<PathBuf>,
    pub userns_remap: Option<String>,
    /// Where network subnets come from: `[{"base": "10.10.0.0/16", "size": 24}]`.
    pub default_address_pools: Option<Vec<muelle_engine::networks::Pool>>,
    /// The default bridge's address with its prefix (`172.26.0.1/16`).
    pub bip: Option<String>,
}

const KNOWN: &[&str] = &[
    "data-root",
    "exec-root",
    "hosts",
    "insecure-registries",
    "log-level",
    "log-format",
    "log-driver",
    "log-opts",
    "pidfile",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
    "userns-remap",
    "default-address-pools",
    "bip",
];

impl DaemonFile {
    /// Reads `path`. A missing file is an empty configuration only when `required` is false
    /// (the default path); one named with `--config-file` must exist.
    pub fn load(path: &Path, required: bool) -> Result<(Self, Vec<String>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok((DaemonFile::default(), Vec::new()))
            }
            Err(e) => {
                return Err(anyhow!(e))
                    .with_context(|| format!("reading config file {}", path.display()))
            }
        };
        Self::parse(&text).with_context(|| format!("config file {}", path.display()))
    }

    /// Parses the file's text; also returns the keys it ignored.
    pub fn parse(text: &str) -> Result<(Self, Vec<String>)> {
        if text.trim().is_empty() {
            return Ok((DaemonFile::default(), Vec::new()));
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| anyhow!("invalid JSON: {e}"))?;
        let serde_json::Value::Object(map) = value else {
            bail!("expected a JSON object");
        };
        let mut known = serde_json::Map::new();
        let mut ignored = Vec::new();
        for (k, v) in map {
            if KNOWN.contains(&k.as_str()) {
                known.insert(k, v);
            } else {
                ignored.push(k);
            }
        }
        let file: DaemonFile = serde_path_to_error::deserialize(serde_json::Value::Object(known))
            .map_err(|e| anyhow!("key {}: {}", e.path(), e.inner()))?;
        Ok((file, ignored))
    }
}

/// The containers' default logging: `driver` (json-file when not given) with daemon.json's
/// `log-opts` and the `--log-opt KEY=VALUE` flags over them, then muelled's rotation
/// defaults for the keys neither gives; refused when no container could start with it.
pub fn log_config(
    driver: Option<String>,
    mut opts: BTreeMap<String, String>,
    flags: &[String],
) -> Result<LogConfig> {
    for f in flags {
        let Some((k, v)) = f.split_once('=') else {
            bail!("--log-opt {f:?}: expected KEY=VALUE");
        };
        opts.insert(k.to_string(), v.to_string());
    }
    log_driver::daemon_default(driver.as_deref(), &opts).map_err(|e| anyhow!("log config: {e}"))
}

/// The log levels dockerd takes, as a tracing filter directive.
pub fn log_filter(level: &str) -> Result<&'static str> {
    Ok(match level.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "fatal" | "panic" => "error",
        other => bail!("invalid log level {other:?}: use debug, info, warn, error or fatal"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dockerd_keys() {
        let (f, ignored) = DaemonFile::parse(
            r#"{"data-root": "/d", "hosts": ["unix:///x.sock"], "insecure-registries": ["r:5000"],
                "log-level": "debug", "storage-driver": "overlay2"}"#,
        )
        .unwrap();
        assert_eq!(f.data_root, Some(PathBuf::from("/d")));
        assert_eq!(f.hosts, Some(vec!["unix:///x.sock".to_string()]));
        assert_eq!(f.insecure_registries, Some(vec!["r:5000".to_string()]));
        assert_eq!(ignored, vec!["storage-driver".to_string()]);
    }

    #[test]
    fn reads_tls_keys() {
        let (f, ignored) = DaemonFile::parse(
            r#"{"tls": true, "tlsverify": true, "tlscacert": "/c/ca.pem",
                "tlscert": "/c/cert.pem", "tlskey": "/c/key.pem"}"#,
        )
        .unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        assert_eq!(f.tls, Some(true));
        assert_eq!(f.tlsverify, Some(true));
        assert_eq!(f.tlscacert, Some(PathBuf::from("/c/ca.pem")));
        assert_eq!(f.tlscert, Some(PathBuf::from("/c/cert.pem")));
        assert_eq!(f.tlskey, Some(PathBuf::from("/c/key.pem")));
        let e = DaemonFile::parse(r#"{"tlsverify": "yes"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tlsverify"), "{e}");
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let e = DaemonFile::parse("{").unwrap_err().to_string();
        assert!(e.contains("invalid JSON"), "{e}");
        let e = DaemonFile::parse(r#"{"hosts": "unix:///x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hosts"), "{e}");
        assert!(DaemonFile::parse("[1]").is_err());
    }

    #[test]
    fn missing_default_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("daemon.json");
        assert_eq!(
            DaemonFile::load(&p, false).unwrap().0,
            DaemonFile::default()
        );
        assert!(DaemonFile::load(&p, true).is_err());
    }

    #[test]
    fn reads_log_driver_and_opts() {
        let (f, ignored) = DaemonFile::parse(
            r#"{"log-driver": "local", "log-opts": {"max-size": "10m", "max-file": "3"}}"#,
        )
        .unwrap();
        assert!(ignored.is_empty(), "{ignored:?}");
        assert_eq!(f.log_driver.as_deref(), Some("local"));
        let opts = f.log_opts.unwrap();
        assert_eq!(opts["max-size"], "10m");
        assert_eq!(opts["max-file"], "3");
        // dockerd wants strings: a number is an error naming the key.
        let e = DaemonFile::parse(r#"{"log-opts": {"max-file": 3}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("log-opts"), "{e}");
    }

    #[test]
    fn log_config_layers() {
        let file = [("max-size".to_string(), "10m".to_string())].into();
        let c = log_config(None, file, &["max-file=2".into()]).unwrap();
        assert_eq!(c.typ, "json-file");
        assert_eq!(c.config["max-size"], "10m");
        assert_eq!(c.config["max-file"], "2");
        let c = log_config(None, BTreeMap::new(), &[]).unwrap();
        assert_eq!(c.config["max-size"], "20m");
        assert_eq!(c.config["max-file"], "5");
        assert!(log_config(Some("bogus".into()), BTreeMap::new(), &[]).is_err());
        assert!(log_config(None, BTreeMap::new(), &["max-size=bogus".into()]).is_err());
        assert!(log_config(None, BTreeMap::new(), &["x".into()]).is_err());
    }

    #[test]
    fn levels() {
        assert_eq!(log_filter("fatal").unwrap(), "error");
        assert!(log_filter("loud").is_err());
    }
}
