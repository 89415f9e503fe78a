//! Bind mounts: `-v SRC:DST[:MODE]` and `--mount type=bind,...`, as Docker checks them.

use std::path::Path;

use muelle_types::container::MountPoint;
use serde_json::Value;

use super::MountError;

fn invalid(message: String) -> MountError {
    MountError(message)
}

/// A `-v` bind (`HostConfig.Binds` entry): an absolute host path, an absolute container
/// path, and modes (`ro`, `rw`, propagation; SELinux `z`/`Z` and `nocopy` are accepted and
/// have no effect).
pub fn parse_bind(b: &str) -> Result<MountPoint, MountError> {
    let parts: Vec<&str> = b.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(invalid(format!("invalid volume specification: '{b}'"))),
    };
    if !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{b}': invalid mount config for type \"bind\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    if !src.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{b}': named volumes are not supported yet; use an absolute host path"
        )));
    }
    let mut rw = true;
    let mut propagation = String::new();
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => rw = false,
            "rw" => rw = true,
            "z" | "Z" | "nocopy" => {}
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => {
                propagation = m.trim_start_matches('r').to_string()
            }
            _ => {
                return Err(invalid(format!(
                    "invalid mode: {m} in volume specification '{b}'"
                )))
            }
        }
    }
    if !Path::new(src).exists() {
        return Err(invalid(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {src}"
        )));
    }
    Ok(MountPoint {
        typ: "bind".into(),
        source: src.into(),
        destination: dst.into(),
        mode: mode.into(),
        rw,
        propagation: if propagation.is_empty() {
            "rprivate".into()
        } else {
            format!("r{propagation}")
        },
    })
}

/// A `HostConfig.Mounts` entry; only `bind` for now.
pub fn parse_mount(m: &Value) -> Result<MountPoint, MountError> {
    let typ = m.get("Type").and_then(Value::as_str).unwrap_or("");
    let src = m.get("Source").and_then(Value::as_str).unwrap_or("");
    let dst = m.get("Target").and_then(Value::as_str).unwrap_or("");
    if typ != "bind" {
        return Err(invalid(format!(
            "mount type {typ:?} is not supported yet (only bind)"
        )));
    }
    if !dst.starts_with('/') || !src.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount config for type \"bind\": source and target must be absolute paths: {src:?} {dst:?}"
        )));
    }
    if !Path::new(src).exists() {
        return Err(invalid(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {src}"
        )));
    }
    let ro = m.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false);
    Ok(MountPoint {
        typ: "bind".into(),
        source: src.into(),
        destination: dst.into(),
        mode: String::new(),
        rw: !ro,
        propagation: "rprivate".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_read_like_docker() {
        let m = parse_bind("/tmp:/data:ro,rshared").unwrap();
        assert_eq!((m.rw, m.propagation.as_str()), (false, "rshared"));
        assert_eq!(parse_bind("/tmp:/data").unwrap().propagation, "rprivate");
        assert!(parse_bind("/tmp:data")
            .unwrap_err()
            .to_string()
            .contains("mount path must be absolute"));
        assert!(parse_bind("/tmp:/data:bogus")
            .unwrap_err()
            .to_string()
            .starts_with("invalid mode: bogus"));
        let m = parse_mount(&serde_json::json!({"Type": "bind", "Source": "/tmp", "Target": "/t", "ReadOnly": true})).unwrap();
        assert!(!m.rw);
        assert!(parse_mount(&serde_json::json!({"Type": "volume"})).is_err());
    }
}
