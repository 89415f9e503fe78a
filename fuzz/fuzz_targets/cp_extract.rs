//! `docker cp` archives are untrusted: extracting any byte string into a directory of a
//! container root must end in Ok or an error, never a panic, and never write outside the
//! root.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muelle_image::extract_into_root;

fuzz_target!(|data: &[u8]| {
    let Ok(outer) = tempfile::tempdir() else {
        return;
    };
    let root = outer.path().join("root");
    if std::fs::create_dir_all(root.join("dest")).is_err() {
        return;
    }
    let _ = extract_into_root(&root, "/dest", &mut &data[..], false);
    // Anything next to the root would be an escape.
    let escaped = std::fs::read_dir(outer.path()).map_or(0, |d| d.count());
    assert_eq!(escaped, 1, "a copy wrote outside its root");
});
