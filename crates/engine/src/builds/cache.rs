//! The build cache's key of a step: equal keys mean equal results. A step is its parent
//! image, the instruction as written, what the instruction resolved to (the history entry,
//! which for COPY and ADD carries the content hash of exactly the files copied, and for RUN
//! the build args in scope), and the config the step leaves.

use muelle_image::manifest::ContainerConfig;
use muelle_image::Digest;

/// The key, hex.
pub(super) fn step_key(
    parent: Option<&str>,
    original: &str,
    created_by: &str,
    config: &ContainerConfig,
    extra: &str,
) -> String {
    let config = serde_json::to_string(config).unwrap_or_default();
    let text = format!(
        "muelle-build-v1\n{}\n{original}\n{created_by}\n{config}\n{extra}",
        parent.unwrap_or("scratch")
    );
    Digest::sha256_of(text.as_bytes()).hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_changes_the_key() {
        let c = ContainerConfig::default();
        let base = step_key(Some("sha256:a"), "RUN x", "/bin/sh -c x", &c, "");
        assert_eq!(
            base,
            step_key(Some("sha256:a"), "RUN x", "/bin/sh -c x", &c, "")
        );
        assert_ne!(
            base,
            step_key(Some("sha256:b"), "RUN x", "/bin/sh -c x", &c, "")
        );
        assert_ne!(base, step_key(None, "RUN x", "/bin/sh -c x", &c, ""));
        assert_ne!(
            base,
            step_key(Some("sha256:a"), "RUN y", "/bin/sh -c x", &c, "")
        );
        assert_ne!(
            base,
            step_key(Some("sha256:a"), "RUN x", "/bin/sh -c y", &c, "")
        );
        let env = ContainerConfig {
            env: Some(vec!["A=1".into()]),
            ..ContainerConfig::default()
        };
        assert_ne!(
            base,
            step_key(Some("sha256:a"), "RUN x", "/bin/sh -c x", &env, "")
        );
        assert_ne!(
            base,
            step_key(Some("sha256:a"), "RUN x", "/bin/sh -c x", &c, "m")
        );
    }
}
