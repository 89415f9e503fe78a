//! `--volumes-from CONTAINER[:MODE]` (`HostConfig.VolumesFrom`): every mount of the other
//! container (its volumes, binds and tmpfs mounts), whether or not it runs, read-only when
//! it was or when `ro` is asked; a container's own `-v` and `--mount` win at the same
//! destination, as in dockerd.

use super::{MountError, MountRequest};
use crate::containers::ContainerError;
use crate::{Engine, Result};

/// dockerd's `ParseVolumesFrom`: the container and whether the mounts stay writable. A mode
/// is `rw`/`ro` with at most one SELinux label and one consistency word; propagation and
/// copy modes are refused.
fn parse_spec(spec: &str) -> std::result::Result<(&str, bool), MountError> {
    if spec.is_empty() {
        return Err(MountError::Invalid(
            "volumes-from specification cannot be an empty string".into(),
        ));
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, ""));
    if mode.is_empty() {
        return Ok((id, true));
    }
    let invalid = || MountError::Invalid(format!("invalid mode: {mode}"));
    let (mut rw_words, mut labels, mut consistency) = (0, 0, 0);
    let mut rw = true;
    for w in mode.split(',') {
        match w {
            "rw" => rw_words += 1,
            "ro" => {
                rw_words += 1;
                rw = false;
            }
            "z" | "Z" => labels += 1,
            "consistent" | "cached" | "delegated" => consistency += 1,
            _ => return Err(invalid()),
        }
    }
    if rw_words > 1 || labels > 1 || consistency > 1 {
        return Err(invalid());
    }
    Ok((id, rw))
}

/// The requests of `from` the container's own `own` do not cover (same destination), then
/// `own`.
pub fn merge_by_destination(from: Vec<MountRequest>, own: Vec<MountRequest>) -> Vec<MountRequest> {
    let mut all: Vec<MountRequest> = from
        .into_iter()
        .filter(|f| {
            !own.iter()
                .any(|o| o.point.destination == f.point.destination)
        })
        .collect();
    all.extend(own);
    all
}

impl Engine {
    /// The mount requests `--volumes-from` gives, in the order of `specs`; a later
    /// container's mount at a destination replaces an earlier one's.
    pub fn volumes_from(&self, specs: &[String]) -> Result<Vec<MountRequest>> {
        let mut out: Vec<MountRequest> = Vec::new();
        for spec in specs {
            let (id, writable) = parse_spec(spec).map_err(ContainerError::from)?;
            // dockerd answers 400 here, not 404 (which would send the docker CLI pulling).
            let other = self
                .containers
                .find(id)
                .map_err(|_| ContainerError::Invalid(format!("No such container: {id}")))?
                .record();
            for m in &other.mounts {
                let mut point = m.clone();
                point.rw = m.rw && writable;
                // dockerd keeps the mount, not the words it was asked with.
                point.mode = String::new();
                let req = MountRequest {
                    extra: other
                        .mount_extras
                        .get(&m.destination)
                        .cloned()
                        .unwrap_or_default(),
                    point,
                    ..Default::default()
                };
                out.retain(|r| r.point.destination != req.point.destination);
                out.push(req);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_dockerd() {
        assert_eq!(parse_spec("c").unwrap(), ("c", true));
        assert_eq!(parse_spec("c:ro").unwrap(), ("c", false));
        assert_eq!(parse_spec("c:rw,z").unwrap(), ("c", true));
        for bad in ["c:rshared", "c:bogus", "c:nocopy", "c:ro,rw"] {
            let mode = bad.split_once(':').unwrap().1;
            assert_eq!(
                parse_spec(bad).unwrap_err().to_string(),
                format!("invalid mode: {mode}")
            );
        }
        assert!(parse_spec("")
            .unwrap_err()
            .to_string()
            .contains("cannot be an empty string"));
    }
}
