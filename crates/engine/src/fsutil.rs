//! Filesystem helpers the engine's stores share: durable writes (a reader or a crash sees
//! the old or the new content, never part), private directories, the leftovers of writes
//! cut short, and the size of a tree.

use std::path::Path;

// The shim writes its exit record the same way: one implementation, the supervisor's.
pub(crate) use muelle_supervisor::durable::{write_durable, write_durable_mode};

/// Removes what a write cut short by a crash or a full disk left in a directory:
/// `write_durable`'s `.NAME.tmp` (the shim's exit record is written the same way).
pub(crate) fn remove_temporary_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Creates `dir` (and missing parents) and closes it to other host users: a container's
/// directories hold its config, logs and rootfs, and a rootfs reachable by others would let
/// them run setuid binaries planted by container root (CVE-2021-41091).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The bytes of the regular files under `p`, not following links; unreadable parts count
/// as empty (a size is an estimate for `ps -s`, not a reason to fail).
pub(crate) fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rec.json");
        write_durable(&p, b"one").unwrap();
        write_durable(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        std::fs::write(dir.path().join(".rec.json.tmp"), b"torn").unwrap();
        remove_temporary_files(dir.path());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rec.json")]);
        assert_eq!(dir_size(dir.path()), 3);
    }
}
