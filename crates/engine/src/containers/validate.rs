//! A create request checked as Docker checks it, with Docker's messages, before anything
//! is made; and Docker's merges of what a container asks for over its image's defaults.

use super::{parse_signal, spec, ContainerConfig, ContainerError, HostConfig, RUNTIMES};
use crate::volumes::{self, MountRequest};

/// Checks a create request as Docker does before anything is made; returns its mounts
/// (binds, and volumes still to be resolved). Pure (but for checking that bind sources exist), so it is fuzzed with the
/// parsing of the request body (fuzz/fuzz_targets/container_create.rs).
pub fn validate(
    config: &ContainerConfig,
    host: &HostConfig,
) -> Result<Vec<MountRequest>, ContainerError> {
    if config.image.is_empty() {
        return Err(ContainerError::Invalid(
            "config.Image: no image specified".into(),
        ));
    }
    super::health::validate(config.healthcheck.as_ref())?;
    spec::check_caps(&host.cap_add).map_err(ContainerError::Invalid)?;
    spec::check_caps(&host.cap_drop).map_err(ContainerError::Invalid)?;
    check_restart_policy(&host.restart_policy)?;
    super::namespaces::validate(config, host)?;
    if host.auto_remove && !matches!(host.restart_policy.name.as_str(), "" | "no") {
        return Err(ContainerError::Invalid(
            "can't create 'AutoRemove' container with restart policy".into(),
        ));
    }
    super::log_driver::validate(&host.log_config)?;
    if !host.runtime.is_empty() && !RUNTIMES.contains(&host.runtime.as_str()) {
        return Err(ContainerError::Invalid(format!(
            "Unknown runtime specified {}",
            host.runtime
        )));
    }
    if !matches!(host.cgroupns_mode.as_str(), "" | "host" | "private") {
        return Err(ContainerError::Invalid(format!(
            "invalid cgroup namespace mode: {}",
            host.cgroupns_mode
        )));
    }
    if host.memory < 0 || host.nano_cpus < 0 || host.cpu_shares < 0 {
        return Err(ContainerError::Invalid(
            "resource limits (Memory, NanoCpus, CpuShares) cannot be negative".into(),
        ));
    }
    if host.memory > 0 && host.memory < 6 * 1024 * 1024 {
        return Err(ContainerError::Invalid(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    if let Some(s) = &config.stop_signal {
        parse_signal(s)?;
    }
    let mut mounts = Vec::new();
    for b in &host.binds {
        mounts.push(volumes::parse_bind(b)?);
    }
    for m in &host.mounts {
        mounts.push(volumes::parse_mount(m)?);
    }
    let driver = host.volume_driver.as_str();
    let makes_volumes = mounts.iter().any(MountRequest::is_volume)
        || config.volumes.as_ref().is_some_and(|v| !v.is_empty());
    if !matches!(driver, "" | volumes::LOCAL) && makes_volumes {
        let create = mounts
            .iter()
            .find(|m| m.is_volume() && !m.point.name.is_empty())
            .map(|m| format!("create {}: ", m.point.name))
            .unwrap_or_default();
        return Err(ContainerError::Missing(format!(
            "{create}error looking up volume plugin {driver}: plugin \"{driver}\" not found"
        )));
    }
    Ok(mounts)
}

/// A restart policy's name and retry count, with dockerd's messages.
pub(super) fn check_restart_policy(p: &super::model::RestartPolicy) -> Result<(), ContainerError> {
    match p.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {}
        "on-failure" => {
            if p.maximum_retry_count < 0 {
                return Err(ContainerError::Invalid(
                    "invalid restart policy: maximum retry count cannot be negative".into(),
                )
                );
            }
        }
        other => {
            return Err(ContainerError::Invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            ))
            )
        }
    }
    Ok(())
}

/// Docker's env merge: the container's variables override the image's of the same name.
pub(super) fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let key = |s: &str| s.split('=').next().unwrap_or("").to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in over {
        let k = key(e);
        if let Some(i) = out.iter().position(|x| key(x) == k) {
            out[i] = e.clone();
        } else {
            out.push(e.clone());
        }
    }
    out
}

/// Docker's size units for `max-size` (`10m`, `1g`, `512k`, plain bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1024u64),
        'm' => (&t[..t.len() - 1], 1024 * 1024),
        'g' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        'b' => (&t[..t.len() - 1], 1),
        _ => (t.as_str(), 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n > 0.0).then_some((n * mul as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merge_overrides_by_name() {
        let m = merge_env(
            &["PATH=/bin".into(), "A=1".into()],
            &["A=2".into(), "B=3".into()],
        );
        assert_eq!(m, vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10k"), Some(10240));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("x"), None);
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Whatever a client sends in the fields validate reads, it answers, never panics;
        // and an accepted bind names the paths it was given.
        #[test]
        fn validate_answers_any_request(
            binds in proptest::collection::vec("[/a-z:,.]{0,24}", 0..4),
            caps in proptest::collection::vec("[A-Za-z_]{0,12}", 0..3),
            restart in "[a-z-]{0,12}",
            retries in -3i64..3,
            signal in proptest::option::of("[A-Z0-9+]{0,8}"),
            memory in -10i64..10_000_000,
            max_size in "[0-9kmgx]{0,5}",
        ) {
            let config = ContainerConfig {
                image: "busybox".into(),
                stop_signal: signal,
                ..ContainerConfig::default()
            };
            let mut host = HostConfig {
                binds: binds.clone(),
                cap_add: caps,
                memory,
                ..HostConfig::default()
            };
            host.restart_policy.name = restart;
            host.restart_policy.maximum_retry_count = retries;
            host.log_config.config.insert("max-size".into(), max_size);
            if let Ok(mounts) = validate(&config, &host) {
                prop_assert_eq!(mounts.len(), binds.len());
                for (m, b) in mounts.iter().map(|m| &m.point).zip(&binds) {
                    prop_assert!(b.starts_with(&m.source));
                    prop_assert!(m.destination.starts_with('/'));
                }
            }
        }
    }
}
