//! The `-v SRC:DST[:MODE]` mounts of a create request (`HostConfig.Binds`) as Docker checks
//! them, and `MountRequest`, what every kind of mount request becomes. A volume's source is
//! a name (or nothing, for an anonymous volume); the store resolves it later.

use std::collections::BTreeMap;

use muelle_types::container::MountPoint;

use super::{valid_name, MountError, MountExtra, LOCAL};

fn invalid(message: String) -> MountError {
    MountError::Invalid(message)
}

/// One mount a container asks for. For a volume, `point.name` is empty for an anonymous
/// one and `point.source` is filled in when the volume is known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MountRequest {
    pub point: MountPoint,
    /// Whether a new empty volume gets the image's content at the destination.
    pub copy: bool,
    /// For a volume created on use (`--mount ...,volume-driver=,volume-opt=`).
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// What the mount needs at start that inspect does not show.
    pub extra: MountExtra,
}

impl MountRequest {
    pub fn is_volume(&self) -> bool {
        self.point.typ == "volume"
    }

    /// An anonymous volume at `dst` (`-v /path`, the image's or the config's `Volumes`).
    pub fn anonymous(dst: &str) -> Self {
        MountRequest {
            point: volume_point("", dst, "", true),
            copy: true,
            ..Default::default()
        }
    }
}

pub(super) fn volume_point(name: &str, dst: &str, mode: &str, rw: bool) -> MountPoint {
    MountPoint {
        typ: "volume".into(),
        name: name.into(),
        source: String::new(),
        destination: dst.into(),
        driver: LOCAL.into(),
        mode: mode.into(),
        rw,
        propagation: String::new(),
    }
}

/// A `-v` entry: `/host:/ctr[:modes]` binds a host path; `name:/ctr[:modes]` mounts a
/// named volume; `/ctr` alone is an anonymous volume. Modes: `ro`, `rw`, propagation (binds),
/// `nocopy` (volumes); SELinux `z`/`Z` are accepted and have no effect.
pub fn parse_bind(b: &str) -> Result<MountRequest, MountError> {
    let parts: Vec<&str> = b.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] if d.starts_with('/') => return Ok(MountRequest::anonymous(d)),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(invalid(format!("invalid volume specification: '{b}'"))),
    };
    let volume = !src.starts_with('/');
    let typ = if volume { "volume" } else { "bind" };
    if !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{b}': invalid mount config for type \"{typ}\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    if volume && !valid_name(src) {
        return Err(invalid(format!(
            "create {src}: \"{src}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    let mut rw = true;
    let mut copy = true;
    let mut propagation = String::new();
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        match m {
            "ro" => rw = false,
            "rw" => rw = true,
            "z" | "Z" => {}
            "nocopy" if volume => copy = false,
            "nocopy" => {}
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" if !volume => {
                propagation = m.trim_start_matches('r').to_string()
            }
            _ => {
                return Err(invalid(format!(
                    "invalid mode: {m} in volume specification '{b}'"
                )))
            }
        }
    }
    if volume {
        let mode = if mode.is_empty() { "z" } else { mode };
        return Ok(MountRequest {
            point: volume_point(src, dst, mode, rw),
            copy,
            ..Default::default()
        });
    }
    // As dockerd: `-v` makes a missing host directory when the container starts.
    Ok(MountRequest {
        extra: MountExtra {
            create_source: true,
            ..Default::default()
        },
        point: MountPoint {
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
            ..Default::default()
        },
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volumes::parse_mount;

    #[test]
    fn binds_read_like_docker() {
        let m = parse_bind("/tmp:/data:ro,rshared").unwrap().point;
        assert_eq!((m.rw, m.propagation.as_str()), (false, "rshared"));
        assert_eq!(
            parse_bind("/tmp:/data").unwrap().point.propagation,
            "rprivate"
        );
        assert!(parse_bind("/tmp:data")
            .unwrap_err()
            .to_string()
            .contains("mount path must be absolute"));
        assert!(parse_bind("/tmp:/data:bogus")
            .unwrap_err()
            .to_string()
            .starts_with("invalid mode: bogus"));
        let m = parse_mount(&serde_json::json!({"Type": "bind", "Source": "/tmp", "Target": "/t", "ReadOnly": true})).unwrap();
        assert!(!m.point.rw);
        assert!(parse_mount(&serde_json::json!({"Type": "volume"}))
            .unwrap_err()
            .to_string()
            .contains("field Target must not be empty"));
        assert!(parse_bind("a/b:/x")
            .unwrap_err()
            .to_string()
            .contains("invalid characters"));
    }

    #[test]
    fn volumes_read_like_docker() {
        let v = parse_bind("data:/d").unwrap();
        assert!(v.is_volume() && v.copy);
        assert_eq!(
            (v.point.name.as_str(), v.point.mode.as_str()),
            ("data", "z")
        );
        let v = parse_bind("data:/d:ro,nocopy").unwrap();
        assert!(!v.point.rw && !v.copy);
        let a = parse_bind("/anon").unwrap();
        assert!(a.is_volume() && a.point.name.is_empty() && a.point.mode.is_empty());
        let m = parse_mount(
            &serde_json::json!({"Type": "volume", "Source": "x1", "Target": "/t",
            "VolumeOptions": {"NoCopy": true, "DriverConfig": {"Options": {"type": "tmpfs"}}}}),
        )
        .unwrap();
        assert!(!m.copy);
        assert_eq!(m.driver_opts.get("type").map(String::as_str), Some("tmpfs"));
    }
}
