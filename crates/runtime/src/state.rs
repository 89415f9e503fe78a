//! The container's state directory under `--root`: `state.json` (written atomically) and a
//! copy of the config it was created with. The status is never stored: it is derived each
//! time from the init process and the cgroup, so a crash cannot leave it stale.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::Manager;
use crate::error::{Result, RuntimeError};

/// Name of the unix socket on which a created container's init waits for `start`.
pub const EXEC_SOCK: &str = "exec.sock";

/// The lifecycle status of runtime.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What is persisted about a container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// Start time of the init in clock ticks since boot (/proc/PID/stat field 22): tells a
    /// live init from a recycled pid.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub cgroup: Option<Manager>,
    /// The container has its own pid namespace (else `kill --all` and `delete` must kill
    /// every process in the cgroup).
    pub own_pidns: bool,
}

/// The state output of runtime.md (plus runc's extra fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
}

/// Checks a container id the way runc does.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(RuntimeError::InvalidId(id.to_string()))
    }
}

/// Writes `data` to `path` atomically: temp file in the same directory, then rename, so a
/// reader sees the old or the new content, never a part.
///
/// No fsync: this is runtime state under `--root` (a tmpfs such as /run on most hosts), which
/// describes live processes and means nothing after the machine restarts; an fsync on a disk
/// filesystem would cost more than the rest of `create`.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    // 0600: the state holds the container's config path, pid and annotations, as runc's.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| RuntimeError::path("create", &tmp, e))?;
    f.write_all(data)
        .map_err(|e| RuntimeError::path("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RuntimeError::path("rename", &tmp, e))?;
    Ok(())
}

/// An exclusive lock on a container's state directory, held for the life of the value.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, waiting for other runtime invocations on the same container.
    pub fn take(dir: &Path) -> Result<Lock> {
        let f = File::open(dir).map_err(|e| RuntimeError::path("open state directory", dir, e))?;
        rustix::fs::flock(f.as_fd(), rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| RuntimeError::path("lock state directory", dir, e))?;
        Ok(Lock { _file: f })
    }
}

impl Saved {
    /// Loads `<root>/<id>/state.json`.
    pub fn load(root: &Path, id: &str) -> Result<Saved> {
        validate_id(id)?;
        let path = root.join(id).join("state.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RuntimeError::NotFound(id.to_string()))
            }
            Err(e) => return Err(RuntimeError::path("read", &path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            RuntimeError::InvalidConfig(format!("{}: corrupt state: {e}", path.display()))
        })
    }

    /// Saves it atomically.
    pub fn save(&self, root: &Path) -> Result<()> {
        let data = serde_json::to_vec(self)
            .map_err(|e| RuntimeError::Child(format!("encode state: {e}")))?;
        write_atomic(&root.join(&self.id).join("state.json"), &data)
    }

    /// The current status, derived from the init process, the exec socket and the freezer.
    pub fn status(&self, root: &Path) -> Status {
        if self.pid <= 0 {
            return Status::Creating;
        }
        if !alive(self.pid, self.start_time) {
            return Status::Stopped;
        }
        if root.join(&self.id).join(EXEC_SOCK).exists() {
            return Status::Created;
        }
        if let Some(cg) = &self.cgroup {
            if cg.is_frozen().unwrap_or(false) {
                return Status::Paused;
            }
        }
        Status::Running
    }

    /// The runtime.md state object.
    pub fn oci(&self, root: &Path) -> OciState {
        let status = self.status(root);
        OciState {
            oci_version: "1.2.0".into(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: self.owner.clone(),
            annotations: self.annotations.clone(),
        }
    }
}

/// Start time (field 22 of /proc/PID/stat) and state letter of a process.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let mut it = rest.split_whitespace();
    let st = it.next()?.chars().next()?;
    let start = it.nth(18)?.parse().ok()?;
    Some((start, st))
}

/// The init is alive and is the same process as recorded (not a recycled pid, not a zombie).
pub fn alive(pid: i32, start_time: u64) -> bool {
    match proc_stat(pid) {
        Some((start, st)) => start == start_time && st != 'Z' && st != 'X',
        None => false,
    }
}

/// Now as RFC 3339 with nanoseconds, UTC.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Formats seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from day count (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("../x").is_err());
        assert!(validate_id("a/b").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_700_000_000, 5), "2023-11-14T22:13:20.000000005Z");
    }

    #[test]
    fn self_is_alive() {
        let pid = std::process::id() as i32;
        let (st, _) = proc_stat(pid).expect("stat");
        assert!(alive(pid, st));
        assert!(!alive(pid, st + 1));
    }
}
