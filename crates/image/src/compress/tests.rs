//! Round trips through real decoders, at chunk edges, and failure propagation.

use std::io::{self, Read, Write};

use super::*;

fn sample(len: usize) -> Vec<u8> {
    // Compressible with some noise, so chunks differ.
    let mut state = 0x1234_5678u32;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 7 == 0 {
                state as u8
            } else {
                b"layer text "[i % 11]
            }
        })
        .collect()
}

fn roundtrip(how: Compression, len: usize, threads: usize) -> Vec<u8> {
    let data = sample(len);
    let mut out = Vec::new();
    let n = compress(&mut data.as_slice(), &mut out, how, threads).expect("compress");
    assert_eq!(n, len as u64);
    assert!(how.has_magic(&out), "{how:?} output starts with its magic");
    let mut back = Vec::new();
    match how {
        // A single-member decoder: the chunks must form one gzip member, not several.
        Compression::Gzip => flate2::read::GzDecoder::new(out.as_slice())
            .read_to_end(&mut back)
            .expect("gunzip"),
        Compression::Zstd => zstd::stream::read::Decoder::new(out.as_slice())
            .expect("zstd decoder")
            .read_to_end(&mut back)
            .expect("unzstd"),
    };
    assert_eq!(back, data, "{how:?} of {len} bytes with {threads} threads");
    out
}

#[test]
fn gzip_and_zstd_roundtrip_at_chunk_edges() {
    for how in [Compression::Gzip, Compression::Zstd] {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            for threads in [1, 3] {
                roundtrip(how, len, threads);
            }
        }
    }
}

#[test]
fn output_is_deterministic_whatever_the_thread_count() {
    for how in [Compression::Gzip, Compression::Zstd] {
        let a = roundtrip(how, 2 * CHUNK + 5, 1);
        let b = roundtrip(how, 2 * CHUNK + 5, 4);
        assert_eq!(
            a, b,
            "{how:?}: the same bytes make the same blob, so its digest is reused"
        );
    }
}

#[test]
fn compresses() {
    let out = roundtrip(Compression::Gzip, 2 * CHUNK, 2);
    assert!(out.len() < CHUNK, "{} bytes", out.len());
}

fn random(len: usize, seed: u64) -> Vec<u8> {
    // splitmix64: bytes no deflate can shrink.
    let mut state = seed;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        v.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    v.truncate(len);
    v
}

fn gunzip_with_gzip(gz: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .args(["-d", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = gz.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("gzip output");
    feeder.join().expect("feeder").expect("fed gzip");
    assert!(out.status.success(), "gzip -d accepts the stream");
    out.stdout
}

#[test]
fn incompressible_chunks_are_stored_and_decode_everywhere() {
    // Random chunks (stored), a text chunk between them (deflated), a random chunk that
    // starts with text (deflated: its probe finds text), and a random tail that is the
    // final chunk (stored, with the final block).
    let mut data = random(2 * CHUNK, 1);
    data.extend(sample(CHUNK));
    let mut mixed = sample(CHUNK / 2);
    mixed.extend(random(CHUNK / 2, 2));
    data.extend(mixed);
    data.extend(random(CHUNK / 3, 3));
    for threads in [1, 2] {
        let mut out = Vec::new();
        compress(&mut data.as_slice(), &mut out, Compression::Gzip, threads).expect("compress");
        let random_len = 2 * CHUNK + CHUNK / 3;
        assert!(
            out.len() > random_len && out.len() < data.len(),
            "random chunks stored ({} bytes of {})",
            out.len(),
            data.len()
        );
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(out.as_slice())
            .read_to_end(&mut back)
            .expect("flate2 gunzip");
        assert_eq!(back, data, "flate2 decodes it");
        assert_eq!(gunzip_with_gzip(&out), data, "gzip -d decodes it");
    }
    // Stored chunks at every edge: an exact multiple (empty final chunk), one short.
    for len in [CHUNK, 2 * CHUNK, 2 * CHUNK - 1, 4 * PROBE, 4 * PROBE - 1] {
        let data = random(len, len as u64);
        let mut out = Vec::new();
        compress(&mut data.as_slice(), &mut out, Compression::Gzip, 2).expect("compress");
        assert_eq!(
            gunzip_with_gzip(&out),
            data,
            "gzip -d of {len} random bytes"
        );
    }
}

#[test]
fn stored_blocks_are_split_at_their_limit() {
    let data = random(3 * 65535 + 7, 9);
    let out = stored(&data, true);
    assert_eq!(out.len(), data.len() + 4 * 5);
    assert_eq!(out[0], 0, "not final");
    assert_eq!(out[3 * (65535 + 5)], 1, "the last block is final");
    let mut back = Vec::new();
    flate2::read::DeflateDecoder::new(out.as_slice())
        .read_to_end(&mut back)
        .expect("inflate");
    assert_eq!(back, data);
    assert_eq!(stored(&[], true), vec![1, 0, 0, 0xff, 0xff]);
}

struct FailingReader(usize);

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("disk gone"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(7);
        self.0 -= n;
        Ok(n)
    }
}

struct FailingWriter(usize);

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0 < buf.len() {
            return Err(io::Error::other("disk full"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn errors_stop_the_pipeline() {
    let mut out = Vec::new();
    let err = compress(
        &mut FailingReader(3 * CHUNK + 1),
        &mut out,
        Compression::Gzip,
        2,
    )
    .expect_err("read error");
    assert_eq!(err.to_string(), "disk gone");
    let data = sample(8 * CHUNK);
    let err = compress(
        &mut data.as_slice(),
        &mut FailingWriter(100),
        Compression::Zstd,
        2,
    )
    .expect_err("write error");
    assert_eq!(err.to_string(), "disk full");
}

#[test]
fn media_types() {
    use crate::manifest::media_type as mt;
    let g = Compression::Gzip;
    assert_eq!(
        g.media_type_for(mt::DOCKER_LAYER),
        Some(mt::DOCKER_LAYER_GZIP)
    );
    assert_eq!(g.media_type_for(mt::OCI_LAYER), Some(mt::OCI_LAYER_GZIP));
    let z = Compression::Zstd;
    assert_eq!(z.media_type_for(mt::OCI_LAYER), Some(mt::OCI_LAYER_ZSTD));
    assert_eq!(g.media_type_for(mt::OCI_LAYER_GZIP), None);
    assert_eq!(z.media_type_for(mt::DOCKER_LAYER_GZIP), None);
    assert_eq!(Compression::parse("zstd"), Some(z));
    assert_eq!(Compression::parse("xz"), None);
}
