//! Docker's `json-file` log driver: one JSON object per line, split at 16 KiB, with
//! size-based rotation (and gzip of the rotated files, see [`crate::rotation`]). The `local`
//! driver writes the same format in its own directory.
//!
//! The encoding follows Docker's `jsonlog.JSONLogs.MarshalJSONBuf` byte for byte (key order
//! `log`, `stream`, `time`; `<`, `>`, `&` and control characters as `\u00XX`; invalid UTF-8
//! as `\ufffd`), so files written here read back through any json-file reader, Docker's
//! included.

use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use crate::error::ShimError;
use crate::frame::{STDERR, STDOUT};
use crate::rotation;

/// Longest entry: Docker's log copier splits longer lines into entries of this size.
pub const MAX_LINE: usize = 16 * 1024;

/// A batch of entries is written once it holds this much.
const BATCH_MAX: usize = 32 * 1024;

/// The batch buffer is given back when a huge entry made it grow past this.
const SCRATCH_KEEP: usize = 64 * 1024;

/// An open json-file log with the partial line of each stream.
pub struct JsonFileLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_file: u32,
    compress: bool,
    /// The time of the last entry, kept with a compressed file.
    last_time: String,
    /// Partial lines of stdout and stderr (at most [`MAX_LINE`] bytes each).
    partial: [Vec<u8>; 2],
    /// Entries encoded and not written yet (see [`JsonFileLog::entry`]).
    scratch: Vec<u8>,
}

fn open_append(path: &Path) -> Result<File, ShimError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| ShimError::path("open log", path, e))
}

impl JsonFileLog {
    /// Opens (appending to) the log at `path`. `max_size` 0 means unlimited; `max_file` is
    /// the number of files kept in all, at least 1; `compress` gzips the rotated files.
    pub fn open(
        path: &Path,
        max_size: u64,
        max_file: u32,
        compress: bool,
    ) -> Result<JsonFileLog, ShimError> {
        let compress = compress && max_file > 1;
        if compress {
            rotation::finish_compression(path, "")?;
        }
        let file = open_append(path)?;
        let size = file
            .metadata()
            .map_err(|e| ShimError::path("stat log", path, e))?
            .len();
        Ok(JsonFileLog {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_file: max_file.max(1),
            compress,
            last_time: String::new(),
            partial: [Vec::new(), Vec::new()],
            scratch: Vec::new(),
        })
    }

    /// Logs bytes read from `stream` (1 stdout, 2 stderr) at `time` (RFC 3339): every
    /// complete line, and every 16 KiB of a longer one, becomes an entry.
    pub fn write(&mut self, stream: u8, mut data: &[u8], time: &str) -> Result<(), ShimError> {
        let idx = usize::from(stream == STDERR);
        while !data.is_empty() {
            let room = MAX_LINE - self.partial[idx].len();
            let take = room.min(data.len());
            match data[..take].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if self.partial[idx].is_empty() {
                        // The common case: a whole line in one read, logged without a copy.
                        self.entry(stream, &data[..=i], time)?;
                    } else {
                        let mut line = std::mem::take(&mut self.partial[idx]);
                        line.extend_from_slice(&data[..=i]);
                        let r = self.entry(stream, &line, time);
                        line.clear();
                        self.partial[idx] = line;
                        r?;
                    }
                    data = &data[i + 1..];
                }
                None => {
                    self.partial[idx].extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial[idx].len() == MAX_LINE {
                        self.flush_stream(stream, time)?;
                    }
                }
            }
        }
        self.flush_batch()
    }

    /// Writes the partial line of `stream` (at EOF) as an entry without `\n`.
    pub fn flush_stream(&mut self, stream: u8, time: &str) -> Result<(), ShimError> {
        let idx = usize::from(stream == STDERR);
        if self.partial[idx].is_empty() {
            return Ok(());
        }
        let mut line = std::mem::take(&mut self.partial[idx]);
        let r = self.entry(stream, &line, time);
        line.clear();
        // A partial buffer is only kept while small: most streams never need one again.
        if line.capacity() <= 4096 {
            self.partial[idx] = line;
        }
        r.and_then(|()| self.flush_batch())
    }

    /// Writes both partial lines.
    pub fn flush_all(&mut self, time: &str) -> Result<(), ShimError> {
        self.flush_stream(STDOUT, time)?;
        self.flush_stream(STDERR, time)
    }

    /// Encodes an entry into the batch (`scratch`), which goes to the file in one write at
    /// the end of each read (or when it is large, or before a rotation): one system call per
    /// read rather than per line.
    fn entry(&mut self, stream: u8, line: &[u8], time: &str) -> Result<(), ShimError> {
        let start = self.scratch.len();
        let s = &mut self.scratch;
        s.extend_from_slice(b"{\"log\":");
        escape_into(s, line);
        s.extend_from_slice(if stream == STDERR {
            b",\"stream\":\"stderr\",\"time\":\""
        } else {
            b",\"stream\":\"stdout\",\"time\":\""
        });
        s.extend_from_slice(time.as_bytes());
        s.extend_from_slice(b"\"}\n");
        let len = (s.len() - start) as u64;
        let before = self.size + start as u64;
        if self.max_size > 0 && before > 0 && before + len > self.max_size {
            // The entries before this one fill the current file; this one starts the next.
            let entry = self.scratch.split_off(start);
            let r = self.flush_batch();
            self.scratch = entry;
            if let Err(e) = r.and_then(|()| self.rotate()) {
                self.scratch.clear();
                return Err(e);
            }
        }
        if self.compress {
            self.last_time.clear();
            self.last_time.push_str(time);
        }
        if self.scratch.len() >= BATCH_MAX {
            self.flush_batch()?;
        }
        Ok(())
    }

    /// Writes the batch of entries.
    fn flush_batch(&mut self) -> Result<(), ShimError> {
        if self.scratch.is_empty() {
            return Ok(());
        }
        let r = self.file.write_all(&self.scratch);
        let len = self.scratch.len() as u64;
        self.scratch.clear();
        if self.scratch.capacity() > SCRATCH_KEEP {
            self.scratch = Vec::new();
        }
        if let Err(e) = r {
            // A full disk may have taken part of the batch: cut it off, or the next entry
            // would continue a torn line no json-file reader can parse. Shrinking needs no
            // space.
            let _ = self.file.set_len(self.size);
            return Err(ShimError::path("write log", &self.path, e));
        }
        self.size += len;
        Ok(())
    }

    /// LOG.(n-1) → LOG.n … LOG → LOG.1, then a new LOG; with one file, LOG is truncated.
    fn rotate(&mut self) -> Result<(), ShimError> {
        if self.max_file <= 1 {
            self.file
                .set_len(0)
                .map_err(|e| ShimError::path("truncate log", &self.path, e))?;
            self.size = 0;
            return Ok(());
        }
        rotation::shift(&self.path, self.max_file, self.compress, &self.last_time)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        if self.compress {
            rotation::compress(&rotation::numbered(&self.path, 1, false), &self.last_time)?;
        }
        Ok(())
    }
}

/// How often a run of failing log writes is reported after the first failure.
pub const FAILURE_REPORT_EVERY: Duration = Duration::from_secs(10);

/// Reports failures of a repeated operation (log writes on a full disk fail for every
/// line the container prints) without flooding the reporter's own log, which lives in
/// the exec root (`/run`): the first failure, then at most one line per interval with the
/// number of failures since the previous report.
#[derive(Debug)]
pub struct FailureReport {
    every: Duration,
    last: Option<Instant>,
    unreported: u64,
}

impl FailureReport {
    pub fn new(every: Duration) -> FailureReport {
        FailureReport {
            every,
            last: None,
            unreported: 0,
        }
    }

    /// A failure at `now`: the line to report, or None while the interval since the last
    /// report is running (the failure is counted).
    pub fn failed(&mut self, now: Instant, err: &dyn Display) -> Option<String> {
        if let Some(last) = self.last {
            if now.saturating_duration_since(last) < self.every {
                self.unreported += 1;
                return None;
            }
        }
        let line = match std::mem::take(&mut self.unreported) {
            0 => err.to_string(),
            n => format!("{err} ({n} more failures since the last report)"),
        };
        self.last = Some(now);
        Some(line)
    }

    /// After a success: the count of failures not yet reported, if any, and a fresh start
    /// (the next failure is reported at once).
    pub fn recovered(&mut self) -> Option<String> {
        self.last?;
        self.last = None;
        match std::mem::take(&mut self.unreported) {
            0 => None,
            n => Some(format!("{n} more failures before the writes worked again")),
        }
    }
}

/// Appends `s` as a JSON string the way Docker's json-file driver encodes it.
pub fn escape_into(buf: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            if b >= 0x20 && b != b'\\' && b != b'"' && b != b'<' && b != b'>' && b != b'&' {
                i += 1;
                continue;
            }
            buf.extend_from_slice(&s[start..i]);
            match b {
                b'\\' | b'"' => buf.extend_from_slice(&[b'\\', b]),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => {
                    buf.extend_from_slice(b"\\u00");
                    buf.push(HEX[usize::from(b >> 4)]);
                    buf.push(HEX[usize::from(b & 0xf)]);
                }
            }
            i += 1;
            start = i;
            continue;
        }
        match utf8_char(&s[i..]) {
            None => {
                buf.extend_from_slice(&s[start..i]);
                buf.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
            }
            Some((c, size)) if c == '\u{2028}' || c == '\u{2029}' => {
                buf.extend_from_slice(&s[start..i]);
                buf.extend_from_slice(if c == '\u{2028}' {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += size;
                start = i;
            }
            Some((_, size)) => i += size,
        }
    }
    buf.extend_from_slice(&s[start..]);
    buf.push(b'"');
}

/// Decodes the UTF-8 character at the start of `s`, as Go's `utf8.DecodeRune` (None where it
/// returns RuneError with width 1).
fn utf8_char(s: &[u8]) -> Option<(char, usize)> {
    let width = match s.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let bytes = s.get(..width)?;
    let c = std::str::from_utf8(bytes).ok()?.chars().next()?;
    Some((c, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &[u8]) -> String {
        let mut v = Vec::new();
        escape_into(&mut v, s);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn escapes_like_docker() {
        assert_eq!(esc(b"hello\n"), r#""hello\n""#);
        assert_eq!(esc(b"a\tb\r\n"), r#""a\u0009b\r\n""#);
        assert_eq!(esc(b"<&>\"\\"), r#""\u003c\u0026\u003e\"\\""#);
        assert_eq!(esc("é\u{2028}x".as_bytes()), "\"é\\u2028x\"");
        assert_eq!(esc(b"a\xffb"), r#""a\ufffdb""#);
        assert_eq!(esc(b"\xe2\x82"), r#""\ufffd\ufffd""#);
        assert_eq!(esc(b"\x1b[0m"), r#""\u001b[0m""#);
    }

    #[test]
    fn failures_are_reported_first_then_once_per_interval() {
        let mut r = FailureReport::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(
            r.failed(t0, &"write log: ENOSPC").as_deref(),
            Some("write log: ENOSPC")
        );
        for i in 1..1000u64 {
            assert_eq!(r.failed(t0 + Duration::from_millis(i), &"x"), None);
        }
        let line = r.failed(t0 + Duration::from_secs(11), &"write log: ENOSPC");
        assert_eq!(
            line.as_deref(),
            Some("write log: ENOSPC (999 more failures since the last report)")
        );
        assert_eq!(r.failed(t0 + Duration::from_secs(12), &"x"), None);
        assert_eq!(
            r.recovered().as_deref(),
            Some("1 more failures before the writes worked again")
        );
        assert_eq!(r.recovered(), None);
        assert!(r.failed(t0 + Duration::from_secs(13), &"x").is_some());
    }

    #[test]
    fn utf8_decoding_matches_go_for_surrogates() {
        // Go refuses encoded surrogates (ED A0 80) byte by byte, as from_utf8 does.
        assert_eq!(esc(b"\xed\xa0\x80"), r#""\ufffd\ufffd\ufffd""#);
    }
}
