//! `--mount type=bind|volume|tmpfs,...` read as the docker CLI 28 reads it (`opts.MountOpt`):
//! CSV fields, every key it knows with its messages, and the `HostConfig.Mounts` entry it
//! sends, with only the keys the options name.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use super::body::ram_in_bytes;

/// A `--mount` (`HostConfig.Mounts`).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(rename = "Type")]
    pub typ: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tmpfs_options: Option<TmpfsOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume_options: Option<VolumeOptions>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(skip_serializing_if = "String::is_empty")]
    propagation: String,
    #[serde(skip_serializing_if = "is_false")]
    non_recursive: bool,
    #[serde(skip_serializing_if = "is_false")]
    read_only_non_recursive: bool,
    #[serde(skip_serializing_if = "is_false")]
    read_only_force_recursive: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TmpfsOptions {
    #[serde(skip_serializing_if = "is_zero")]
    size_bytes: i64,
    #[serde(skip_serializing_if = "is_zero_u")]
    mode: u32,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    no_copy: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    subpath: String,
    driver_config: DriverConfig,
}

/// `volume-driver=` and `volume-opt=` of a `--mount type=volume`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DriverConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<BTreeMap<String, String>>,
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &str, val: &str) -> Result<bool> {
    match val {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(anyhow!("invalid value for {key}: {val}")),
    }
}

fn set_on_map(map: &mut BTreeMap<String, String>, kv: &str) {
    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
    if !k.is_empty() {
        map.insert(k.to_owned(), v.to_owned());
    }
}

/// Go's csv reader for one record: fields split on commas, `"..."` quoting a field.
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if cur.is_empty() => quoted = true,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        bail!(
            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
            s.len() + 1
        );
    }
    out.push(cur);
    Ok(out)
}

/// `--mount type=bind,source=/a,target=/b,readonly`.
pub fn parse_mount(s: &str) -> Result<Mount> {
    let mut m = Mount {
        typ: "volume".to_owned(),
        ..Mount::default()
    };
    let cwd_abs = |v: &str| -> String {
        if v == "." || v.starts_with("./") {
            if let Ok(cwd) = std::env::current_dir() {
                return cwd.join(v).display().to_string();
            }
        }
        v.to_owned()
    };
    for field in csv_fields(s)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v.to_owned()),
            None => {
                match field.to_lowercase().as_str() {
                    "readonly" | "ro" => m.read_only = Some(true),
                    "volume-nocopy" => m.volume_opts().no_copy = true,
                    "bind-nonrecursive" => m.bind_opts().non_recursive = true,
                    _ => bail!("invalid field '{field}' must be a key=value pair"),
                }
                continue;
            }
        };
        match key.as_str() {
            "type" => m.typ = val.to_lowercase(),
            "source" | "src" => m.source = Some(cwd_abs(&val)),
            "target" | "dst" | "destination" => m.target = Some(val),
            "readonly" | "ro" => m.read_only = Some(parse_bool(&key, &val)?),
            "consistency" => m.consistency = Some(val.to_lowercase()),
            "bind-propagation" => m.bind_opts().propagation = val.to_lowercase(),
            "bind-nonrecursive" => {
                m.bind_opts().non_recursive = parse_bool(&key, &val)?;
                eprintln!("WARNING: bind-nonrecursive is deprecated, use bind-recursive=disabled instead");
            }
            "bind-recursive" => match val.as_str() {
                "enabled" => {}
                "disabled" => m.bind_opts().non_recursive = true,
                "writable" => m.bind_opts().read_only_non_recursive = true,
                "readonly" => m.bind_opts().read_only_force_recursive = true,
                _ => bail!(
                    "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                ),
            },
            "volume-subpath" => m.volume_opts().subpath = val,
            "volume-nocopy" => {
                m.volume_opts().no_copy = parse_bool(&key, &val)
                    .map_err(|_| anyhow!("invalid value for volume-nocopy: {val}"))?
            }
            "volume-label" => set_on_map(&mut m.volume_opts().labels, &val),
            "volume-driver" => m.volume_opts().driver_config.name = val,
            "volume-opt" => set_on_map(
                m.volume_opts().driver_config.options.get_or_insert_with(BTreeMap::new),
                &val,
            ),
            "tmpfs-size" => {
                m.tmpfs_opts().size_bytes =
                    ram_in_bytes(&val).map_err(|_| anyhow!("invalid value for {key}: {val}"))?
            }
            "tmpfs-mode" => {
                m.tmpfs_opts().mode = u32::from_str_radix(&val, 8)
                    .map_err(|_| anyhow!("invalid value for {key}: {val}"))?
            }
            _ => bail!("unexpected key '{key}' in '{field}'"),
        }
    }
    if m.typ.is_empty() {
        bail!("type is required");
    }
    if m.target.as_deref().unwrap_or("").is_empty() {
        bail!("target is required");
    }
    if m.volume_options.is_some() && m.typ != "volume" {
        bail!("cannot mix 'volume-*' options with mount type '{}'", m.typ);
    }
    if m.bind_options.is_some() && m.typ != "bind" {
        bail!("cannot mix 'bind-*' options with mount type '{}'", m.typ);
    }
    if m.tmpfs_options.is_some() && m.typ != "tmpfs" {
        bail!("cannot mix 'tmpfs-*' options with mount type '{}'", m.typ);
    }
    let ro = m.read_only.unwrap_or(false);
    if let Some(b) = &m.bind_options {
        if b.read_only_non_recursive && !ro {
            bail!("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
        }
        if b.read_only_force_recursive {
            if !ro {
                bail!("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
            }
            if b.propagation != "rprivate" {
                bail!("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
            }
        }
    }
    Ok(m)
}

impl Mount {
    fn bind_opts(&mut self) -> &mut BindOptions {
        self.bind_options.get_or_insert_with(BindOptions::default)
    }

    fn volume_opts(&mut self) -> &mut VolumeOptions {
        self.volume_options
            .get_or_insert_with(VolumeOptions::default)
    }

    fn tmpfs_opts(&mut self) -> &mut TmpfsOptions {
        self.tmpfs_options.get_or_insert_with(TmpfsOptions::default)
    }

    /// `--use-api-socket`'s bind of the daemon's socket.
    pub fn api_socket(source: &str) -> Mount {
        Mount {
            typ: "bind".into(),
            source: Some(source.into()),
            target: Some("/var/run/docker.sock".into()),
            bind_options: Some(BindOptions::default()),
            ..Mount::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sent(s: &str) -> serde_json::Value {
        serde_json::to_value(parse_mount(s).unwrap()).unwrap()
    }

    fn err(s: &str) -> String {
        parse_mount(s).unwrap_err().to_string()
    }

    #[test]
    fn every_key_as_the_docker_cli() {
        assert_eq!(
            sent("type=bind,source=/a,target=/b,readonly"),
            json!({"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": true})
        );
        assert_eq!(
            sent("type=bind,src=/a,dst=/b,ro=1,bind-recursive=readonly,bind-propagation=rprivate")
                ["BindOptions"],
            json!({"Propagation": "rprivate", "ReadOnlyForceRecursive": true})
        );
        assert_eq!(
            sent("type=bind,src=/a,dst=/b,bind-nonrecursive")["BindOptions"],
            json!({"NonRecursive": true})
        );
        assert_eq!(
            sent("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770")["TmpfsOptions"],
            json!({"SizeBytes": 1048576, "Mode": 1016})
        );
        assert_eq!(
            sent("src=v,destination=/v,volume-subpath=a/b,volume-nocopy,volume-label=k=v,volume-driver=local,volume-opt=type=tmpfs")["VolumeOptions"],
            json!({"NoCopy": true, "Labels": {"k": "v"}, "Subpath": "a/b",
                   "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}})
        );
        assert_eq!(
            sent("type=volume,\"volume-opt=o=size=1m,uid=1\",dst=/v")["VolumeOptions"]
                ["DriverConfig"]["Options"],
            json!({"o": "size=1m,uid=1"})
        );
    }

    #[test]
    fn errors_as_the_docker_cli() {
        assert_eq!(err("type=bind,source=/a"), "target is required");
        assert_eq!(
            err("type=bind,dst=/a,bogus"),
            "invalid field 'bogus' must be a key=value pair"
        );
        assert_eq!(err("type=bind,dst=/a,x=1"), "unexpected key 'x' in 'x=1'");
        assert_eq!(
            err("type=tmpfs,dst=/a,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'tmpfs'"
        );
        assert_eq!(
            err("type=bind,src=/a,dst=/x,bind-recursive=readonly"),
            "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction"
        );
        assert_eq!(
            err("type=tmpfs,dst=/a,tmpfs-mode=9"),
            "invalid value for tmpfs-mode: 9"
        );
    }
}
