//! Temporary: measures gzip levels and zstd on a file (not committed).
#![allow(clippy::expect_used, clippy::unwrap_used)]
use std::io::Write;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("file");
    let data = std::fs::read(&path).expect("read");
    for level in [1u32, 2, 3, 4, 6] {
        let t = Instant::now();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(&data).unwrap();
        let out = e.finish().unwrap();
        println!(
            "flate2(zlib-rs) gzip -{level} 1 thread: {} -> {} ({:.1}%) {:?}",
            data.len(),
            out.len(),
            out.len() as f64 * 100.0 / data.len() as f64,
            t.elapsed()
        );
    }
    for (name, how) in [
        ("gzip -1 chunked", muelle_image::compress::Compression::Gzip),
        ("zstd -3 chunked", muelle_image::compress::Compression::Zstd),
    ] {
        for threads in [1, 2] {
            let t = Instant::now();
            let mut out = Vec::new();
            muelle_image::compress::compress(&mut data.as_slice(), &mut out, how, threads)
                .expect("c");
            println!(
                "{name} threads {threads}: {} -> {} ({:.1}%) {:?}",
                data.len(),
                out.len(),
                out.len() as f64 * 100.0 / data.len() as f64,
                t.elapsed()
            );
        }
    }
}
