//! Layers are untrusted: applying any byte string (as plain tar, or sniffed gzip/zstd) must
//! end in a summary or an error, never a panic, and never write outside the target root.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muelle_image::unpack::{apply_layer, open_layer, UnpackOptions, MEDIA_TYPE_OCI_LAYER};

fuzz_target!(|data: &[u8]| {
    let Ok(outer) = tempfile::tempdir() else {
        return;
    };
    let root = outer.path().join("root");
    if std::fs::create_dir(&root).is_err() {
        return;
    }
    let opts = UnpackOptions::default();
    if let Ok(layer) = open_layer(data, MEDIA_TYPE_OCI_LAYER) {
        let _ = apply_layer(layer, &root, &opts);
    }
    // Anything next to the root would be an escape.
    let escaped = std::fs::read_dir(outer.path()).map_or(0, |d| d.count());
    assert_eq!(escaped, 1, "layer wrote outside its root");
});
