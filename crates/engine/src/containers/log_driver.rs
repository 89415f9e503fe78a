//! Logging drivers as dockerd configures them: the daemon-wide default (daemon.json's
//! `log-driver`/`log-opts` over muelled's own rotation defaults), its merge into a
//! container's `LogConfig` at create, the checks dockerd makes at create and when the driver
//! starts (with its messages), and what the supervisor is told to write.
//!
//! `json-file` and `local` are written by the supervisor in json-file lines (`local` in
//! `local-logs/container.log`, rotated and compressed by default, as Docker's); `none`
//! writes nothing. dockerd's other drivers are accepted at create and refused at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ContainerError, ContainerRecord};
use crate::Engine;
use muelle_types::container::LogConfig;

/// The driver when neither daemon.json nor the container names one.
pub const DEFAULT_DRIVER: &str = "json-file";

/// muelled's own daemon-wide `log-opts` for json-file: rotation is on unless the user says
/// otherwise (dockerd's json-file grows without bound by default).
pub const DEFAULT_OPTS: [(&str, &str); 2] = [("max-file", "5"), ("max-size", "20m")];

/// Drivers dockerd knows; those but json-file, local and none fail when the container starts.
const KNOWN: &[&str] = &[
    "json-file",
    "local",
    "none",
    "syslog",
    "journald",
    "gelf",
    "fluentd",
    "awslogs",
    "splunk",
    "gcplogs",
    "logentries",
];

/// The local driver's defaults (Docker's `local.newDefaultConfig`).
const LOCAL_MAX_SIZE: u64 = 20 * 1024 * 1024;
const LOCAL_MAX_FILE: u32 = 5;

/// The daemon-wide configuration: `driver` (json-file when not given) with `opts`; for
/// json-file, muelled's defaults fill the keys `opts` leaves out. Checked as a container's.
pub fn daemon_default(
    driver: Option<&str>,
    opts: &BTreeMap<String, String>,
) -> Result<LogConfig, ContainerError> {
    let typ = driver.filter(|d| !d.is_empty()).unwrap_or(DEFAULT_DRIVER);
    let mut config = opts.clone();
    if typ == DEFAULT_DRIVER {
        for (k, v) in DEFAULT_OPTS {
            config.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    let cfg = LogConfig {
        typ: typ.to_string(),
        config,
    };
    validate(&cfg)?;
    // A default that cannot start would fail every container: refused up front.
    writer(&cfg, Path::new("/"), "")
        .map_err(|e| ContainerError::Invalid(format!("daemon log-opts: {e}")))?;
    Ok(cfg)
}

/// The daemon-wide configuration without daemon.json settings: json-file, rotated.
pub fn muelled_default() -> LogConfig {
    LogConfig {
        typ: DEFAULT_DRIVER.into(),
        config: DEFAULT_OPTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// dockerd's `mergeAndVerifyLogConfig`: no driver means the daemon's; with the daemon's
/// driver, the daemon's options fill the keys the container does not set.
pub fn merge(cfg: &mut LogConfig, default: &LogConfig) {
    if cfg.typ.is_empty() {
        cfg.typ = default.typ.clone();
    }
    if cfg.typ == default.typ {
        for (k, v) in &default.config {
            cfg.config.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// dockerd's checks at create: a known driver, and options that driver takes.
pub fn validate(cfg: &LogConfig) -> Result<(), ContainerError> {
    let typ = if cfg.typ.is_empty() {
        DEFAULT_DRIVER
    } else {
        cfg.typ.as_str()
    };
    if !KNOWN.contains(&typ) {
        return Err(ContainerError::Invalid(format!(
            "error looking up logging plugin {typ}: plugin \"{typ}\" not found"
        )));
    }
    if typ == "none" {
        return Ok(());
    }
    let mode = cfg.config.get("mode").map(String::as_str).unwrap_or("");
    if !matches!(mode, "" | "blocking" | "non-blocking") {
        return Err(ContainerError::Invalid(format!(
            "logger: logging mode not supported: {mode}"
        )));
    }
    if cfg.config.contains_key("max-buffer-size") && mode != "non-blocking" {
        return Err(ContainerError::Invalid(
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'".into(),
        ));
    }
    let driver_keys = cfg
        .config
        .keys()
        .filter(|k| !matches!(k.as_str(), "mode" | "max-buffer-size"));
    for k in driver_keys {
        match typ {
            "json-file"
                if !matches!(
                    k.as_str(),
                    "max-file"
                        | "max-size"
                        | "compress"
                        | "labels"
                        | "labels-regex"
                        | "env"
                        | "env-regex"
                        | "tag"
                ) =>
            {
                return Err(ContainerError::Invalid(format!(
                    "unknown log opt '{k}' for json-file log driver"
                )))
            }
            "local" if !matches!(k.as_str(), "max-file" | "max-size" | "compress") => {
                return Err(ContainerError::Invalid(format!(
                    "unknown log opt '{k}' for log driver local"
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// What the supervisor writes: a file, rotated at `max_size` bytes (0: never), `max_file`
/// files in all, the rotated ones gzipped with `compress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    pub max_size: u64,
    pub max_file: u32,
    pub compress: bool,
}

impl LogFile {
    /// The supervisor's flags (PROTOCOL.md, "Invocation").
    pub fn shim_args(&self) -> Vec<String> {
        let mut a = vec![
            "--log-driver".to_string(),
            "json-file".into(),
            "--log-path".into(),
            self.path.display().to_string(),
            "--log-max-file".into(),
            self.max_file.to_string(),
        ];
        if self.max_size > 0 {
            a.push("--log-max-size".into());
            a.push(self.max_size.to_string());
        }
        if self.compress {
            a.push("--log-compress".into());
        }
        a
    }
}

/// Where the local driver writes, in the container's directory (Docker's place).
pub fn local_path(container_dir: &Path) -> PathBuf {
    container_dir.join("local-logs").join("container.log")
}

/// The file to write for a container's configuration (None for `none`), checked as
/// dockerd's drivers check it when they start: `Err` holds dockerd's message, which the
/// start reports after "failed to initialize logging driver: " and `logs` bare.
pub fn writer(
    cfg: &LogConfig,
    container_dir: &Path,
    json_path: &str,
) -> Result<Option<LogFile>, String> {
    let opt = |k: &str| cfg.config.get(k).map(String::as_str);
    match cfg.typ.as_str() {
        "" | "json-file" => {
            let max_size = match opt("max-size") {
                None => 0,
                Some(s) => {
                    let n = from_human_size(s)?;
                    if n <= 0 {
                        return Err("max-size must be a positive number".into());
                    }
                    n as u64
                }
            };
            let max_file = match opt("max-file") {
                None => 1,
                Some(s) => {
                    let n = go_atoi(s)?;
                    if n < 1 {
                        return Err("max-file cannot be less than 1".into());
                    }
                    u32::try_from(n).unwrap_or(u32::MAX)
                }
            };
            let compress = match opt("compress") {
                None => false,
                Some(s) => {
                    let c = go_parse_bool(s)?;
                    if c && (max_file == 1 || max_size == 0) {
                        return Err("compress cannot be true when max-file is less than 2 or max-size is not set".into());
                    }
                    c
                }
            };
            Ok(Some(LogFile {
                path: PathBuf::from(json_path),
                max_size,
                max_file,
                compress,
            }))
        }
        "local" => {
            let max_size = match opt("max-size") {
                None => LOCAL_MAX_SIZE as i64,
                Some(s) => from_human_size(s)
                    .map_err(|e| format!("invalid value for max-size: {s}: {e}"))?,
            };
            let max_file = match opt("max-file") {
                None => i64::from(LOCAL_MAX_FILE),
                Some(s) => {
                    go_atoi(s).map_err(|e| format!("invalid value for max-file: {s}: {e}"))?
                }
            };
            let compress = match opt("compress") {
                None => true,
                Some(s) => go_parse_bool(s)
                    .map_err(|e| format!("error reading compress log option: {e}"))?,
            };
            if max_size < 0 {
                return Err("max size should be a positive number".into());
            }
            if max_file < 0 {
                return Err("max file count cannot be less than 0".into());
            }
            if compress && max_file <= 1 {
                return Err("compression cannot be enabled when max file count is 1".into());
            }
            Ok(Some(LogFile {
                path: local_path(container_dir),
                max_size: max_size as u64,
                max_file: u32::try_from(max_file.max(1)).unwrap_or(u32::MAX),
                compress,
            }))
        }
        "none" => Ok(None),
        "journald" if !is_socket("/run/systemd/journal/socket") => {
            Err("journald is not enabled on this host".into())
        }
        // Go's log/syslog tries these sockets in turn.
        "syslog"
            if !["/dev/log", "/var/run/syslog", "/var/run/log"]
                .iter()
                .any(|p| is_socket(p)) =>
        {
            Err("Unix syslog delivery error".into())
        }
        other => Err(format!(
            "the {other} log driver is not supported by muelled (use json-file, local or none)"
        )),
    }
}

fn is_socket(p: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// The configuration a container's logs follow: its own, or for a record made before
/// create merged the daemon's, that merge now.
pub fn effective(rec: &ContainerRecord, default: &LogConfig) -> LogConfig {
    let mut cfg = rec.host_config.log_config.clone();
    if cfg.typ.is_empty() {
        merge(&mut cfg, default);
    }
    cfg
}

/// The file `logs` reads for a container: Err(message) when its driver cannot be read
/// (dockerd's messages).
pub fn read_path(rec: &ContainerRecord, default: &LogConfig) -> Result<PathBuf, String> {
    let cfg = effective(rec, default);
    if !matches!(cfg.typ.as_str(), "json-file" | "local") {
        return Err("configured logging driver does not support reading".into());
    }
    let dir = Path::new(&rec.log_path)
        .parent()
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    match writer(&cfg, &dir, &rec.log_path)? {
        Some(f) => Ok(f.path),
        None => Err("configured logging driver does not support reading".into()),
    }
}

impl Engine {
    /// The file a start has the supervisor write for `rec` (its directory made), or
    /// dockerd's error when its driver cannot start.
    pub(super) fn log_file(
        &self,
        rec: &ContainerRecord,
        container_dir: &Path,
    ) -> Result<Option<LogFile>, ContainerError> {
        let cfg = effective(rec, &self.config().log_config);
        let file = writer(&cfg, container_dir, &rec.log_path).map_err(|e| {
            ContainerError::Invalid(format!("failed to initialize logging driver: {e}"))
        })?;
        if let Some(dir) = file.as_ref().and_then(|f| f.path.parent()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    ContainerError::Internal(format!(
                        "failed to initialize logging driver: create {}: {e}",
                        dir.display()
                    ))
                })?;
        }
        Ok(file)
    }
}

/// go-units' `FromHumanSize` (decimal units: `1k` is 1000 bytes), with its message.
pub fn from_human_size(s: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    let mut t = s;
    t = t.strip_suffix(['b', 'B']).unwrap_or(t);
    t = t.strip_suffix(['i', 'I']).unwrap_or(t);
    let mut mul = 1f64;
    if let Some(c) = t.chars().last() {
        let m = match c.to_ascii_lowercase() {
            'k' => 1e3,
            'm' => 1e6,
            'g' => 1e9,
            't' => 1e12,
            'p' => 1e15,
            _ => 0.0,
        };
        if m > 0.0 {
            mul = m;
            t = &t[..t.len() - 1];
        }
    }
    t = t.strip_suffix(' ').unwrap_or(t);
    let well_formed = !t.is_empty()
        && t.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return Err(invalid());
    }
    let n: f64 = t
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing \"{t}\": invalid syntax"))?;
    Ok((n * mul) as i64)
}

/// Go's `strconv.Atoi`, with its message.
fn go_atoi(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing \"{s}\": invalid syntax"))
}

/// Go's `strconv.ParseBool`, with its message.
fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing \"{s}\": invalid syntax"
        )),
    }
}

#[cfg(test)]
#[path = "log_driver_tests.rs"]
mod tests;
