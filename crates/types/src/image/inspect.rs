//! `GET /images/{name}/json`: an image as inspect shows it (moby's `image.InspectResponse`,
//! in its field order), with the image config's `config` in the shape of Docker's container
//! `Config`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    #[serde(rename = "Id")]
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    /// RFC 3339 as the config has it; Go's zero time when it has none.
    pub created: String,
    /// Gone from API 1.45, with `ContainerConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ImageContainerConfig>,
    pub docker_version: String,
    pub author: String,
    pub config: ImageContainerConfig,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    pub size: u64,
    /// Gone from API 1.44.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
    pub graph_driver: GraphDriverData,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: ImageMetadata,
}

/// The storage driver and its data (none: snapshots are not directories a client may use).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriverData {
    pub data: BTreeMap<String, String>,
    pub name: String,
}

/// The layers' DiffIDs, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// An image config's `config` (or its legacy `container_config`) as Docker's container
/// `Config`: the fields Docker always sends are there, `null` where the image says nothing;
/// the optional ones only when the image has them; fields of no known meaning kept as they
/// came. Read from the config's JSON object ([`ImageContainerConfig::from_object`]); a
/// known field of the wrong type reads as its default, as Go's decoder would leave it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageContainerConfig {
    #[serde(default, deserialize_with = "lenient")]
    pub hostname: String,
    #[serde(default, deserialize_with = "lenient")]
    pub domainname: String,
    #[serde(default, deserialize_with = "lenient")]
    pub user: String,
    #[serde(default, deserialize_with = "lenient")]
    pub attach_stdin: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub attach_stdout: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub attach_stderr: bool,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "lenient")]
    pub tty: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub open_stdin: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub cmd: Option<Vec<String>>,
    /// Kept as the image has it (the engine reads it; inspect only echoes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub args_escaped: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub image: String,
    #[serde(default, deserialize_with = "lenient")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "lenient")]
    pub working_dir: String,
    #[serde(default, deserialize_with = "lenient")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ImageContainerConfig {
    /// The config from its JSON object (an image config's `config`). Never fails: every
    /// field has a default and unknown ones go to `extra`.
    pub fn from_object(object: Map<String, Value>) -> Self {
        serde_json::from_value(Value::Object(object)).unwrap_or_default()
    }
}

/// A field as its type reads it, or its default when it is `null` or of another type.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_config_has_dockers_defaults_in_order() {
        let c = ImageContainerConfig::from_object(Map::new());
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#
        );
    }

    #[test]
    fn fields_read_from_the_object_and_unknown_ones_kept() {
        let Value::Object(m) = json!({
            "Cmd": ["sh"],
            "Hostname": "h",
            "StopSignal": "SIGTERM",
            "Tty": "not a bool",
            "MacAddress": "x",
        }) else {
            unreachable!()
        };
        let c = ImageContainerConfig::from_object(m);
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.hostname, "h");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGTERM"));
        assert!(!c.tty);
        assert_eq!(c.extra.get("MacAddress"), Some(&json!("x")));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["StopSignal"], "SIGTERM");
        assert_eq!(back["MacAddress"], "x");
        assert!(back.get("Shell").is_none());
    }
}
