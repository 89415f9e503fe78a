//! `--mount` (`HostConfig.Mounts`): the `bind`, `volume` and `tmpfs` entries with every
//! key of Docker's `Mount` (`BindOptions`, `VolumeOptions` with `Subpath`, `TmpfsOptions`),
//! checked as dockerd's linux mount parser checks them, with its messages; and
//! `MountExtra`, what such a mount needs at start beyond the mount point inspect shows.

use std::collections::BTreeMap;
use std::path::Path;

use muelle_types::container::MountPoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::binds::volume_point;
use super::{valid_name, MountError, MountRequest, LOCAL};

/// The parts of a mount request inspect's mount point has no field for, kept in the
/// container's record by destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountExtra {
    /// `bind-recursive=disabled` (`bind-nonrecursive`): the source's sub-mounts stay out.
    #[serde(skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    /// `bind-recursive=readonly`: sub-mounts read-only too (`rro`).
    #[serde(skip_serializing_if = "is_false")]
    pub readonly_recursive: bool,
    /// `-v /missing:/x`: dockerd makes the host directory when the container starts.
    #[serde(skip_serializing_if = "is_false")]
    pub create_source: bool,
    /// `volume-subpath`: the directory of the volume to mount instead of its root.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
    /// A `tmpfs` mount's data (`size=1m,mode=1770`), as dockerd writes it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tmpfs: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn present(m: &Value, key: &str) -> bool {
    m.get(key).is_some_and(|v| !v.is_null())
}

/// A `HostConfig.Mounts` entry.
pub fn parse_mount(m: &Value) -> Result<MountRequest, MountError> {
    let typ = m.get("Type").and_then(Value::as_str).unwrap_or("");
    let src = m.get("Source").and_then(Value::as_str).unwrap_or("");
    let dst = m.get("Target").and_then(Value::as_str).unwrap_or("");
    let bad =
        |e: String| MountError::Invalid(format!("invalid mount config for type \"{typ}\": {e}"));
    if dst.is_empty() {
        return Err(bad("field Target must not be empty".into()));
    }
    if dst.trim_end_matches('/').is_empty() {
        return Err(bad("invalid specification: destination can't be '/'".into()));
    }
    if !dst.starts_with('/') {
        return Err(bad(format!(
            "invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    let ro = m.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false);
    let bind_opts = m.get("BindOptions").filter(|v| !v.is_null());
    let flag = |o: Option<&Value>, k: &str| {
        o.and_then(|v| v.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    for (field, allowed) in [
        ("BindOptions", "bind"),
        ("VolumeOptions", "volume"),
        ("TmpfsOptions", "tmpfs"),
    ] {
        if matches!(typ, "bind" | "volume" | "tmpfs") && typ != allowed && present(m, field) {
            return Err(bad(format!("field {field} must not be specified")));
        }
    }
    match typ {
        "volume" => parse_volume(m, src, dst, ro, &bad),
        "bind" => {
            if src.is_empty() {
                return Err(bad("field Source must not be empty".into()));
            }
            let propagation = bind_opts
                .and_then(|b| b.get("Propagation"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if !matches!(
                propagation,
                "" | "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
            ) {
                return Err(bad(format!("invalid propagation mode: {propagation}")));
            }
            if !src.starts_with('/') {
                return Err(bad(format!(
                    "invalid mount path: '{src}' mount path must be absolute"
                )));
            }
            let create = flag(bind_opts, "CreateMountpoint");
            // dockerd follows a symlink here: the bind is of what it points to.
            if !create && !Path::new(src).exists() {
                return Err(bad(format!("bind source path does not exist: {src}")));
            }
            let force_rro = flag(bind_opts, "ReadOnlyForceRecursive");
            if force_rro && !ro {
                return Err(bad(
                    "option 'ReadOnlyForceRecursive' requires 'ReadOnly' to be specified in conjunction".into(),
                ));
            }
            Ok(MountRequest {
                point: MountPoint {
                    typ: "bind".into(),
                    source: clean(src),
                    destination: clean(dst),
                    rw: !ro,
                    propagation: if propagation.is_empty() {
                        "rprivate".into()
                    } else {
                        propagation.into()
                    },
                    ..Default::default()
                },
                extra: super::MountExtra {
                    non_recursive: flag(bind_opts, "NonRecursive"),
                    readonly_recursive: force_rro,
                    create_source: create,
                    ..Default::default()
                },
                ..Default::default()
            })
        }
        "tmpfs" => {
            if !src.is_empty() {
                return Err(bad("field Source must not be specified".into()));
            }
            let data = tmpfs_data(m.get("TmpfsOptions"), ro).map_err(bad)?;
            Ok(MountRequest {
                point: MountPoint {
                    typ: "tmpfs".into(),
                    destination: clean(dst),
                    rw: !ro,
                    ..Default::default()
                },
                extra: super::MountExtra {
                    tmpfs: data,
                    ..Default::default()
                },
                ..Default::default()
            })
        }
        _ => Err(bad("mount type unknown".into())),
    }
}

fn parse_volume(
    m: &Value,
    src: &str,
    dst: &str,
    ro: bool,
    bad: &dyn Fn(String) -> MountError,
) -> Result<MountRequest, MountError> {
    if !src.is_empty() && !valid_name(src) {
        return Err(MountError::Invalid(format!(
            "create {src}: \"{src}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    let vo = m.get("VolumeOptions");
    let subpath = vo
        .and_then(|v| v.get("Subpath"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !subpath.is_empty() {
        if src.is_empty() {
            return Err(bad(
                "must not set Subpath when using anonymous volumes".into()
            ));
        }
        if !is_local(subpath) {
            return Err(bad(
                "subpath must be a relative path within the volume".into()
            ));
        }
    }
    if ro && src.is_empty() {
        return Err(bad(
            "must not set ReadOnly mode when using anonymous volumes".into(),
        ));
    }
    let no_copy = vo
        .and_then(|v| v.get("NoCopy"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let dc = vo.and_then(|v| v.get("DriverConfig"));
    let driver = dc
        .and_then(|d| d.get("Name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !driver.is_empty() && driver != LOCAL {
        let create = if src.is_empty() {
            String::new()
        } else {
            format!("create {src}: ")
        };
        return Err(MountError::NotFound(format!(
            "{create}error looking up volume plugin {driver}: plugin \"{driver}\" not found"
        )));
    }
    let mode = if src.is_empty() { "" } else { "z" };
    Ok(MountRequest {
        point: volume_point(src, &clean(dst), mode, !ro),
        copy: !no_copy,
        driver_opts: string_map(dc.and_then(|d| d.get("Options"))),
        labels: string_map(vo.and_then(|v| v.get("Labels"))),
        extra: MountExtra {
            subpath: subpath.to_string(),
            ..Default::default()
        },
    })
}

/// Go's `filepath.IsLocal`: relative, not empty, never climbing out of its base.
fn is_local(p: &str) -> bool {
    if p.is_empty() || p.starts_with('/') {
        return false;
    }
    let mut depth = 0i32;
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => depth += 1,
        }
    }
    true
}

/// Go's `path.Clean` for the absolute paths of a mount.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// dockerd's `ConvertTmpfsOptions`: `ro`, `mode=` in octal, `size=` with the largest unit
/// that divides it, and the `Options` pairs it allows (`exec`, `noexec`).
fn tmpfs_data(opts: Option<&Value>, ro: bool) -> Result<String, String> {
    let mut out = Vec::new();
    if ro {
        out.push("ro".to_string());
    }
    let Some(o) = opts.filter(|v| !v.is_null()) else {
        return Ok(out.join(","));
    };
    let mode = o.get("Mode").and_then(Value::as_u64).unwrap_or(0);
    if mode != 0 {
        // The docker CLI sends `tmpfs-mode=1770` read as octal; dockerd prints it back.
        out.push(format!("mode={mode:o}"));
    }
    let size = o.get("SizeBytes").and_then(Value::as_i64).unwrap_or(0);
    if size < 0 {
        return Err(format!("invalid tmpfs size: {size}"));
    }
    if size != 0 {
        let unit = [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)]
            .into_iter()
            .find(|(_, d)| size % d == 0);
        out.push(match unit {
            Some((s, d)) => format!("size={}{s}", size / d),
            None => format!("size={size}"),
        });
    }
    for pair in o
        .get("Options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let words: Vec<&str> = pair
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match words.as_slice() {
            [k] | [k, _] if !matches!(*k, "exec" | "noexec") => {
                return Err(format!("invalid option: {k}"))
            }
            [k] => out.push(k.to_string()),
            [k, v] => out.push(format!("{k}={v}")),
            _ => return Err("invalid option array length".into()),
        }
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        parse_mount(&v).unwrap_err().to_string()
    }

    #[test]
    fn mounts_checked_as_dockerd() {
        assert_eq!(
            err(json!({"Type": "bogus", "Target": "/x"})),
            "invalid mount config for type \"bogus\": mount type unknown"
        );
        assert_eq!(
            err(json!({"Type": "bind", "Source": "/nonexistent-hs", "Target": "/x"})),
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-hs"
        );
        assert!(
            err(json!({"Type": "tmpfs", "Source": "/a", "Target": "/x"}))
                .ends_with("field Source must not be specified")
        );
        assert!(
            err(json!({"Type": "volume", "Target": "/x", "ReadOnly": true}))
                .ends_with("must not set ReadOnly mode when using anonymous volumes")
        );
        assert!(err(
            json!({"Type": "volume", "Source": "vol", "Target": "/x", "VolumeOptions": {"Subpath": "../a"}})
        )
        .ends_with("subpath must be a relative path within the volume"));
        assert!(err(
            json!({"Type": "volume", "Target": "/x", "BindOptions": {"Propagation": "rshared"}})
        )
        .ends_with("field BindOptions must not be specified"));
        let e = parse_mount(
            &json!({"Type": "volume", "Source": "vol", "Target": "/x", "VolumeOptions": {"DriverConfig": {"Name": "nosuch"}}}),
        )
        .unwrap_err();
        assert_eq!(e.kind(), muelle_types::ErrorKind::NotFound);
    }

    #[test]
    fn tmpfs_and_bind_options() {
        let t = parse_mount(&json!({"Type": "tmpfs", "Target": "/t/",
            "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}}))
        .unwrap();
        assert_eq!(t.point.destination, "/t");
        assert_eq!(t.extra.tmpfs, "mode=1770,size=1m");
        let b = parse_mount(&json!({"Type": "bind", "Source": "/tmp", "Target": "/b",
            "ReadOnly": true, "BindOptions": {"NonRecursive": true, "ReadOnlyForceRecursive": true}}))
        .unwrap();
        assert!(b.extra.non_recursive && b.extra.readonly_recursive && !b.point.rw);
        let v = parse_mount(&json!({"Type": "volume", "Source": "vol", "Target": "/v",
            "VolumeOptions": {"Subpath": "a/b"}}))
        .unwrap();
        assert_eq!(v.extra.subpath, "a/b");
        assert!(is_local("a/../b") && !is_local("a/../../b") && !is_local("/a"));
    }
}
