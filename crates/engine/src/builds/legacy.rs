//! What the legacy builder records of how a step was made, beside what the image is: the
//! parent image in `config.Image`, the step's container (`container`) and its run config
//! (`container_config`, whose `Cmd` is the history entry as the list of arguments the
//! container had), and the daemon's version (`docker_version`). Clients read them
//! (`docker inspect`'s `Container`, `ContainerConfig`, `DockerVersion`, `Parent`).

use std::collections::BTreeMap;

use muelle_image::manifest::ContainerConfig;
use serde_json::Value;

/// The step's config with its parent recorded.
pub(super) fn with_parent(config: &ContainerConfig, parent: Option<&str>) -> ContainerConfig {
    let mut c = config.clone();
    c.extra
        .insert("Image".into(), Value::String(parent.unwrap_or("").into()));
    c
}

/// The run config's command: a RUN's arguments (after the build args the history shows),
/// or the no-op command carrying the instruction's text.
fn container_cmd(created_by: &str, shell: &[String], run: Option<&[String]>) -> Vec<String> {
    if let Some(argv) = run {
        let joined = argv.join(" ");
        let prefix = created_by.strip_suffix(joined.as_str()).unwrap_or("");
        let mut cmd: Vec<String> = prefix.split_whitespace().map(str::to_string).collect();
        cmd.extend(argv.iter().cloned());
        return cmd;
    }
    let sh = format!("{} ", shell.join(" "));
    let mut cmd = shell.to_vec();
    match created_by.strip_prefix(sh.as_str()) {
        Some(rest) => match rest.strip_prefix("#(nop)  ") {
            Some(text) => {
                cmd.push("#(nop) ".into());
                cmd.push(text.into());
            }
            None => cmd.push(rest.into()),
        },
        None => cmd.push(created_by.into()),
    }
    cmd
}

/// How dockerd 20.10 made a step, which decides what it records of it.
pub(super) enum Made {
    /// A container ran or was written into (RUN, WORKDIR): its ID and hostname.
    InContainer(String),
    /// A config-only step: dockerd commits a container it made for the purpose, whose
    /// config the daemon completed (`Labels` at least an empty map).
    Nop(String),
    /// COPY and ADD: the layer is exported without a container.
    Export,
}

/// The top-level fields of a step's image.
pub(super) fn fields(
    config: &ContainerConfig,
    created_by: &str,
    shell: &[String],
    run: Option<&[String]>,
    made: Made,
) -> BTreeMap<String, Value> {
    let mut cc = config.clone();
    cc.cmd = Some(container_cmd(created_by, shell, run));
    let container = match &made {
        Made::InContainer(id) | Made::Nop(id) => id.clone(),
        Made::Export => String::new(),
    };
    if matches!(made, Made::Nop(_)) && cc.labels.is_none() {
        cc.labels = Some(BTreeMap::new());
    }
    let mut cc = serde_json::to_value(&cc).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut cc {
        if !container.is_empty() {
            m.insert(
                "Hostname".into(),
                Value::String(container.chars().take(12).collect()),
            );
        }
    }
    let mut out = BTreeMap::new();
    // Go's omitempty: no key for no container (null removes the parent's).
    let container = if container.is_empty() {
        Value::Null
    } else {
        Value::String(container)
    };
    out.insert("container".into(), container);
    out.insert("container_config".into(), cc);
    out.insert(
        "docker_version".into(),
        Value::String(crate::VERSION.into()),
    );
    out
}

/// The ID of the container a config-only step is recorded as made in.
pub(super) fn nop_container_id(key: &str) -> String {
    muelle_image::Digest::sha256_of(format!("nop-container-{key}").as_bytes())
        .hex()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into()]
    }

    #[test]
    fn commands_as_the_legacy_builder_records_them() {
        assert_eq!(
            container_cmd("/bin/sh -c #(nop)  ENV a=b", &sh(), None),
            ["/bin/sh", "-c", "#(nop) ", "ENV a=b"]
        );
        assert_eq!(
            container_cmd("/bin/sh -c #(nop) WORKDIR /x", &sh(), None),
            ["/bin/sh", "-c", "#(nop) WORKDIR /x"]
        );
        let argv: Vec<String> = vec!["/bin/sh".into(), "-c".into(), "echo $V".into()];
        assert_eq!(
            container_cmd("|1 V=1 /bin/sh -c echo $V", &sh(), Some(&argv)),
            ["|1", "V=1", "/bin/sh", "-c", "echo $V"]
        );
        assert_eq!(
            container_cmd("/bin/sh -c echo $V", &sh(), Some(&argv)),
            ["/bin/sh", "-c", "echo $V"]
        );
    }
}
