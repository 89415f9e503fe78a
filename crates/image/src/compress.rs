//! Layer compression for pushes: gzip or zstd, in parallel on all cores, in bounded memory.
//!
//! The input is cut into fixed chunks that worker threads compress independently; the
//! writer puts them back in order. For gzip the chunks are raw deflate streams ended by a
//! sync flush (byte-aligned, not final), so their concatenation under one gzip header and
//! trailer is a single ordinary gzip member, as pigz makes; for zstd each chunk is a frame,
//! and a zstd stream is a sequence of frames. Any gzip or zstd reader decodes the result.
//! At most `2 × threads` chunks are in flight, so memory does not grow with the layer.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use crate::manifest::media_type;

/// Bytes per chunk: big enough that a chunk's lost history (no shared dictionary) costs
/// little ratio, small enough that `2 × threads` of them in flight stay a few MiB.
pub const CHUNK: usize = 1 << 20;

/// The gzip level pushes use. Measured on a 197 MB Debian rootfs tar with zlib-rs, one
/// thread: level 1 47.4% of the size, level 2 39.7% for 1.5x the time of level 1, level 3
/// 38.3% for 2.3x, level 6 (Docker's) 37.1% for 3.2x. Level 2 is the knee.
pub const GZIP_LEVEL: u32 = 2;

/// zstd's own default level, the one Docker and containerd use.
pub const ZSTD_LEVEL: i32 = 3;

/// How a push compresses layers stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    Gzip,
    Zstd,
}

impl Compression {
    /// `gzip` or `zstd`, as the CLI flag and the API parameter spell it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The media type of the compressed form of a layer stored as `uncompressed`, or `None`
    /// when that is not an uncompressed layer type (it is then pushed as it is). Docker's
    /// schema 2 has no zstd layer type: a zstd layer in a Docker manifest takes the OCI one,
    /// which is what Docker itself does.
    pub fn media_type_for(self, uncompressed: &str) -> Option<&'static str> {
        match (uncompressed, self) {
            (media_type::DOCKER_LAYER, Compression::Gzip) => Some(media_type::DOCKER_LAYER_GZIP),
            (media_type::DOCKER_LAYER, Compression::Zstd) => Some(media_type::OCI_LAYER_ZSTD),
            (media_type::OCI_LAYER, Compression::Gzip) => Some(media_type::OCI_LAYER_GZIP),
            (media_type::OCI_LAYER, Compression::Zstd) => Some(media_type::OCI_LAYER_ZSTD),
            _ => None,
        }
    }

    /// Whether `bytes` start like a stream of this format.
    pub fn has_magic(self, bytes: &[u8]) -> bool {
        match self {
            Compression::Gzip => bytes.starts_with(&[0x1f, 0x8b]),
            Compression::Zstd => bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
        }
    }
}

/// The threads a compression uses: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

struct Job {
    seq: u64,
    data: Vec<u8>,
    last: bool,
}

/// Compresses all of `input` into `output` with `threads` workers. Returns the number of
/// uncompressed bytes read.
pub fn compress(
    input: &mut (dyn Read + Send),
    output: &mut dyn Write,
    how: Compression,
    threads: usize,
) -> io::Result<u64> {
    let threads = threads.max(1);
    let in_flight = 2 * threads;
    let (job_tx, job_rx) = sync_channel::<Job>(threads);
    let (done_tx, done_rx) = sync_channel::<(u64, io::Result<Vec<u8>>)>(in_flight);
    // A permit per chunk in flight: the reader takes one, the writer gives it back once the
    // chunk is written, which bounds the reorder buffer too.
    let (permit_tx, permit_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = permit_tx.send(());
    }
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|s| {
        let reader = s.spawn(move || read_chunks(input, job_tx, permit_rx));
        for _ in 0..threads {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            s.spawn(move || {
                // After the writer stopped, jobs are still taken (and dropped) so that the
                // reader never blocks on a full queue; it stops at its next permit.
                let mut worker = match Worker::new(how) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        let _ = done_tx.send((u64::MAX, Err(e)));
                        None
                    }
                };
                let mut writer_gone = false;
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let Some(w) = worker.as_mut().filter(|_| !writer_gone) else {
                        continue;
                    };
                    let out = w.chunk(&job.data, job.last, job.seq);
                    writer_gone = done_tx.send((job.seq, out)).is_err();
                }
            });
        }
        drop(done_tx);
        let written = write_in_order(output, how, &done_rx, &permit_tx);
        // Stop the reader and workers early on a write error: dropping the receivers
        // makes their sends fail.
        drop(done_rx);
        drop(permit_tx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reading thread panicked")));
        // The writer's error is the cause when both failed: the reader then only saw it stop.
        written?;
        let (total, crc) = read?;
        if how == Compression::Gzip {
            let mut trailer = [0u8; 8];
            trailer[..4].copy_from_slice(&crc.to_le_bytes());
            // ISIZE is the length modulo 2^32 by definition.
            trailer[4..].copy_from_slice(&((total & 0xffff_ffff) as u32).to_le_bytes());
            output.write_all(&trailer)?;
        }
        Ok(total)
    })
}

/// Reads `input` in chunks for the workers; returns its length and CRC-32 (gzip's trailer).
fn read_chunks(
    input: &mut (dyn Read + Send),
    jobs: std::sync::mpsc::SyncSender<Job>,
    permits: Receiver<()>,
) -> io::Result<(u64, u32)> {
    let mut crc = crc32fast::Hasher::new();
    let mut total = 0u64;
    let mut seq = 0u64;
    loop {
        if permits.recv().is_err() {
            return Err(io::Error::other("compression stopped"));
        }
        let mut data = Vec::with_capacity(CHUNK);
        (&mut *input).take(CHUNK as u64).read_to_end(&mut data)?;
        // A short chunk is the end; an exact multiple ends with an empty last chunk.
        let last = data.len() < CHUNK;
        crc.update(&data);
        total += data.len() as u64;
        if jobs.send(Job { seq, data, last }).is_err() {
            return Err(io::Error::other("compression stopped"));
        }
        seq += 1;
        if last {
            return Ok((total, crc.finalize()));
        }
    }
}

/// One worker's compressor, kept from chunk to chunk: making one allocates its tables and
/// window (megabytes for zstd), which per 1 MiB chunk cost more than the compression.
enum Worker {
    Gzip(flate2::write::DeflateEncoder<Vec<u8>>),
    Zstd(Box<zstd::bulk::Compressor<'static>>),
}

impl Worker {
    fn new(how: Compression) -> io::Result<Self> {
        Ok(match how {
            Compression::Gzip => Worker::Gzip(flate2::write::DeflateEncoder::new(
                Vec::new(),
                flate2::Compression::new(GZIP_LEVEL),
            )),
            Compression::Zstd => Worker::Zstd(Box::new(zstd::bulk::Compressor::new(ZSTD_LEVEL)?)),
        })
    }

    fn chunk(&mut self, data: &[u8], last: bool, seq: u64) -> io::Result<Vec<u8>> {
        match self {
            Worker::Gzip(enc) => {
                if incompressible(enc, data)? {
                    return Ok(stored(data, last));
                }
                enc.get_mut().reserve(data.len() / 2 + 64);
                enc.write_all(data)?;
                if last {
                    enc.try_finish()?;
                } else {
                    // A sync flush ends the chunk on a byte boundary without a final block.
                    enc.flush()?;
                }
                let out = std::mem::take(enc.get_mut());
                // The reset ends the stream into the emptied buffer (dropped: a final block
                // here would end the whole gzip member) and clears the state for the next.
                enc.reset(Vec::new())?;
                Ok(out)
            }
            // An empty last chunk adds no frame, unless the whole input is empty.
            Worker::Zstd(_) if data.is_empty() && seq > 0 => Ok(Vec::new()),
            Worker::Zstd(c) => c.compress(data),
        }
    }
}

/// Bytes of a chunk compressed to decide whether the chunk compresses at all.
const PROBE: usize = 16 << 10;

/// Whether deflating `data` would not be worth its CPU time: a probe of its start, then
/// of its middle and end (a chunk can straddle an incompressible file and a text one),
/// all shrink by less than 1/32. Already-compressed or random files then cost a copy
/// instead of a compression that gains nothing; the decision depends only on the bytes,
/// so the same layer always makes the same blob.
fn incompressible(
    enc: &mut flate2::write::DeflateEncoder<Vec<u8>>,
    data: &[u8],
) -> io::Result<bool> {
    if data.len() < 4 * PROBE {
        return Ok(false);
    }
    let mid = data.len() / 2 - PROBE / 2;
    for at in [0, mid, data.len() - PROBE] {
        enc.write_all(&data[at..at + PROBE])?;
        enc.flush()?;
        let out = enc.get_ref().len();
        enc.reset(Vec::new())?;
        if out < PROBE - PROBE / 32 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `data` as deflate stored blocks (at most 65,535 bytes each, five bytes of header), the
/// last one final when `last`. A chunk starts byte-aligned (the chunk before ended with a
/// sync flush, or with a stored block), so each header is one byte of BFINAL/BTYPE and
/// padding, then LEN and its complement.
fn stored(data: &[u8], last: bool) -> Vec<u8> {
    const MAX: usize = u16::MAX as usize;
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / MAX + 1));
    let mut pieces = data.chunks(MAX).peekable();
    if pieces.peek().is_none() {
        if last {
            out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        }
        return out;
    }
    while let Some(piece) = pieces.next() {
        let len = piece.len() as u16;
        out.push(u8::from(last && pieces.peek().is_none()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out
}

fn write_in_order(
    output: &mut dyn Write,
    how: Compression,
    done: &Receiver<(u64, io::Result<Vec<u8>>)>,
    permits: &std::sync::mpsc::SyncSender<()>,
) -> io::Result<()> {
    if how == Compression::Gzip {
        // No name, no mtime (reproducible), OS "unknown": the header Go's gzip writes.
        output.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
    }
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    while let Ok((seq, out)) = done.recv() {
        // A failed chunk fails the whole stream at once, in order or not.
        pending.insert(seq, out?);
        while let Some(out) = pending.remove(&next) {
            output.write_all(&out)?;
            next += 1;
            let _ = permits.send(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
