//! The health-check flags of `create` and `run` (`--health-*`, `--no-healthcheck`) and the
//! `Healthcheck` they make, checked as the docker CLI checks them; durations are Go's
//! (`1s`, `500ms`, `1m30s`).

use anyhow::{bail, Result};
use muelle_types::container::HealthConfig;
use muelle_types::duration::parse_go_duration;

/// docker's health-check options.
#[derive(clap::Args, Debug, Default)]
pub struct HealthOpts {
    /// Command to run to check health
    #[arg(long, value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration")]
    pub health_interval: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub health_retries: Option<i64>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration")]
    pub health_start_interval: Option<String>,
    /// Start period for the container to initialize before starting health-retries
    /// countdown (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration")]
    pub health_start_period: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration")]
    pub health_timeout: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long)]
    pub no_healthcheck: bool,
}

fn duration(flag: &str, v: &Option<String>) -> Result<i64> {
    let Some(v) = v else {
        return Ok(0);
    };
    let ns = match parse_go_duration(v) {
        Ok(ns) => ns,
        Err(e) => bail!("invalid argument \"{v}\" for \"--{flag}\" flag: {e}"),
    };
    if ns < 0 {
        bail!("--{flag} cannot be negative");
    }
    Ok(ns)
}

impl HealthOpts {
    /// The `Healthcheck` to send: `None` when no flag was given, `["NONE"]` for
    /// `--no-healthcheck`.
    pub fn config(&self) -> Result<Option<HealthConfig>> {
        let interval = duration("health-interval", &self.health_interval)?;
        let timeout = duration("health-timeout", &self.health_timeout)?;
        let start_period = duration("health-start-period", &self.health_start_period)?;
        let start_interval = duration("health-start-interval", &self.health_start_interval)?;
        let retries = self.health_retries.unwrap_or(0);
        let cmd = self.health_cmd.clone().unwrap_or_default();
        let any = !cmd.is_empty()
            || interval != 0
            || timeout != 0
            || start_period != 0
            || retries != 0
            || start_interval != 0;
        if self.no_healthcheck {
            if any {
                bail!("--no-healthcheck conflicts with --health-* options");
            }
            return Ok(Some(HealthConfig {
                test: vec!["NONE".into()],
                ..HealthConfig::default()
            }));
        }
        if !any {
            return Ok(None);
        }
        if retries < 0 {
            bail!("--health-retries cannot be negative");
        }
        Ok(Some(HealthConfig {
            test: if cmd.is_empty() {
                Vec::new()
            } else {
                vec!["CMD-SHELL".into(), cmd]
            },
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
            extra: Default::default(),
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_dockers_healthcheck() {
        let o = HealthOpts {
            health_cmd: Some("true".into()),
            health_interval: Some("1s".into()),
            health_retries: Some(2),
            ..HealthOpts::default()
        };
        let h = o.config().unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(h).unwrap(),
            serde_json::json!({"Test": ["CMD-SHELL", "true"], "Interval": 1_000_000_000, "Retries": 2})
        );
        assert!(HealthOpts::default().config().unwrap().is_none());
        let none = HealthOpts {
            no_healthcheck: true,
            ..HealthOpts::default()
        };
        assert_eq!(none.config().unwrap().unwrap().test, ["NONE"]);
        let both = HealthOpts {
            no_healthcheck: true,
            health_retries: Some(1),
            ..HealthOpts::default()
        };
        assert!(both.config().is_err());
        let neg = HealthOpts {
            health_timeout: Some("-1s".into()),
            ..HealthOpts::default()
        };
        assert_eq!(
            neg.config().unwrap_err().to_string(),
            "--health-timeout cannot be negative"
        );
    }
}
