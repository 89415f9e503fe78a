//! Small helpers over cgroupfs files. Every error names the file and, for writes, the value.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CgroupError;

/// Explains why a controller file can be absent, so that a missing file reads as a
/// configuration problem of the host rather than as a bug.
fn missing_hint(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("memory.memsw.") || name == "memory.swap.max" {
        "swap accounting is disabled in this kernel (boot with swapaccount=1) or there is no swap"
    } else if name.starts_with("memory.kmem.") {
        "kernel memory accounting is not available in this kernel"
    } else if name.starts_with("hugetlb.") {
        "this huge page size is not supported by the kernel, or the hugetlb controller is not enabled"
    } else if name.starts_with("cpu.rt_") {
        "the kernel was built without CONFIG_RT_GROUP_SCHED"
    } else if name == "cgroup.freeze" {
        "the cgroup v2 freezer needs Linux 5.2 or later"
    } else {
        "the controller or the kernel feature is not available, or the cgroup does not exist"
    }
}

/// Writes `value` to a cgroup control file in a single write, as cgroupfs parses each
/// write on its own. The file is never created: a missing control file means the kernel
/// does not support the setting, and creating a regular file would hide that.
pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let file = fs::OpenOptions::new().write(true).truncate(true).open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CgroupError::MissingFile {
                path: path.to_path_buf(),
                value: value.to_string(),
                hint: missing_hint(path).to_string(),
            })
        }
        Err(e) => return Err(write_error(path, value, e)),
    };
    file.write_all(value.as_bytes())
        .map_err(|e| write_error(path, value, e))
}

fn write_error(path: &Path, value: &str, source: io::Error) -> CgroupError {
    CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    }
}

/// Like [`write`] for files the kernel may legitimately lack (documented optional
/// settings). Returns whether the file existed.
pub(crate) fn write_optional(path: &Path, value: &str) -> Result<bool, CgroupError> {
    match write(path, value) {
        Ok(()) => Ok(true),
        Err(CgroupError::MissingFile { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether a write failed with the given errno, used where the kernel's answer decides
/// the order of two dependent writes.
pub(crate) fn is_errno(err: &CgroupError, errno: i32) -> bool {
    matches!(err, CgroupError::Write { source, .. } if source.raw_os_error() == Some(errno))
}

pub(crate) fn read_string(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Io {
        what: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a file that may be absent (stats of controllers or features that are not there).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, CgroupError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Io {
            what: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_error(path: &Path, detail: impl Into<String>) -> CgroupError {
    CgroupError::Parse {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Parses a single number; "max" (v2) maps to `u64::MAX`, as does v1's "-1".
pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64, CgroupError> {
    let s = s.trim();
    if s == "max" || s == "-1" {
        return Ok(u64::MAX);
    }
    s.parse::<u64>()
        .map_err(|e| parse_error(path, format!("{s:?} is not a number: {e}")))
}

pub(crate) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    parse_u64(path, &read_string(path)?)
}

pub(crate) fn read_u64_optional(path: &Path) -> Result<Option<u64>, CgroupError> {
    read_optional(path)?
        .map(|s| parse_u64(path, &s))
        .transpose()
}

/// Parses whitespace-separated numbers (cpuacct.usage_percpu).
pub(crate) fn parse_u64_list(path: &Path, content: &str) -> Result<Vec<u64>, CgroupError> {
    content
        .split_whitespace()
        .map(|s| parse_u64(path, s))
        .collect()
}

/// Parses a flat keyed file: one "key value" pair a line (memory.stat, cpu.stat,
/// cgroup.events).
pub(crate) fn parse_flat_keyed(
    path: &Path,
    content: &str,
) -> Result<BTreeMap<String, u64>, CgroupError> {
    let mut map = BTreeMap::new();
    for line in content.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next(), fields.next()) {
            (Some(key), Some(value), None) => {
                map.insert(key.to_string(), parse_u64(path, value)?);
            }
            _ => {
                return Err(parse_error(
                    path,
                    format!("line {line:?} is not \"key value\""),
                ))
            }
        }
    }
    Ok(map)
}

/// Lines of a nested keyed file, each its key and its sub-keys.
pub(crate) type NestedKeyed = Vec<(String, BTreeMap<String, u64>)>;

/// Parses a nested keyed file: "key sub=value sub=value" a line (io.stat, io.max).
pub(crate) fn parse_nested_keyed(path: &Path, content: &str) -> Result<NestedKeyed, CgroupError> {
    let mut out = Vec::new();
    for line in content.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else { continue };
        let mut sub = BTreeMap::new();
        for field in fields {
            let (k, v) = field.split_once('=').ok_or_else(|| {
                parse_error(path, format!("{field:?} in {line:?} is not key=value"))
            })?;
            sub.insert(k.to_string(), parse_u64(path, v)?);
        }
        out.push((key.to_string(), sub));
    }
    Ok(out)
}

/// Parses "major:minor".
pub(crate) fn parse_dev(path: &Path, s: &str) -> Result<(u64, u64), CgroupError> {
    let (maj, min) = s
        .split_once(':')
        .ok_or_else(|| parse_error(path, format!("{s:?} is not major:minor")))?;
    Ok((parse_u64(path, maj)?, parse_u64(path, min)?))
}

pub(crate) fn create_dir_all(path: &Path) -> Result<(), CgroupError> {
    fs::create_dir_all(path).map_err(|source| CgroupError::Io {
        what: "create directory",
        path: path.to_path_buf(),
        source,
    })
}

/// Creates one directory level; an existing directory is fine.
pub(crate) fn create_dir(path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CgroupError::Io {
            what: "create directory",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Sub-directories of `dir`, i.e. child cgroups. A vanished directory has none.
pub(crate) fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                what: "list directory",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Io {
            what: "list directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let file_type = entry.file_type().map_err(|source| CgroupError::Io {
            what: "stat",
            path: entry.path(),
            source,
        })?;
        if file_type.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Names of the files in `dir` (for discovering per-page-size hugetlb files).
pub(crate) fn file_names(dir: &Path) -> Result<Vec<String>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Io {
                what: "list directory",
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CgroupError::Io {
            what: "list directory",
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some(name) = entry.file_name().to_str() {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// All pids in `dir`'s cgroup.procs and in those of its descendants. A cgroup that is
/// gone (container stopped and cleaned up) has no pids.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let procs = d.join("cgroup.procs");
        if let Some(content) = read_optional(&procs)? {
            for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let pid = line
                    .parse::<i32>()
                    .map_err(|e| parse_error(&procs, format!("{line:?} is not a pid: {e}")))?;
                pids.push(pid);
            }
        }
        stack.extend(child_dirs(&d)?);
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Removes a cgroup directory and its child cgroups, deepest first. cgroupfs lets rmdir
/// remove a directory that still lists control files, but refuses (EBUSY) while tasks are
/// inside; tasks that were just killed can take a moment to leave, hence the retries.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    // The usual case, a leaf whose tasks are gone, is one rmdir; listing the directory first
    // would cost five more syscalls in each of a v1 host's dozen hierarchies.
    match fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    let mut order = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        stack.extend(child_dirs(&d)?);
        order.push(d);
    }
    // Parents were pushed before their children, so reversing removes leaves first.
    for d in order.iter().rev() {
        rmdir_retry(d)?;
    }
    Ok(())
}

fn rmdir_retry(dir: &Path) -> Result<(), CgroupError> {
    const ATTEMPTS: u32 = 6;
    let mut delay = Duration::from_millis(10);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < ATTEMPTS => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(source) => {
                return Err(CgroupError::Io {
                    what: "remove cgroup directory",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Polls `check` until it returns true, with growing sleeps, for at most `limit`. Returns
/// whether the condition was met. Freezing is asynchronous in the kernel, so callers
/// need a bounded wait rather than a single read.
pub(crate) fn wait_until(
    limit: Duration,
    mut check: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        if check()? {
            return Ok(true);
        }
        if start.elapsed() >= limit {
            return Ok(false);
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed() {
        let p = Path::new("memory.stat");
        let m = parse_flat_keyed(p, "cache 10\nrss 20\n\nswap max\n").unwrap();
        assert_eq!(m["cache"], 10);
        assert_eq!(m["rss"], 20);
        assert_eq!(m["swap"], u64::MAX);
        assert!(parse_flat_keyed(p, "cache ten\n").is_err());
        assert!(parse_flat_keyed(p, "cache 1 2\n").is_err());
    }

    #[test]
    fn nested_keyed() {
        let p = Path::new("io.stat");
        let v = parse_nested_keyed(p, "8:0 rbytes=1 wbytes=2\n8:16 rbps=max\n").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, "8:0");
        assert_eq!(v[0].1["wbytes"], 2);
        assert_eq!(v[1].1["rbps"], u64::MAX);
        assert!(parse_nested_keyed(p, "8:0 rbytes\n").is_err());
    }

    #[test]
    fn write_missing_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.memsw.limit_in_bytes");
        let err = write(&path, "100").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("memory.memsw.limit_in_bytes"), "{msg}");
        assert!(msg.contains("swap accounting"), "{msg}");
        assert!(!path.exists(), "write must not create control files");
        assert!(!write_optional(&path, "1").unwrap());
        fs::write(&path, "").unwrap();
        assert!(write_optional(&path, "1").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "1");
    }

    #[test]
    fn pids_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("c");
        fs::create_dir_all(top.join("sub/deeper")).unwrap();
        fs::write(top.join("cgroup.procs"), "5\n3\n").unwrap();
        fs::write(top.join("sub/deeper/cgroup.procs"), "7\n3\n").unwrap();
        assert_eq!(pids_recursive(&top).unwrap(), vec![3, 5, 7]);
        assert!(pids_recursive(&dir.path().join("absent"))
            .unwrap()
            .is_empty());
        for f in ["c/cgroup.procs", "c/sub/deeper/cgroup.procs"] {
            fs::remove_file(dir.path().join(f)).unwrap();
        }
        remove_tree(&top).unwrap();
        assert!(!top.exists());
        remove_tree(&top).unwrap();
    }
}
