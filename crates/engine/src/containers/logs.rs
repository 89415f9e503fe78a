//! Reading the json-file lines the supervisor writes (`LOG`, rotated to `LOG.1`... or
//! gzipped `LOG.1.gz`...): tail, since/until, and follow across rotations.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::bufread::GzDecoder;
use muelle_supervisor::rotation::birth_ns;
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

/// An open log file: the current one, a rotated one, or a gzipped rotated one.
struct Source {
    reader: Box<dyn BufRead + Send>,
    /// The inode of the file as the supervisor wrote it (a gzipped file's says which plain
    /// file it was, from its header), so a file is known again after a rotation renamed or
    /// compressed it. Inode and birth time: the inode alone is reused by the next file.
    origin: (u64, u64),
    ino: u64,
}

/// The rotated files' numbers for `path` (`LOG.n`, `LOG.n.gz`), newest first.
fn rotated_numbers(path: &Path) -> Vec<u32> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let base = base.to_string_lossy();
    let mut v: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let rest = name
                .to_str()?
                .strip_prefix(base.as_ref())?
                .strip_prefix('.')?;
            rest.strip_suffix(".gz").unwrap_or(rest).parse().ok()
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `LOG.n`, or else `LOG.n.gz` (a plain file beside its gzip is the one being compressed).
fn open_rotated(path: &Path, n: u32) -> Option<Source> {
    if let Some(s) = open_plain(&numbered(path, n, false)) {
        return Some(s);
    }
    let file = File::open(numbered(path, n, true)).ok()?;
    let ino = file.metadata().map(|m| m.ino()).unwrap_or(0);
    let gz = GzDecoder::new(BufReader::with_capacity(64 * 1024, file));
    let origin = gz
        .header()
        .and_then(|h| h.extra())
        .and_then(|x| serde_json::from_slice::<GzMeta>(x).ok())
        .and_then(|m| Some((m.ino?, m.btime.unwrap_or(0))))
        .unwrap_or((ino, 0));
    Some(Source {
        reader: Box::new(BufReader::with_capacity(64 * 1024, gz)),
        origin,
        ino,
    })
}

fn open_plain(p: &Path) -> Option<Source> {
    let file = File::open(p).ok()?;
    let origin = identity(&file);
    Some(Source {
        reader: Box::new(BufReader::with_capacity(64 * 1024, file)),
        origin,
        ino: origin.0,
    })
}

fn numbered(path: &Path, n: u32, gz: bool) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n}{}", if gz { ".gz" } else { "" }));
    PathBuf::from(p)
}

/// The gzip header's metadata the supervisor writes (see `muelle_supervisor::rotation`).
#[derive(Deserialize)]
struct GzMeta {
    ino: Option<u64>,
    btime: Option<u64>,
}

/// A plain file's inode and birth time.
fn identity(file: &File) -> (u64, u64) {
    file.metadata()
        .map(|m| (m.ino(), birth_ns(&m)))
        .unwrap_or((0, 0))
}

/// Reads the complete entries of `r` the options want; returns the bytes consumed.
fn read_entries(r: &mut dyn BufRead, opts: &LogOptions, out: &mut Vec<Entry>) -> u64 {
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
    off
}

/// Reads what is logged now, across the rotated files (gzipped or not), oldest first.
/// Returns the entries, and where the current file ended (inode, offset) for [`Follower`].
pub fn read_all(path: &Path, opts: &LogOptions) -> (Vec<Entry>, Option<(u64, u64)>) {
    // Opened newest first, so a rotation while this runs shows as a file seen twice (known
    // by its inode), not as a file missed.
    let mut sources = Vec::new();
    let current = open_plain(path);
    let mut seen: Vec<(u64, u64)> = current.iter().map(|s| s.origin).collect();
    for n in rotated_numbers(path) {
        if let Some(s) = open_rotated(path, n) {
            if !seen.contains(&s.origin) {
                seen.push(s.origin);
                sources.push(s);
            }
        }
    }
    let mut pos = None;
    let mut chunks: Vec<Vec<Entry>> = Vec::new();
    let mut count = 0usize;
    if let Some(mut c) = current {
        let mut v = Vec::new();
        let off = read_entries(&mut *c.reader, opts, &mut v);
        pos = Some((c.ino, off));
        count += v.len();
        chunks.push(v);
    }
    for mut s in sources {
        // With --tail, the older files are only read while the newer ones hold too few.
        if opts.tail.is_some_and(|n| count >= n) {
            break;
        }
        let mut v = Vec::new();
        read_entries(&mut *s.reader, opts, &mut v);
        count += v.len();
        chunks.push(v);
    }
    let mut out = Vec::with_capacity(count);
    for v in chunks.into_iter().rev() {
        out.extend(v);
    }
    if let Some(n) = opts.tail {
        let skip = out.len().saturating_sub(n);
        out.drain(..skip);
    }
    (out, pos)
}

/// Follows the current log file from a position, reopening it when the supervisor rotates;
/// files rotated away between two polls are read in between.
pub struct Follower {
    path: PathBuf,
    file: Option<BufReader<File>>,
    ino: u64,
    /// The birth time of the file being read (see [`Source::origin`]).
    btime: u64,
    off: u64,
}

impl Follower {
    pub fn new(path: &Path, pos: Option<(u64, u64)>) -> Self {
        let (ino, off) = pos.unwrap_or((0, 0));
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            ino,
            btime: 0,
            off,
        };
        f.open();
        f
    }

    fn open(&mut self) {
        if let Ok(mut file) = File::open(&self.path) {
            let (ino, btime) = identity(&file);
            self.btime = btime;
            if ino != self.ino {
                self.ino = ino;
                self.off = 0;
            }
            if file.seek(SeekFrom::Start(self.off)).is_ok() {
                self.file = Some(BufReader::new(file));
            }
        }
    }

    /// The files rotated after the one `origin` names (all of them when it is gone: more
    /// rotations than files kept), oldest first.
    fn rotated_after(&self, origin: (u64, u64)) -> Vec<Source> {
        let mut newer = Vec::new();
        for n in rotated_numbers(&self.path) {
            let Some(s) = open_rotated(&self.path, n) else {
                continue;
            };
            if s.origin == origin {
                break;
            }
            newer.push(s);
        }
        newer.reverse();
        newer
    }

    /// New entries since the last call (possibly none).
    pub fn poll(&mut self, opts: &LogOptions) -> Vec<Entry> {
        let mut out = Vec::new();
        loop {
            let mut got = false;
            if let Some(r) = self.file.as_mut() {
                let n = read_entries(r, opts, &mut out);
                self.off += n;
                got = n > 0;
            }
            // Rotated: the name now points at a new file. What was left of the old one has
            // just been read through the open handle.
            let (renamed, truncated) = std::fs::metadata(&self.path)
                .map(|m| (m.ino() != self.ino, m.size() < self.off))
                .unwrap_or((false, false));
            if renamed && self.ino != 0 {
                if let Some(r) = self.file.as_mut() {
                    // Written between the read above and the rename.
                    read_entries(r, opts, &mut out);
                }
                for mut s in self.rotated_after((self.ino, self.btime)) {
                    read_entries(&mut *s.reader, opts, &mut out);
                }
            }
            if renamed || truncated {
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

    fn write_lines(log: &mut muelle_supervisor::logfile::JsonFileLog, from: u32, to: u32) {
        for i in from..to {
            log.write(
                1,
                format!("line-{i}\n").as_bytes(),
                "2026-12-07T10:00:00.000000001Z",
            )
            .unwrap();
        }
    }

    fn numbers(e: &[Entry]) -> Vec<u32> {
        e.iter()
            .map(|e| {
                let s = String::from_utf8_lossy(&e.line);
                s.trim().trim_start_matches("line-").parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn reads_across_gzipped_rotations_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut log = muelle_supervisor::logfile::JsonFileLog::open(&p, 1000, 4, true).unwrap();
        write_lines(&mut log, 0, 200);
        assert!(numbered(&p, 1, true).exists() && numbered(&p, 3, true).exists());
        assert!(!numbered(&p, 4, true).exists() && !numbered(&p, 1, false).exists());
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let got = numbers(&read_all(&p, &all).0);
        assert_eq!(*got.last().unwrap(), 199);
        assert!(got.len() > 30, "{got:?}");
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
        // More than the current file holds: the tail reaches into the gzipped ones.
        let tail = LogOptions {
            tail: Some(30),
            ..all.clone()
        };
        assert_eq!(
            numbers(&read_all(&p, &tail).0),
            (170..200).collect::<Vec<_>>()
        );
    }

    #[test]
    fn follow_reads_files_rotated_between_polls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut log = muelle_supervisor::logfile::JsonFileLog::open(&p, 1000, 5, true).unwrap();
        write_lines(&mut log, 0, 5);
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (first, pos) = read_all(&p, &all);
        assert_eq!(numbers(&first), (0..5).collect::<Vec<_>>());
        let mut f = Follower::new(&p, pos);
        // Three rotations before the next poll.
        write_lines(&mut log, 5, 60);
        let mut got = numbers(&first);
        got.extend(numbers(&f.poll(&all)));
        write_lines(&mut log, 60, 70);
        got.extend(numbers(&f.poll(&all)));
        assert_eq!(got, (0..70).collect::<Vec<_>>());
    }
}
