//! Property: whatever path an image or bundle names, creating it inside a root never creates
//! or touches anything outside that root, even through hostile symlinks.

use std::os::fd::AsFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use muelle_runtime::safepath::{create_file_in_root, mkdir_all_in_root};
use proptest::prelude::*;
use rustix::fs::{Mode, OFlags};

fn component() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just(".."),
        Just("."),
        Just("abs"),
        Just("up"),
        Just("loop"),
        Just("deep"),
    ]
}

fn tree_listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                out.push(p.clone());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn creation_stays_inside(comps in proptest::collection::vec(component(), 1..8), file in any::<bool>()) {
        let base = tempfile::tempdir().expect("tempdir");
        let root = base.path().join("root");
        let outside = base.path().join("outside");
        std::fs::create_dir_all(&root).expect("root");
        std::fs::create_dir_all(&outside).expect("outside");
        // Hostile links: absolute to a host dir, relative climbing out, a loop, a chain.
        symlink(&outside, root.join("abs")).expect("abs");
        symlink("../../../../outside", root.join("up")).expect("up");
        symlink("loop", root.join("loop")).expect("loop");
        symlink("up/x", root.join("deep")).expect("deep");
        let before = tree_listing(&outside);
        let fd = rustix::fs::open(&root, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("open root");
        let path: PathBuf = std::iter::once("/").chain(comps.iter().copied()).collect();
        let _ = if file {
            create_file_in_root(fd.as_fd(), &path).map(drop)
        } else {
            mkdir_all_in_root(fd.as_fd(), &path, 0o755).map(drop)
        };
        prop_assert_eq!(tree_listing(&outside), before, "something was created outside via {:?}", path);
        let siblings: Vec<_> = std::fs::read_dir(base.path()).expect("ls").flatten().map(|e| e.file_name()).collect();
        prop_assert_eq!(siblings.len(), 2, "a sibling of the root appeared: {:?}", siblings);
    }
}
