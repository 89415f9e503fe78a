//! Reading the `json-file` logs the supervisor writes (`LOG`, rotated to `LOG.1`...):
//! tail, since/until, and follow across rotations.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

/// One log entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1 stdout, 2 stderr.
    pub stream: u8,
    pub line: Vec<u8>,
    /// As written (RFC 3339 with nanoseconds).
    pub time: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Last N entries; `None` = all.
    pub tail: Option<usize>,
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
    pub timestamps: bool,
}

#[derive(Deserialize)]
struct Raw {
    log: String,
    stream: String,
    time: String,
}

fn parse(line: &[u8]) -> Option<Entry> {
    let r: Raw = serde_json::from_slice(line).ok()?;
    Some(Entry {
        stream: if r.stream == "stderr" { 2 } else { 1 },
        line: r.log.into_bytes(),
        time: r.time,
    })
}

impl LogOptions {
    fn wants(&self, e: &Entry) -> bool {
        let stream_ok = (e.stream == 1 && self.stdout) || (e.stream == 2 && self.stderr);
        if !stream_ok {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = muelle_types::time::parse_rfc3339(&e.time) else {
                return true;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t > u) {
                return false;
            }
        }
        true
    }
}

/// The log files, oldest first.
fn files(path: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for n in (1..100).rev() {
        let p = PathBuf::from(format!("{}.{n}", path.display()));
        if p.exists() {
            v.push(p);
        }
    }
    v.push(path.to_path_buf());
    v
}

/// Reads what is logged now. Returns the entries, and where the current file ended (inode,
/// offset) for [`Follower`].
pub fn read_all(path: &Path, opts: &LogOptions) -> (Vec<Entry>, Option<(u64, u64)>) {
    let mut out = Vec::new();
    let mut pos = None;
    for f in files(path) {
        let Ok(file) = File::open(&f) else { continue };
        let ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
        let mut r = BufReader::new(file);
        let mut line = Vec::new();
        let mut off = 0u64;
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if line.last() != Some(&b'\n') {
                        // A write in progress: read it next time.
                        break;
                    }
                    off += n as u64;
                    if let Some(e) = parse(&line) {
                        if opts.wants(&e) {
                            out.push(e);
                        }
                    }
                }
            }
        }
        if f == path {
            pos = Some((ino, off));
        }
    }
    if let Some(n) = opts.tail {
        let skip = out.len().saturating_sub(n);
        out.drain(..skip);
    }
    (out, pos)
}

/// Follows the current log file from a position, reopening it when the supervisor rotates.
pub struct Follower {
    path: PathBuf,
    file: Option<BufReader<File>>,
    ino: u64,
    off: u64,
}

impl Follower {
    pub fn new(path: &Path, pos: Option<(u64, u64)>) -> Self {
        let (ino, off) = pos.unwrap_or((0, 0));
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            ino,
            off,
        };
        f.open();
        f
    }

    fn open(&mut self) {
        if let Ok(mut file) = File::open(&self.path) {
            let ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
            if ino != self.ino {
                self.ino = ino;
                self.off = 0;
            }
            if file.seek(SeekFrom::Start(self.off)).is_ok() {
                self.file = Some(BufReader::new(file));
            }
        }
    }

    /// New entries since the last call (possibly none).
    pub fn poll(&mut self, opts: &LogOptions) -> Vec<Entry> {
        let mut out = Vec::new();
        loop {
            let mut got = false;
            if let Some(r) = self.file.as_mut() {
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if line.last() != Some(&b'\n') {
                                let _ = r.seek_relative(-(n as i64));
                                break;
                            }
                            self.off += n as u64;
                            got = true;
                            if let Some(e) = parse(&line) {
                                if opts.wants(&e) {
                                    out.push(e);
                                }
                            }
                        }
                    }
                }
            }
            // Rotated: the name now points at a new file. What was left of the old one has
            // just been read through the open handle.
            let rotated = std::fs::metadata(&self.path)
                .map(|m| m.ino() != self.ino || m.size() < self.off)
                .unwrap_or(false);
            if rotated {
                self.ino = 0;
                self.off = 0;
                self.file = None;
                self.open();
                continue;
            }
            if self.file.is_none() {
                self.open();
            }
            if !got {
                break;
            }
        }
        out
    }
}

/// How often a follower looks for new lines.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(50);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(s: &str, stream: &str) -> String {
        format!(
            "{}\n",
            serde_json::json!({"log": s, "stream": stream, "time": "2026-12-07T10:00:00.000000001Z"})
        )
    }

    #[test]
    fn tail_streams_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        std::fs::write(format!("{}.1", p.display()), line("old\n", "stdout")).unwrap();
        std::fs::write(&p, line("a\n", "stdout") + &line("b\n", "stderr")).unwrap();
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (e, pos) = read_all(&p, &all);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, b"old\n");
        let only_err = LogOptions {
            stderr: true,
            ..Default::default()
        };
        assert_eq!(read_all(&p, &only_err).0.len(), 1);
        let tail = LogOptions {
            tail: Some(1),
            ..all.clone()
        };
        assert_eq!(read_all(&p, &tail).0[0].line, b"b\n");

        let mut f = Follower::new(&p, pos);
        assert!(f.poll(&all).is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(line("c\n", "stdout").as_bytes())
            .unwrap();
        let got = f.poll(&all);
        assert_eq!(got.len(), 1);
        std::fs::rename(&p, format!("{}.1", p.display())).unwrap();
        std::fs::write(&p, line("d\n", "stdout")).unwrap();
        let got = f.poll(&all);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].line, b"d\n");
    }
}
