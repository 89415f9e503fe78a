//! Docker's health checks: the check a container runs (`Config.Healthcheck`, also an image's
//! HEALTHCHECK) and what its probes found (`State.Health`). Durations are nanoseconds, as
//! Go's `time.Duration` serializes; zero means "the default", and dockerd omits zeros.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util::null_default;

/// `State.Health.Status` before the first successful probe (or since the last start).
pub const STARTING: &str = "starting";
/// `State.Health.Status` after a successful probe.
pub const HEALTHY: &str = "healthy";
/// `State.Health.Status` after `Retries` failures in a row, or once the probes stopped.
pub const UNHEALTHY: &str = "unhealthy";
/// The `health` filter's value for a container without a check.
pub const NO_HEALTHCHECK: &str = "none";

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// Docker's `HealthConfig`: `Test` is `[]` (inherit the image's), `["NONE"]` (no check),
/// `["CMD", args...]` or `["CMD-SHELL", command]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub interval: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub timeout: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_period: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_interval: i64,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub retries: i64,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl HealthConfig {
    /// The container's check when it asks for `user` (None: nothing said) over an image's
    /// HEALTHCHECK, field by field as dockerd merges them: what the user left at zero (or
    /// an empty `Test`) comes from the image.
    pub fn merge(user: Option<HealthConfig>, image: Option<&HealthConfig>) -> Option<Self> {
        let Some(image) = image else {
            return user;
        };
        let Some(mut u) = user else {
            return Some(image.clone());
        };
        if u.test.is_empty() {
            u.test = image.test.clone();
        }
        for (mine, theirs) in [
            (&mut u.interval, image.interval),
            (&mut u.timeout, image.timeout),
            (&mut u.start_period, image.start_period),
            (&mut u.start_interval, image.start_interval),
            (&mut u.retries, image.retries),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        Some(u)
    }

    /// Whether probes run: a `CMD` or `CMD-SHELL` test (`NONE`, an empty test or an unknown
    /// form run nothing, as in dockerd).
    pub fn is_active(&self) -> bool {
        matches!(
            self.test.first().map(String::as_str),
            Some("CMD" | "CMD-SHELL")
        )
    }
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    pub failing_streak: i64,
    /// The last probes, oldest first (at most five); `[]` before the first, as dockerd.
    #[serde(default, deserialize_with = "null_default")]
    pub log: Vec<HealthcheckResult>,
}

/// One probe: when it ran, its exit code (-1 when it could not run or timed out) and its
/// output (stdout and stderr, at most 4096 bytes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthcheckResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_omitted_and_null_reads() {
        let h: HealthConfig = serde_json::from_value(serde_json::json!({
            "Test": ["CMD-SHELL", "true"], "Interval": 1_000_000_000, "Timeout": null
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!({"Test": ["CMD-SHELL", "true"], "Interval": 1_000_000_000})
        );
    }

    #[test]
    fn merge_is_dockerds() {
        let image = HealthConfig {
            test: vec!["CMD".into(), "true".into()],
            interval: 5,
            retries: 7,
            ..HealthConfig::default()
        };
        let user = HealthConfig {
            interval: 9,
            ..HealthConfig::default()
        };
        let m = HealthConfig::merge(Some(user), Some(&image)).unwrap();
        assert_eq!((m.test.len(), m.interval, m.retries), (2, 9, 7));
        let none = HealthConfig {
            test: vec!["NONE".into()],
            ..HealthConfig::default()
        };
        let m = HealthConfig::merge(Some(none), Some(&image)).unwrap();
        assert!(!m.is_active());
        assert_eq!(HealthConfig::merge(None, Some(&image)), Some(image));
    }
}
