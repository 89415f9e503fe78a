//! Source selection and content hashes; the COPY tar layouts are in copy_tests.rs.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use super::*;
use crate::context::testutil::*;

fn hash(root: &Path, sources: &[&str]) -> String {
    must(sel(root, sources)).content_hash()
}

/// The context of a legacy `docker build` whose history dockerd wrote as below.
fn dockerd_context(root: &Path) {
    write(root, "a", "hi\n", 0o644);
    write(root, "b", "yo\n", 0o644);
    mkdir(root, "d", 0o755);
    write(root, "d/f", "x\n", 0o644);
    write(
        root,
        "Dockerfile",
        "FROM busybox\nCOPY d /x\nCOPY a b /y/\nCOPY . /z\n",
        0o644,
    );
}

#[test]
fn hashes_match_dockerd_legacy_history() {
    let t = tmp();
    dockerd_context(t.path());
    assert_eq!(
        hash(t.path(), &["a"]),
        "file:44fdb488ba091c424bb85514ad4f8505736c7296d8346737a050670e007dbccb"
    );
    assert_eq!(
        hash(t.path(), &["d"]),
        "dir:3194b2e5677da225aa6ceceb7ba5811f45cc1db3f7ac4404507af694ae897d22"
    );
    assert_eq!(
        hash(t.path(), &["a", "b"]),
        "multi:b72b294885e275404fc67b425076cdfb3b2ef6a95e1d1882a1fad959280e06bf"
    );
    assert_eq!(
        hash(t.path(), &["."]),
        "dir:63fa9639852766c9438dc4973a22550a784bd884677989a11d4e0e9fb5841c16"
    );
    // Spellings of the same sources hash the same.
    assert_eq!(hash(t.path(), &["./d/"]), hash(t.path(), &["d"]));
    assert_eq!(hash(t.path(), &["/a"]), hash(t.path(), &["a"]));
}

#[test]
fn hash_follows_exactly_what_is_selected() {
    let t = tmp();
    dockerd_context(t.path());
    let base = hash(t.path(), &["d"]);
    write(t.path(), "a", "changed\n", 0o644);
    assert_eq!(hash(t.path(), &["d"]), base, "an unselected file changed");
    write(t.path(), "d/f", "y\n", 0o644);
    let bytes = hash(t.path(), &["d"]);
    assert_ne!(bytes, base, "bytes");
    must(fs::set_permissions(
        t.path().join("d/f"),
        fs::Permissions::from_mode(0o600),
    ));
    let mode = hash(t.path(), &["d"]);
    assert_ne!(mode, bytes, "mode");
    must(fs::rename(t.path().join("d/f"), t.path().join("d/g")));
    assert_ne!(hash(t.path(), &["d"]), mode, "name");
    // mtimes are not part of it, as in dockerd.
    let before = hash(t.path(), &["b"]);
    let f = must(fs::File::options().write(true).open(t.path().join("b")));
    must(f.set_modified(std::time::UNIX_EPOCH));
    assert_eq!(hash(t.path(), &["b"]), before);
}

#[test]
fn sources_outside_the_root_are_refused_with_dockerd_wording() {
    let t = tmp();
    dockerd_context(t.path());
    for s in ["../x", "a/../../x", "/../x", ".."] {
        let e = sel(t.path(), &[s]).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err(format!(
                "COPY failed: forbidden path outside the build context: {s} ()"
            ))
        );
    }
    assert!(sel(t.path(), &["d/../a"]).is_ok());
}

#[test]
fn missing_sources_are_named() {
    let t = tmp();
    dockerd_context(t.path());
    let e = must(
        sel(t.path(), &["a", "nothere"])
            .map(|_| ())
            .err()
            .ok_or("selected"),
    );
    assert_eq!(
        e.to_string(),
        "COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: file does not exist"
    );
    assert_eq!(e.kind(), muelle_types::ErrorKind::NotFound);
    let e = must(sel(t.path(), &["zz*"]).map(|_| ()).err().ok_or("selected"));
    assert_eq!(e.to_string(), "COPY failed: no source files were specified");
    assert!(sel(t.path(), &["a/x"]).is_err(), "through a file");
}

#[test]
fn symlinks_resolve_inside_the_root() {
    let t = tmp();
    dockerd_context(t.path());
    must(symlink("/etc/passwd", t.path().join("pw")));
    must(symlink("../../../../etc/passwd", t.path().join("d/up")));
    must(symlink("/a", t.path().join("abs")));
    must(symlink("loop", t.path().join("loop")));
    for s in ["pw", "d/up"] {
        let e = must(sel(t.path(), &[s]).map(|_| ()).err().ok_or("selected"));
        assert!(matches!(e, ContextError::NotFound { .. }), "{s}: {e}");
    }
    // `/a` is the root's a: same bytes and, resolved, the same entry.
    let s = must(sel(t.path(), &["abs"]));
    assert_eq!(s.paths(), vec!["a"]);
    assert_eq!(s.items[0].name, "abs");
    assert_eq!(s.content_hash(), hash(t.path(), &["a"]));
    let e = must(sel(t.path(), &["loop"]).map(|_| ()).err().ok_or("selected"));
    assert!(matches!(e, ContextError::SymlinkLoop { .. }), "{e}");
    // Inside a selected directory a symlink is an entry of its own, not followed.
    let d = must(sel(t.path(), &["d"]));
    let up = d.items[0].entries.iter().find(|e| e.sub == "up");
    assert_eq!(
        up.and_then(|e| e.meta.link.clone()).as_deref(),
        Some("../../../../etc/passwd")
    );
}

#[test]
fn globs_match_per_component_in_walk_order() {
    let t = tmp();
    dockerd_context(t.path());
    write(t.path(), "d/g.txt", "g", 0o644);
    write(t.path(), "d/sub/h.txt", "h", 0o644);
    write(t.path(), "x.txt", "x", 0o644);
    assert_eq!(must(sel(t.path(), &["[ab]"])).paths(), vec!["a", "b"]);
    assert_eq!(must(sel(t.path(), &["*.txt"])).paths(), vec!["x.txt"]);
    assert_eq!(must(sel(t.path(), &["*/*.txt"])).paths(), vec!["d/g.txt"]);
    assert_eq!(
        must(sel(t.path(), &["d/*"])).paths(),
        vec!["d/f", "d/g.txt", "d/sub"]
    );
    assert_eq!(
        must(sel(t.path(), &["?"])).content_hash(),
        hash(t.path(), &["a", "b", "d"])
    );
    assert!(matches!(
        sel(t.path(), &["[a"]),
        Err(ContextError::BadPattern { .. })
    ));
}

#[test]
fn ignored_sources_are_not_selectable() {
    let t = tmp();
    dockerd_context(t.path());
    write(t.path(), "d/secret", "s", 0o600);
    let ig = must(IgnoreMatcher::parse("a\nd/secret\n"));
    let s = |x: &str| select(t.path(), &[x.to_string()], &ig);
    assert!(matches!(s("a"), Err(ContextError::NotFound { .. })));
    assert!(matches!(s("d/secret"), Err(ContextError::NotFound { .. })));
    let d = must(s("d"));
    assert_eq!(d.content_hash(), hash_without_secret(t.path()));
    assert_eq!(must(s("?")).paths(), vec!["b", "d"]);
}

fn hash_without_secret(root: &Path) -> String {
    let t = tmp();
    write(
        t.path(),
        "d/f",
        &must(fs::read_to_string(root.join("d/f"))),
        0o644,
    );
    must(fs::set_permissions(
        t.path().join("d"),
        fs::Permissions::from_mode(0o755),
    ));
    hash(t.path(), &["d"])
}

#[test]
fn rootfs_hashes_carry_host_names_as_dockerd_lazy_source() {
    // dockerd 20.10 wrote these for `COPY --from=a /d/f` and `/d` of a stage holding them.
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let t = tmp();
    mkdir(t.path(), "d", 0o755);
    write(t.path(), "d/f", "x\n", 0o644);
    let h = |s: &str| {
        must(select_from(
            t.path(),
            &[s.to_string()],
            &IgnoreMatcher::empty(),
            Origin::Rootfs,
        ))
        .content_hash()
    };
    assert_eq!(
        h("/d/f"),
        "file:2adc9e228f7464e30d11fd8003c1805688101cf075f1caf4b52d91da3cbad89a"
    );
    assert_eq!(
        h("/d"),
        "dir:7f398da84beed6c8b6bb3973e3e0f19fb3d2affd7e958d9b2e68e37bcc245d1c"
    );
    assert_ne!(
        h("/d"),
        hash(t.path(), &["d"]),
        "the context's names are blank"
    );
}

#[test]
fn selections_and_errors_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Selection>();
    send_sync::<ContextError>();
    send_sync::<IgnoreMatcher>();
}
