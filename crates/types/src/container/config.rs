//! Docker's container `Config` as clients send it and inspect shows it. Fields the engine
//! does not interpret are kept (`extra`) so that inspect echoes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::HealthConfig;
use crate::serde_util::null_default;

/// Docker's container `Config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub env: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub working_dir: String,
    /// `None`: the image's; `Some([])`: cleared (`--entrypoint ""`).
    #[serde(default, deserialize_with = "entrypoint")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's clients send Entrypoint as a list, a string (old clients) or null.
fn entrypoint<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum E {
        List(Vec<String>),
        One(String),
    }
    Ok(match Option::<E>::deserialize(d)? {
        None => None,
        Some(E::List(l)) => Some(l),
        Some(E::One(s)) if s.is_empty() => Some(Vec::new()),
        Some(E::One(s)) => Some(vec![s]),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_accepts_docker_shapes() {
        let c: ContainerConfig = serde_json::from_value(serde_json::json!({
            "Image": "busybox", "Cmd": ["true"], "Env": null, "Entrypoint": "",
            "Labels": {"a": "b"}, "Unknown": 1
        }))
        .unwrap();
        assert_eq!(c.entrypoint, Some(vec![]));
        assert!(c.env.is_empty());
        assert_eq!(c.extra.get("Unknown"), Some(&serde_json::json!(1)));
        let c: ContainerConfig =
            serde_json::from_value(serde_json::json!({"Entrypoint": null})).unwrap();
        assert_eq!(c.entrypoint, None);
    }
}
