//! The build context as the request body: a tar, plain or compressed as dockerd accepts it
//! (its `archive.DecompressStream`: gzip, bzip2, xz, and zstd here too), handed to the
//! engine as a blocking reader that pulls the body as the engine reads, so a large context is
//! never held whole in memory.
//!
//! The compression is known only from the first bytes, which arrive on the engine's
//! (blocking) side: the reader looks at them on its first read.

use std::io::{self, Chain, Cursor, Read};

/// A compressed context: which format the magic bytes named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// What the first bytes of a stream say about its compression (as `archive.DetectCompression`).
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Bytes needed to tell every format apart (xz's magic is the longest).
const MAGIC_LEN: usize = 6;

type Replayed<R> = Chain<Cursor<Vec<u8>>, R>;

enum State<R> {
    Unread(R),
    Reading(Box<dyn Read + Send>),
    /// Only between the two, or after a failure to look at the first bytes.
    Gone,
}

/// The decompressing reader over a raw body reader.
pub struct ContextReader<R> {
    state: State<R>,
}

impl<R: Read + Send + 'static> ContextReader<R> {
    pub fn new(raw: R) -> Self {
        ContextReader {
            state: State::Unread(raw),
        }
    }

    fn start(mut raw: R) -> io::Result<Box<dyn Read + Send>> {
        let mut head = Vec::with_capacity(MAGIC_LEN);
        (&mut raw).take(MAGIC_LEN as u64).read_to_end(&mut head)?;
        let kind = detect(&head);
        let replay: Replayed<R> = Cursor::new(head).chain(raw);
        Ok(match kind {
            Compression::None => Box::new(replay),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(replay)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(replay)?),
            Compression::Bzip2 | Compression::Xz => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "the build context is {} compressed, which muelled does not read: send it as a plain or gzip- or zstd-compressed tar",
                        if kind == Compression::Bzip2 { "bzip2" } else { "xz" }
                    ),
                ))
            }
        })
    }
}

impl<R: Read + Send + 'static> Read for ContextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let State::Reading(r) = &mut self.state {
            return r.read(buf);
        }
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Unread(raw) => {
                let mut r = Self::start(raw)?;
                let n = r.read(buf);
                self.state = State::Reading(r);
                n
            }
            _ => Err(io::Error::other(
                "the build context could not be read after an earlier error",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A reader that hands out one byte a call: the magic must survive short reads.
    struct Trickle(Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    fn read_all(data: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ContextReader::new(Trickle(Cursor::new(data))).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn plain_and_compressed() {
        let plain = b"a tar, or anything really".to_vec();
        assert_eq!(read_all(plain.clone()).unwrap(), plain);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        assert_eq!(read_all(gz.finish().unwrap()).unwrap(), plain);
        let zst = zstd::stream::encode_all(Cursor::new(plain.clone()), 1).unwrap();
        assert_eq!(read_all(zst).unwrap(), plain);
        assert_eq!(read_all(Vec::new()).unwrap(), Vec::<u8>::new());
        assert_eq!(read_all(b"ab".to_vec()).unwrap(), b"ab");
    }

    #[test]
    fn unsupported_formats_say_so() {
        let e = read_all(b"BZh91AY&SY".to_vec()).unwrap_err();
        assert!(e.to_string().contains("bzip2"), "{e}");
        assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]), Compression::Xz);
    }
}
