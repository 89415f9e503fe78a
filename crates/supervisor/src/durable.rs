//! Files written so that a reader sees the old content or the new, never part of it: temp
//! file, rename. `write_durable` adds an fsync before the rename, so that a crash of the
//! machine cannot tear the file either; `write_atomic` leaves it out for what a reboot makes
//! moot anyway (an exit record: after a reboot the container is gone whatever it said; the
//! records of `--rm` containers, which the daemon removes at its start).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `path` with mode 0600: records hold a container's environment (passwords passed
/// with -e) and its config, which other host users must not read (Docker's are 0600 too).
pub fn write_durable(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_durable_mode(path, data, 0o600)
}

/// [`write_durable`] with another mode, for files a container's non-root users must read
/// through a bind mount (/etc/hosts, /etc/resolv.conf, /etc/hostname: 0644 as Docker's).
/// The temporary file is `.NAME.tmp` beside `path`, which whoever owns the directory
/// removes after a crash.
pub fn write_durable_mode(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    write_file(path, data, mode, true)
}

/// Writes `path` (mode 0600) whole or not at all for every reader and for a killed writer,
/// without waiting for the disk: a crash of the machine may leave the old content or none.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_file(path, data, 0o600, false)
}

/// [`write_atomic`] with another mode.
pub fn write_atomic_mode(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    write_file(path, data, mode, false)
}

fn write_file(path: &Path, data: &[u8], mode: u32, sync: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("f")
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(data)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // On a full disk a torn temporary file would only hold on to space.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_files_with_their_mode() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("rec.json");
        write_durable(&p, b"one")?;
        write_durable(&p, b"two")?;
        assert_eq!(std::fs::read(&p)?, b"two");
        assert_eq!(std::fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
        let hosts = dir.path().join("hosts");
        write_durable_mode(&hosts, b"127.0.0.1 localhost\n", 0o644)?;
        assert_eq!(
            std::fs::metadata(&hosts)?.permissions().mode() & 0o777,
            0o644
        );
        write_atomic_mode(&hosts, b"127.0.0.1 localhost\n::1 localhost\n", 0o644)?;
        assert_eq!(
            std::fs::read(&hosts)?,
            b"127.0.0.1 localhost\n::1 localhost\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
        Ok(())
    }

    #[test]
    fn failure_leaves_no_temporary_file() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        // A directory in the way: the rename fails.
        let p = dir.path().join("busy");
        std::fs::create_dir(&p)?;
        std::fs::write(p.join("x"), b"")?;
        assert!(write_durable(&p, b"data").is_err());
        assert!(!dir.path().join(".busy.tmp").exists());
        Ok(())
    }
}
