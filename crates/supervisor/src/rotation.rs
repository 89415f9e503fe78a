//! Rotation of a log file: `LOG` → `LOG.1` → … → `LOG.(max-file - 1)`, the oldest dropped.
//! With compression the rotated files are gzip (`LOG.1.gz`, …), as Docker's json-file and
//! local drivers keep them.
//!
//! Compression runs in the writer, synchronously: the shim has no threads (it forks the
//! container's init and exec'd processes, which must not inherit a lock held by another
//! thread), and a fast gzip level keeps the pause short. The gzip header's extra field holds
//! `{"lastTime":…,"ino":…,"btime":…}`: Docker's reader takes `lastTime` from it (to skip
//! files older than `--since`); the inode and birth time (ns) of the file before compression
//! tell a follower which rotated file is the one it was reading (an inode alone is reused at
//! once by the next file).

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::ShimError;

/// `LOG.n`, or `LOG.n.gz`.
pub fn numbered(path: &Path, n: u32, gz: bool) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n}{}", if gz { ".gz" } else { "" }));
    PathBuf::from(p)
}

fn rename_if_there(from: &Path, to: &Path) -> Result<(), ShimError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ShimError::path("rotate log", from, e)),
    }
}

/// Moves `LOG` to `LOG.1` (plain) and each older file one up, dropping what falls beyond
/// `max_file` files in all. With `gz`, the older files are the compressed ones; a plain
/// `LOG.1` left by an interrupted compression is compressed first.
pub fn shift(path: &Path, max_file: u32, gz: bool, last_time: &str) -> Result<(), ShimError> {
    if gz {
        finish_compression(path, last_time)?;
    }
    let oldest = numbered(path, max_file - 1, gz);
    match std::fs::remove_file(&oldest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ShimError::path("remove rotated log", oldest, e)),
    }
    for n in (1..max_file - 1).rev() {
        rename_if_there(&numbered(path, n, gz), &numbered(path, n + 1, gz))?;
    }
    rename_if_there(path, &numbered(path, 1, false))
}

/// Compresses a plain `LOG.1` if one is there (an earlier shim stopped between the rename
/// and the compression); a complete `LOG.1.gz` beside it makes the plain file redundant.
pub fn finish_compression(path: &Path, last_time: &str) -> Result<(), ShimError> {
    let plain = numbered(path, 1, false);
    if !plain.exists() {
        return Ok(());
    }
    if numbered(path, 1, true).exists() {
        return std::fs::remove_file(&plain)
            .map_err(|e| ShimError::path("remove rotated log", plain, e));
    }
    compress(&plain, last_time)
}

/// `FILE` → `FILE.gz` (written aside, then renamed), then `FILE` removed. A reader that
/// finds both reads the plain one.
pub fn compress(plain: &Path, last_time: &str) -> Result<(), ShimError> {
    let fail = |what, e| ShimError::path(what, plain, e);
    let src = File::open(plain).map_err(|e| fail("open rotated log", e))?;
    let meta = src.metadata().map_err(|e| fail("stat rotated log", e))?;
    let ino = meta.ino();
    let btime = birth_ns(&meta);
    let mut gz = plain.as_os_str().to_owned();
    gz.push(".gz");
    let gz = PathBuf::from(gz);
    let mut tmp = gz.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = (|| -> io::Result<()> {
        let out = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut extra = Vec::with_capacity(80);
        extra.extend_from_slice(b"{\"lastTime\":\"");
        extra.extend_from_slice(last_time.as_bytes());
        extra.extend_from_slice(format!("\",\"ino\":{ino},\"btime\":{btime}}}").as_bytes());
        let mut enc = flate2::GzBuilder::new()
            .extra(extra)
            .write(out, flate2::Compression::fast());
        io::copy(&mut BufReader::with_capacity(32 * 1024, src), &mut enc)?;
        enc.finish()?.flush()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("compress rotated log", e));
    }
    // The compressor's state (hundreds of KiB) was freed; without a trim the heap would keep
    // it, and it would count in this container's private memory for good.
    muelle_runtime::sys::release_free_memory();
    std::fs::rename(&tmp, &gz).map_err(|e| fail("compress rotated log", e))?;
    std::fs::remove_file(plain).map_err(|e| fail("remove rotated log", e))
}

/// A file's birth time in nanoseconds since the epoch, 0 where the filesystem has none.
pub fn birth_ns(meta: &std::fs::Metadata) -> u64 {
    meta.created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn shifts_and_compresses() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.log");
        for round in 0..4 {
            std::fs::write(&log, format!("round {round}\n")).unwrap();
            shift(&log, 3, true, "2026-12-07T10:00:00Z").unwrap();
            compress(&numbered(&log, 1, false), "2026-12-07T10:00:00Z").unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["c.log.1.gz", "c.log.2.gz"]);
        let f = File::open(numbered(&log, 1, true)).unwrap();
        let mut d = flate2::read::GzDecoder::new(f);
        let mut s = String::new();
        d.read_to_string(&mut s).unwrap();
        assert_eq!(s, "round 3\n");
        let extra = d.header().and_then(|h| h.extra()).unwrap();
        let meta: serde_json::Value = serde_json::from_slice(extra).unwrap();
        assert_eq!(meta["lastTime"], "2026-12-07T10:00:00Z");
        assert!(meta["ino"].as_u64().is_some());
    }

    #[test]
    fn interrupted_compression_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.log");
        std::fs::write(numbered(&log, 1, false), "left\n").unwrap();
        std::fs::write(&log, "now\n").unwrap();
        shift(&log, 3, true, "2026-12-07T10:00:00Z").unwrap();
        assert!(numbered(&log, 2, true).exists());
        assert!(numbered(&log, 1, false).exists());
        assert!(!log.exists());
    }
}
