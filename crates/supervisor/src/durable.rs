//! Files written so that a reader, or a crash of the machine, sees the old content or the
//! new, never part of it: temp file, fsync, rename. The daemon's records and the shim's
//! exit record both go through here.

use std::fs::File;
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
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // On a full disk a torn temporary file would only hold on to space.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Makes the last rename in `path`'s directory durable too: for a file that is all that
/// is left of something after a crash (the exit record).
pub fn sync_parent(path: &Path) {
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
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
        sync_parent(&hosts);
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
