//! dockerd's check of a bind with `shared`/`slave` propagation: the host mount holding the
//! source must itself be shared (or, for `slave`, shared or a slave), or the propagation
//! asked for could never happen; the start fails with dockerd's words instead.

use std::path::{Path, PathBuf};

use super::VolumeError;

/// The mount point holding `path` and its mountinfo optional fields (`shared:1 master:2`).
fn source_mount(path: &Path, mountinfo: &str) -> Option<(PathBuf, String)> {
    let mut best: Option<(PathBuf, String)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mp), true) = (fields.get(4), sep >= 6) else {
            continue;
        };
        let mp = PathBuf::from(unescape(mp));
        if !path.starts_with(&mp) {
            continue;
        }
        // The longest match wins; a later mount on the same point hides an earlier one.
        if best
            .as_ref()
            .is_none_or(|(b, _)| mp.as_os_str().len() >= b.as_os_str().len())
        {
            best = Some((mp, fields[6..sep].join(" ")));
        }
    }
    best
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks `source` for a bind asked with `propagation` (`rshared`, `slave`, ...).
pub fn check(source: &str, propagation: &str) -> Result<(), VolumeError> {
    let shared_only = match propagation.trim_start_matches('r') {
        "shared" => true,
        "slave" => false,
        _ => return Ok(()),
    };
    let path = std::fs::canonicalize(source).unwrap_or_else(|_| PathBuf::from(source));
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(|source| VolumeError::Io {
            what: "reading",
            path: PathBuf::from("/proc/self/mountinfo"),
            source,
        })?;
    let Some((mp, optional)) = source_mount(&path, &info) else {
        return Ok(());
    };
    let has = |p: &str| optional.split(' ').any(|o| o.starts_with(p));
    let (ok, what) = if shared_only {
        (has("shared:"), "a shared mount")
    } else {
        (has("shared:") || has("master:"), "a shared or slave mount")
    };
    if ok {
        return Ok(());
    }
    Err(VolumeError::Invalid(format!(
        "path {} is mounted on {} but it is not {what}",
        path.display(),
        mp.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
        30 22 0:5 / /tmp rw - tmpfs tmpfs rw\n\
        31 22 0:6 / /mnt/a\\040b rw master:3 - tmpfs tmpfs rw\n";

    #[test]
    fn finds_the_mount_holding_a_path() {
        let (mp, opt) = source_mount(Path::new("/tmp/x"), INFO).unwrap();
        assert_eq!((mp.to_str().unwrap(), opt.as_str()), ("/tmp", ""));
        let (mp, opt) = source_mount(Path::new("/home"), INFO).unwrap();
        assert_eq!((mp.to_str().unwrap(), opt.as_str()), ("/", "shared:1"));
        let (mp, opt) = source_mount(Path::new("/mnt/a b/c"), INFO).unwrap();
        assert_eq!(
            (mp.to_str().unwrap(), opt.as_str()),
            ("/mnt/a b", "master:3")
        );
    }
}
