//! Compressed streams as dockerd's `DecompressStream` detects them, by their first bytes:
//! gzip, bzip2, xz, zstd, else plain. Used for the context tar (POST /build's body) and
//! for ADD of a local archive, which is one when its decompressed stream starts with a
//! valid tar header (dockerd's `isArchivePath`).

use std::io::{self, BufReader, Chain, Cursor, Read};

const GZIP: &[u8] = &[0x1f, 0x8b, 0x08];
const BZIP2: &[u8] = b"BZh";
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// The compression a stream starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(GZIP) {
        Compression::Gzip
    } else if head.starts_with(BZIP2) {
        Compression::Bzip2
    } else if head.starts_with(XZ) {
        Compression::Xz
    } else if head.starts_with(ZSTD) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

type Sniffed<R> = Chain<Cursor<Vec<u8>>, R>;

/// Wraps `input` in the decompressor its first bytes call for.
pub(crate) fn decompress<'r, R: Read + 'r>(
    mut input: R,
) -> io::Result<(Compression, Box<dyn Read + 'r>)> {
    let mut head = vec![0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    let kind = sniff(&head);
    let stream: Sniffed<R> = Cursor::new(head).chain(input);
    let reader: Box<dyn Read + 'r> = match kind {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(stream)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(stream)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(BufReader::new(
            stream,
        ))?),
    };
    Ok((kind, reader))
}

/// Whether the (possibly compressed) stream is a tar archive: its first header parses
/// with a valid checksum. Read errors count as "not an archive", as in dockerd.
pub(crate) fn is_archive<R: Read>(input: R) -> bool {
    let Ok((_, reader)) = decompress(input) else {
        return false;
    };
    let mut ar = tar::Archive::new(reader);
    let Ok(mut entries) = ar.entries() else {
        return false;
    };
    matches!(entries.next(), Some(Ok(_)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_cksum();
        if let Err(e) = b.append_data(&mut h, "x", &b"hi"[..]) {
            panic!("{e}");
        }
        match b.into_inner() {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    fn compressed(kind: Compression, data: &[u8]) -> Vec<u8> {
        let r: io::Result<Vec<u8>> = (|| match kind {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => {
                let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                w.write_all(data)?;
                w.finish()
            }
            Compression::Bzip2 => {
                let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                w.write_all(data)?;
                w.finish()
            }
            Compression::Xz => {
                let mut w = liblzma::write::XzEncoder::new(Vec::new(), 1);
                w.write_all(data)?;
                w.finish()
            }
            Compression::Zstd => zstd::stream::encode_all(data, 1),
        })();
        match r {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_compression_detected_and_read() {
        let plain = tar_bytes();
        for kind in [
            Compression::None,
            Compression::Gzip,
            Compression::Bzip2,
            Compression::Xz,
            Compression::Zstd,
        ] {
            let data = compressed(kind, &plain);
            let (got, mut r) = match decompress(&data[..]) {
                Ok(x) => x,
                Err(e) => panic!("{kind:?}: {e}"),
            };
            assert_eq!(got, kind);
            let mut out = Vec::new();
            assert!(r.read_to_end(&mut out).is_ok());
            assert_eq!(out, plain, "{kind:?}");
            assert!(is_archive(&data[..]), "{kind:?}");
        }
    }

    #[test]
    fn text_and_empty_files_are_not_archives() {
        assert!(!is_archive(&b""[..]));
        assert!(!is_archive(&b"hello world\n"[..]));
        assert!(!is_archive(&vec![b'x'; 2048][..]));
        assert!(!is_archive(&vec![0u8; 2048][..]));
        assert!(!is_archive(
            &compressed(Compression::Gzip, b"not a tar")[..]
        ));
    }
}
