//! The COPY/ADD tar layouts, read back and extracted as the executor would.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use tar::EntryType as T;

use super::*;
use crate::context::testutil::*;

fn opts(dest: &str) -> CopyOptions {
    CopyOptions {
        dest: dest.into(),
        ..CopyOptions::default()
    }
}

fn tar_of(sel: &Selection, o: &CopyOptions, dest_is_dir: bool) -> Vec<u8> {
    let mut out = Vec::new();
    must(write_copy_tar(sel, o, dest_is_dir, &mut out));
    out
}

fn names(entries: &[TarEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.0.trim_end_matches('/').to_string())
        .collect()
}

fn context() -> tempfile::TempDir {
    let t = tmp();
    write(t.path(), "a", "hi\n", 0o640);
    mkdir(t.path(), "d", 0o700);
    write(t.path(), "d/f", "x\n", 0o755);
    mkdir(t.path(), "d/sub", 0o750);
    write(t.path(), "d/sub/g", "g\n", 0o644);
    must(symlink("../a", t.path().join("d/l")));
    for p in ["a", "d/f", "d/sub/g"] {
        let f = must(fs::File::options().write(true).open(t.path().join(p)));
        must(f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)));
    }
    t
}

#[test]
fn file_to_a_path_or_into_a_directory() {
    let t = context();
    let s = must(sel(t.path(), &["a"]));
    let e = read_tar(&tar_of(&s, &opts("/x"), false));
    assert_eq!(
        e,
        vec![(
            "x".into(),
            T::Regular,
            0o640,
            0,
            0,
            1_700_000_000,
            "hi\n".into()
        )]
    );
    let e = read_tar(&tar_of(&s, &opts("/x/"), false));
    assert_eq!(names(&e), vec!["x", "x/a"]);
    assert_eq!((e[0].1, e[0].2), (T::Directory, 0o755));
    // An existing directory gets no entry: its mode and owner stay.
    let e = read_tar(&tar_of(&s, &opts("/tmp"), true));
    assert_eq!(names(&e), vec!["tmp/a"]);
    let e = read_tar(&tar_of(&s, &opts("/"), true));
    assert_eq!(names(&e), vec!["a"]);
}

#[test]
fn directory_contents_land_in_the_destination() {
    let t = context();
    let s = must(sel(t.path(), &["d"]));
    let bytes = tar_of(&s, &opts("/n1/n2"), false);
    let e = read_tar(&bytes);
    assert_eq!(
        names(&e),
        vec!["n1/n2", "n1/n2/f", "n1/n2/l", "n1/n2/sub", "n1/n2/sub/g"]
    );
    // The destination is made 0755 (not the source dir's 0700); contents keep modes.
    assert_eq!((e[0].1, e[0].2), (T::Directory, 0o755));
    assert_eq!((e[1].2, e[1].5), (0o755, 1_700_000_000));
    assert_eq!((e[2].1, e[2].6.as_str()), (T::Symlink, "../a"));
    assert_eq!((e[3].1, e[3].2), (T::Directory, 0o750));
    let out = tmp();
    extract(&bytes, out.path());
    assert_eq!(
        must(fs::read_to_string(out.path().join("n1/n2/sub/g"))),
        "g\n"
    );
    assert_eq!(
        must(fs::read_link(out.path().join("n1/n2/l"))).to_string_lossy(),
        "../a"
    );
    let md = must(fs::metadata(out.path().join("n1/n2/f")));
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o755, 1_700_000_000));
}

#[test]
fn several_sources_need_a_directory_destination() {
    let t = context();
    let s = must(sel(t.path(), &["a", "d/f"]));
    let mut out = Vec::new();
    let e = write_copy_tar(&s, &opts("/x"), true, &mut out).map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err("When using COPY with more than one source file, the destination must be a directory and end with a /".into())
    );
    let o = CopyOptions {
        add_extract: true,
        ..opts("/x")
    };
    let e = write_copy_tar(&s, &o, true, &mut out).map_err(|e| e.to_string());
    assert!(matches!(e, Err(m) if m.starts_with("When using ADD")));
    let e = read_tar(&tar_of(&s, &opts("/x/"), false));
    assert_eq!(names(&e), vec!["x", "x/a", "x/f"]);
}

#[test]
fn chown_and_chmod_apply_to_what_is_copied() {
    let t = context();
    let s = must(sel(t.path(), &["d"]));
    let o = CopyOptions {
        chown: Some((5, 6)),
        chmod: Some(0o600),
        ..opts("/n1/n2")
    };
    let e = read_tar(&tar_of(&s, &o, false));
    for (name, kind, mode, uid, gid, _, _) in &e {
        assert_eq!((*uid, *gid), (5, 6), "{name}");
        match *kind {
            T::Symlink => {}
            T::Directory if name.trim_end_matches('/') == "n1/n2" => assert_eq!(*mode, 0o755),
            _ => assert_eq!(*mode, 0o600, "{name}"),
        }
    }
    // A file's missing parents are owned as the copy (dockerd's mkdirAllWithChown); a
    // directory copy's parents by root.
    let probe = |p: &str| {
        if p == "m1" || p == "m1/m2" {
            DestKind::Missing
        } else {
            DestKind::Dir
        }
    };
    let f = must(sel(t.path(), &["a"]));
    let mut out = Vec::new();
    must(write_copy_tar_probed(
        &f,
        &CopyOptions {
            chown: Some((5, 6)),
            ..opts("/m1/m2/")
        },
        &probe,
        &mut out,
    ));
    let e = read_tar(&out);
    assert_eq!(names(&e), vec!["m1", "m1/m2", "m1/m2/a"]);
    assert!(e.iter().all(|x| (x.3, x.4) == (5, 6)));
    let mut out = Vec::new();
    must(write_copy_tar_probed(
        &s,
        &CopyOptions {
            chown: Some((5, 6)),
            ..opts("/m1/m2")
        },
        &probe,
        &mut out,
    ));
    let e = read_tar(&out);
    assert_eq!((e[0].0.trim_end_matches('/'), e[0].3), ("m1", 0));
    assert_eq!((e[1].0.trim_end_matches('/'), e[1].3), ("m1/m2", 5));
}

fn archive_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, t, body) in [("top/", T::Directory, ""), ("top/f", T::Regular, "inner\n")] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(t);
        h.set_mode(if t == T::Directory { 0o711 } else { 0o604 });
        h.set_uid(7);
        h.set_gid(8);
        h.set_mtime(1_600_000_000);
        h.set_size(body.len() as u64);
        must(b.append_data(&mut h, name, body.as_bytes()));
    }
    let raw = must(b.into_inner());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    must(gz.write_all(&raw));
    must(gz.finish())
}

#[test]
fn add_extracts_local_archives_copy_does_not() {
    let t = context();
    must(fs::write(t.path().join("x.tgz"), archive_bytes()));
    let s = must(sel(t.path(), &["x.tgz"]));
    let add = CopyOptions {
        add_extract: true,
        ..opts("/opt")
    };
    let bytes = tar_of(&s, &add, false);
    let e = read_tar(&bytes);
    assert_eq!(names(&e), vec!["opt", "opt/top", "opt/top/f"]);
    assert_eq!(
        (e[2].2, e[2].3, e[2].4, e[2].5),
        (0o604, 7, 8, 1_600_000_000)
    );
    let out = tmp();
    extract(&bytes, out.path());
    assert_eq!(
        must(fs::read_to_string(out.path().join("opt/top/f"))),
        "inner\n"
    );
    // COPY copies the archive itself; ADD of a file that is no archive copies it too.
    assert_eq!(
        names(&read_tar(&tar_of(&s, &opts("/opt/"), false))),
        vec!["opt", "opt/x.tgz"]
    );
    let a = must(sel(t.path(), &["a"]));
    assert_eq!(
        names(&read_tar(&tar_of(
            &a,
            &CopyOptions {
                add_extract: true,
                ..opts("/y")
            },
            false
        ))),
        vec!["y"]
    );
}

#[test]
fn hostile_archives_are_refused() {
    let t = context();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(T::Symlink);
    h.set_size(0);
    must(b.append_link(&mut h, "esc", "../../etc"));
    must(fs::write(t.path().join("bad.tar"), must(b.into_inner())));
    let s = must(sel(t.path(), &["bad.tar"]));
    let mut out = Vec::new();
    let e = write_copy_tar(
        &s,
        &CopyOptions {
            add_extract: true,
            ..opts("/opt")
        },
        false,
        &mut out,
    );
    assert!(matches!(e, Err(ContextError::BadArchive { .. })), "{e:?}");
}

#[test]
fn heredocs_become_files() {
    let mut out = Vec::new();
    must(write_heredoc_tar(
        "run.sh",
        b"echo hi\n",
        &CopyOptions {
            chmod: Some(0o755),
            ..opts("/usr/local/bin/")
        },
        true,
        &mut out,
    ));
    let e = read_tar(&out);
    assert_eq!(names(&e), vec!["usr/local/bin/run.sh"]);
    assert_eq!((e[0].2, e[0].6.as_str()), (0o755, "echo hi\n"));
    let mut out = Vec::new();
    must(write_heredoc_tar(
        "x",
        b"data",
        &opts("/etc/conf"),
        false,
        &mut out,
    ));
    assert_eq!(names(&read_tar(&out)), vec!["etc/conf"]);
    assert_eq!(read_tar(&out)[0].2, 0o644);
}

#[test]
fn mtime_now_replaces_source_times() {
    let t = context();
    let s = must(sel(t.path(), &["a"]));
    let e = read_tar(&tar_of(
        &s,
        &CopyOptions {
            mtime_now: true,
            ..opts("/x")
        },
        false,
    ));
    assert!(e[0].5 > 1_700_000_000);
    let _ = fs::Permissions::from_mode(0o644);
}
