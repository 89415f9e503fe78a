use super::*;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use tar::{EntryType, Header};

pub(crate) type Builder = tar::Builder<Vec<u8>>;

pub(crate) fn build(f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    f(&mut b);
    b.into_inner().expect("finish tar")
}

pub(crate) fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000_000);
    h.set_size(size);
    h
}

pub(crate) fn file(b: &mut Builder, path: &str, data: &[u8]) {
    let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
    b.append_data(&mut h, path, data).expect("append file");
}

pub(crate) fn dir(b: &mut Builder, path: &str) {
    let mut h = header(EntryType::Directory, 0o755, 0);
    b.append_data(&mut h, path, io::empty())
        .expect("append dir");
}

fn link(b: &mut Builder, kind: EntryType, path: &str, target: &str) {
    let mut h = header(kind, 0o777, 0);
    b.append_link(&mut h, path, target).expect("append link");
}

/// A header whose name and link name are written as raw bytes, bypassing the builder's
/// checks: this is how hostile archives (`..`, absolute names) are made.
fn raw(b: &mut Builder, kind: EntryType, name: &[u8], linkname: &[u8], data: &[u8]) {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000_000);
    h.set_size(data.len() as u64);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name);
    old.linkname[..linkname.len()].copy_from_slice(linkname);
    h.set_cksum();
    b.append(&h, data).expect("append raw");
}

fn unpack(tar: &[u8]) -> (tempfile::TempDir, Result<UnpackSummary, UnpackError>) {
    let d = tempfile::tempdir().expect("tempdir");
    let r = apply_layer(tar, d.path(), &UnpackOptions::default());
    (d, r)
}

fn unpack_ok(tar: &[u8]) -> (tempfile::TempDir, UnpackSummary) {
    let (d, r) = unpack(tar);
    let s = r.expect("unpack");
    (d, s)
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(path, name, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(_) => None,
    }
}

fn is_whiteout(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}

#[test]
fn regular_files_dirs_and_links() {
    let tar = build(|b| {
        dir(b, "etc/");
        file(b, "etc/hostname", b"muelle\n");
        file(b, "bin/sh", b"#!shell"); // parent dir without its own entry
        link(b, EntryType::Symlink, "bin/ash", "sh");
        link(b, EntryType::Symlink, "abs", "/etc/hostname");
        link(b, EntryType::Link, "bin/sh-hard", "bin/sh");
        let mut h = header(EntryType::Fifo, 0o600, 0);
        b.append_data(&mut h, "run/fifo", io::empty())
            .expect("fifo");
        let mut h = header(EntryType::Char, 0o666, 0);
        h.set_device_major(1).expect("major");
        h.set_device_minor(3).expect("minor");
        b.append_data(&mut h, "dev/null", io::empty())
            .expect("char");
        let mut h = header(EntryType::Block, 0o660, 0);
        h.set_device_major(7).expect("major");
        h.set_device_minor(0).expect("minor");
        b.append_data(&mut h, "dev/loop0", io::empty())
            .expect("block");
    });
    let (d, s) = unpack_ok(&tar);
    let r = d.path();
    assert_eq!(s.entries, 9);
    assert_eq!(s.content_bytes, 7 + 7);
    assert_eq!(fs::read(r.join("etc/hostname")).expect("read"), b"muelle\n");
    assert_eq!(fs::read(r.join("bin/sh")).expect("read"), b"#!shell");
    assert_eq!(
        fs::metadata(r.join("bin"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777,
        0o755
    );
    assert_eq!(
        fs::read_link(r.join("bin/ash")).expect("link"),
        Path::new("sh")
    );
    assert_eq!(
        fs::read_link(r.join("abs")).expect("link"),
        Path::new("/etc/hostname")
    );
    let a = fs::metadata(r.join("bin/sh")).expect("meta");
    let b = fs::metadata(r.join("bin/sh-hard")).expect("meta");
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 2);
    assert!(fs::symlink_metadata(r.join("run/fifo"))
        .expect("fifo")
        .file_type()
        .is_fifo());
    let null = fs::symlink_metadata(r.join("dev/null")).expect("null");
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(null.permissions().mode() & 0o7777, 0o666);
    let lp = fs::symlink_metadata(r.join("dev/loop0")).expect("loop");
    assert!(lp.file_type().is_block_device());
    assert_eq!(lp.rdev(), rustix::fs::makedev(7, 0));
}

#[test]
fn ownership_modes_xattrs_and_times() {
    let tar = build(|b| {
        let mut h = header(EntryType::Directory, 0o1777, 0);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_234_567_890);
        b.append_data(&mut h, "tmp", io::empty()).expect("dir");
        b.append_pax_extensions([
            ("SCHILY.xattr.user.muelle", b"hello".as_slice()),
            ("mtime", b"1500000000.25".as_slice()),
        ])
        .expect("pax");
        let mut h = header(EntryType::Regular, 0o4755, 3);
        h.set_uid(1234);
        h.set_gid(5678);
        b.append_data(&mut h, "tmp/suid", b"abc".as_slice())
            .expect("file");
        let mut h = header(EntryType::Regular, 0o2755, 0);
        h.set_gid(5678);
        b.append_data(&mut h, "tmp/sgid", io::empty())
            .expect("file");
        let mut h = header(EntryType::Symlink, 0o777, 0);
        h.set_uid(42);
        h.set_gid(43);
        h.set_mtime(1_111_111_111);
        b.append_link(&mut h, "tmp/link", "/nowhere").expect("link");
    });
    let (d, _) = unpack_ok(&tar);
    let r = d.path();
    let tmp = fs::symlink_metadata(r.join("tmp")).expect("tmp");
    assert_eq!(tmp.permissions().mode() & 0o7777, 0o1777);
    assert_eq!((tmp.uid(), tmp.gid()), (1000, 1001));
    // Set after its children were created.
    assert_eq!(tmp.mtime(), 1_234_567_890);
    let suid = fs::symlink_metadata(r.join("tmp/suid")).expect("suid");
    assert_eq!(suid.permissions().mode() & 0o7777, 0o4755);
    assert_eq!((suid.uid(), suid.gid()), (1234, 5678));
    assert_eq!(suid.mtime(), 1_500_000_000);
    assert_eq!(suid.mtime_nsec(), 250_000_000);
    assert_eq!(
        xattr(&r.join("tmp/suid"), "user.muelle").as_deref(),
        Some(b"hello".as_slice())
    );
    let sgid = fs::symlink_metadata(r.join("tmp/sgid")).expect("sgid");
    assert_eq!(sgid.permissions().mode() & 0o7777, 0o2755);
    let l = fs::symlink_metadata(r.join("tmp/link")).expect("link");
    assert!(l.file_type().is_symlink());
    assert_eq!((l.uid(), l.gid()), (42, 43));
    assert_eq!(l.mtime(), 1_111_111_111);
}

#[test]
fn long_names_gnu_and_pax() {
    let long_dir = "d".repeat(120);
    let gnu = format!("{long_dir}/{}", "f".repeat(150));
    let pax = format!("{long_dir}/{}", "p".repeat(200));
    let target = format!("{long_dir}/{}", "t".repeat(130));
    let tar = build(|b| {
        file(b, &gnu, b"gnu");
        b.append_pax_extensions([("path", pax.as_bytes())])
            .expect("pax");
        let mut h = header(EntryType::Regular, 0o644, 3);
        h.set_path("short").expect("path");
        h.set_cksum();
        b.append(&h, b"pax".as_slice()).expect("append");
        link(b, EntryType::Symlink, "longlink", &target);
    });
    let (d, s) = unpack_ok(&tar);
    let r = d.path();
    assert_eq!(fs::read(r.join(&gnu)).expect("gnu"), b"gnu");
    assert_eq!(fs::read(r.join(&pax)).expect("pax"), b"pax");
    assert!(!r.join("short").exists());
    assert_eq!(
        fs::read_link(r.join("longlink")).expect("link"),
        Path::new(&target)
    );
    assert_eq!(s.entries, 3);
}

#[test]
fn diff_id_is_sha256_of_the_raw_tar() {
    let mut tar = build(|b| {
        dir(b, "a/");
        file(b, "a/b", &[7u8; 10_000]);
    });
    // Trailing bytes after the end-of-archive blocks still belong to the DiffID.
    tar.extend_from_slice(&[0u8; 1024]);
    let (_d, s) = unpack_ok(&tar);
    assert_eq!(s.diff_id, Digest::sha256_of(&tar));
    assert_eq!(s.tar_bytes, tar.len() as u64);
    assert_eq!(s.content_bytes, 10_000);
}

#[test]
fn replace_semantics() {
    let tar = build(|b| {
        dir(b, "d/");
        file(b, "d/x", b"1");
        file(b, "f", b"old");
        file(b, "f", b"new");
        file(b, "d", b"now a file"); // replaces a whole directory
        dir(b, "e/");
        file(b, "e/keep", b"k");
        let mut h = header(EntryType::Directory, 0o700, 0);
        b.append_data(&mut h, "e/", io::empty()).expect("dir again"); // merged, not replaced
        link(b, EntryType::Link, "f", "f"); // link to itself: kept
    });
    let (d, _) = unpack_ok(&tar);
    let r = d.path();
    assert_eq!(fs::read(r.join("f")).expect("f"), b"new");
    assert_eq!(fs::read(r.join("d")).expect("d"), b"now a file");
    assert_eq!(fs::read(r.join("e/keep")).expect("keep"), b"k");
    assert_eq!(
        fs::metadata(r.join("e")).expect("e").permissions().mode() & 0o7777,
        0o700
    );
}

#[test]
fn whiteout_becomes_overlay_char_device() {
    let d = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(d.path().join("etc/sub")).expect("mkdir");
    fs::write(d.path().join("etc/sub/x"), b"x").expect("write");
    let tar = build(|b| {
        dir(b, "etc/");
        file(b, "etc/.wh.sub", b"");
        file(b, "etc/.wh.passwd", b"");
        file(b, "gone/.wh.deep", b""); // parent only in a lower layer
        file(b, "etc/.wh..wh.plnk", b""); // AUFS metadata: ignored
    });
    let s = apply_layer(tar.as_slice(), d.path(), &UnpackOptions::default()).expect("unpack");
    let r = d.path();
    assert!(
        is_whiteout(&r.join("etc/sub")),
        "existing dir replaced by whiteout"
    );
    assert!(is_whiteout(&r.join("etc/passwd")));
    assert!(is_whiteout(&r.join("gone/deep")));
    assert!(!r.join("etc/.wh.sub").exists());
    assert!(!r.join("etc/.wh..wh.plnk").exists());
    assert_eq!(s.entries, 5);
}

#[test]
fn opaque_directory_keeps_only_this_layers_content() {
    let d = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(d.path().join("opt/old/deeper")).expect("mkdir");
    fs::write(d.path().join("opt/old/deeper/f"), b"x").expect("write");
    fs::write(d.path().join("opt/stale"), b"x").expect("write");
    let tar = build(|b| {
        dir(b, "opt/");
        file(b, "opt/early", b"before the marker");
        file(b, "opt/.wh..wh..opq", b"");
        file(b, "opt/late", b"after the marker");
    });
    apply_layer(tar.as_slice(), d.path(), &UnpackOptions::default()).expect("unpack");
    let opt = d.path().join("opt");
    assert_eq!(
        xattr(&opt, "trusted.overlay.opaque").as_deref(),
        Some(b"y".as_slice())
    );
    let mut names: Vec<_> = fs::read_dir(&opt)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
        .collect();
    names.sort();
    assert_eq!(names, ["early", "late"]);
}

#[test]
fn overlay_xattrs_in_a_layer_are_refused() {
    let tar = build(|b| {
        b.append_pax_extensions([("SCHILY.xattr.trusted.overlay.redirect", b"/x".as_slice())])
            .expect("pax");
        dir(b, "evil/");
    });
    let (_d, r) = unpack(&tar);
    let err = r.expect_err("must refuse");
    assert!(matches!(err, UnpackError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("evil"), "{err}");
}

#[test]
fn absolute_names_land_inside() {
    let tar = build(|b| {
        raw(b, EntryType::Regular, b"/abs/file", b"", b"in");
        raw(b, EntryType::Regular, b"./dot/./file", b"", b"in");
        raw(b, EntryType::Regular, b"a/../inner", b"", b"in");
    });
    let (d, _) = unpack_ok(&tar);
    assert_eq!(fs::read(d.path().join("abs/file")).expect("abs"), b"in");
    assert_eq!(fs::read(d.path().join("dot/file")).expect("dot"), b"in");
    assert_eq!(fs::read(d.path().join("inner")).expect("inner"), b"in");
}

#[test]
fn climbing_names_are_refused() {
    for name in [
        b"../escape".as_slice(),
        b"a/../../escape",
        b"/../escape",
        b"..",
    ] {
        let outer = tempfile::tempdir().expect("tempdir");
        let root = outer.path().join("root");
        fs::create_dir(&root).expect("mkdir");
        let tar = build(|b| raw(b, EntryType::Regular, name, b"", b"evil"));
        let err =
            apply_layer(tar.as_slice(), &root, &UnpackOptions::default()).expect_err("must refuse");
        let msg = err.to_string();
        assert!(matches!(err, UnpackError::Refused { .. }), "{msg}");
        assert!(msg.contains(&show(name)), "{msg}");
        assert!(!outer.path().join("escape").exists());
    }
}

fn host_passwd() -> (Vec<u8>, u64, i64) {
    let m = fs::metadata("/etc/passwd").expect("host /etc/passwd");
    (fs::read("/etc/passwd").expect("read"), m.nlink(), m.mtime())
}

#[test]
fn writes_through_an_absolute_symlink_stay_inside() {
    let before = host_passwd();
    // Without root/etc the write is refused (dangling inside the root)...
    let tar = build(|b| {
        link(b, EntryType::Symlink, "a", "/etc");
        file(b, "a/passwd", b"root::0:0::/:/bin/sh\n");
    });
    let (d, r) = unpack(&tar);
    let err = r.expect_err("dangling inside the root");
    assert!(err.to_string().contains("a/passwd"), "{err}");
    assert!(!d.path().join("etc").exists());
    // ...and with it, it lands in root/etc/passwd.
    let tar = build(|b| {
        dir(b, "etc/");
        link(b, EntryType::Symlink, "a", "/etc");
        file(b, "a/passwd", b"root::0:0::/:/bin/sh\n");
        link(b, EntryType::Symlink, "up", "../../../../../../..");
        file(b, "up/escaped", b"x");
    });
    let (d, _) = unpack_ok(&tar);
    assert_eq!(
        fs::read(d.path().join("etc/passwd")).expect("inside"),
        b"root::0:0::/:/bin/sh\n"
    );
    assert!(d.path().join("escaped").is_file(), "clamped at the root");
    assert_eq!(host_passwd(), before, "host /etc/passwd touched");
}

#[test]
fn symlink_as_last_component_is_replaced_not_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim");
    fs::write(&victim, b"safe").expect("write");
    let tar = build(|b| {
        link(b, EntryType::Symlink, "f", victim.to_str().expect("utf8"));
        file(b, "f", b"overwritten?");
        link(
            b,
            EntryType::Symlink,
            "d",
            outside.path().to_str().expect("utf8"),
        );
        dir(b, "d/"); // a symlink replaced by a directory mid-archive
        file(b, "d/victim", b"overwritten?");
    });
    let (d, _) = unpack_ok(&tar);
    assert_eq!(fs::read(&victim).expect("victim"), b"safe");
    assert_eq!(fs::read(d.path().join("f")).expect("f"), b"overwritten?");
    assert!(fs::symlink_metadata(d.path().join("d"))
        .expect("d")
        .file_type()
        .is_dir());
    assert_eq!(
        fs::read(d.path().join("d/victim")).expect("in"),
        b"overwritten?"
    );
    assert_eq!(fs::read_dir(outside.path()).expect("ls").count(), 1);
}

#[test]
fn hard_links_cannot_reach_outside() {
    let before = host_passwd();
    let tar = build(|b| {
        link(b, EntryType::Symlink, "s", "/etc");
        link(b, EntryType::Link, "h", "s/passwd");
    });
    let (d, r) = unpack(&tar);
    let err = r.expect_err("target does not exist inside the root");
    assert!(err.to_string().contains("\"h\""), "{err}");
    assert!(!d.path().join("h").exists());

    let tar = build(|b| raw(b, EntryType::Link, b"h", b"../../../../etc/passwd", b""));
    let (_d, r) = unpack(&tar);
    let err = r.expect_err("climbing target");
    assert!(matches!(err, UnpackError::Refused { .. }), "{err}");

    let tar = build(|b| {
        dir(b, "dir/");
        link(b, EntryType::Link, "h", "dir");
    });
    let (_d, r) = unpack(&tar);
    assert!(matches!(r, Err(UnpackError::Refused { .. })), "{r:?}");
    assert_eq!(host_passwd(), before, "host /etc/passwd touched");
}

#[test]
fn devices_refused_when_not_permitted() {
    let tar = build(|b| {
        let mut h = header(EntryType::Block, 0o600, 0);
        h.set_device_major(8).expect("major");
        h.set_device_minor(0).expect("minor");
        b.append_data(&mut h, "dev/sda", io::empty())
            .expect("block");
    });
    let d = tempfile::tempdir().expect("tempdir");
    let opts = UnpackOptions {
        allow_devices: false,
    };
    let err = apply_layer(tar.as_slice(), d.path(), &opts).expect_err("refused");
    assert!(err.to_string().contains("dev/sda"), "{err}");
    assert!(!d.path().join("dev/sda").exists());
    // Whiteouts are still made: they are overlay's format, not devices.
    let tar = build(|b| file(b, ".wh.x", b""));
    apply_layer(tar.as_slice(), d.path(), &opts).expect("whiteout");
    assert!(is_whiteout(&d.path().join("x")));
}

#[test]
fn open_layer_by_media_type_and_magic() {
    use flate2::{write::GzEncoder, Compression as Level};
    let tar = build(|b| file(b, "hello", b"world"));
    let mut gz = GzEncoder::new(Vec::new(), Level::default());
    gz.write_all(&tar).expect("gz");
    let gz = gz.finish().expect("gz");
    let zst = zstd::encode_all(tar.as_slice(), 3).expect("zstd");

    let cases: [(&[u8], &str, Compression); 6] = [
        (&tar, MEDIA_TYPE_OCI_LAYER, Compression::None),
        (&gz, MEDIA_TYPE_OCI_LAYER_GZIP, Compression::Gzip),
        (&gz, MEDIA_TYPE_DOCKER_LAYER_GZIP, Compression::Gzip),
        (&zst, MEDIA_TYPE_OCI_LAYER_ZSTD, Compression::Zstd),
        // Mislabelled as plain tar: sniffed.
        (&gz, MEDIA_TYPE_OCI_LAYER, Compression::Gzip),
        (&zst, MEDIA_TYPE_DOCKER_LAYER, Compression::Zstd),
    ];
    for (blob, mt, want) in cases {
        let r = open_layer(blob, mt).expect(mt);
        assert_eq!(r.compression(), want, "{mt}");
        let d = tempfile::tempdir().expect("tempdir");
        let s = apply_layer(r, d.path(), &UnpackOptions::default()).expect(mt);
        assert_eq!(s.diff_id, Digest::sha256_of(&tar), "{mt}");
        assert_eq!(fs::read(d.path().join("hello")).expect("read"), b"world");
    }
    assert!(matches!(
        open_layer(tar.as_slice(), MEDIA_TYPE_OCI_LAYER_GZIP),
        Err(UnpackError::CompressionMismatch { .. })
    ));
    assert!(matches!(
        open_layer(tar.as_slice(), "application/json"),
        Err(UnpackError::UnsupportedMediaType { .. })
    ));
}

#[test]
fn multi_member_gzip_is_read_whole() {
    use flate2::{write::GzEncoder, Compression as Level};
    let tar = build(|b| {
        file(b, "one", &[1u8; 3000]);
        file(b, "two", &[2u8; 3000]);
    });
    let mut blob = Vec::new();
    for part in [&tar[..2048], &tar[2048..]] {
        let mut gz = GzEncoder::new(Vec::new(), Level::fast());
        gz.write_all(part).expect("gz");
        blob.extend(gz.finish().expect("gz"));
    }
    let r = open_layer(blob.as_slice(), MEDIA_TYPE_OCI_LAYER_GZIP).expect("open");
    let d = tempfile::tempdir().expect("tempdir");
    let s = apply_layer(r, d.path(), &UnpackOptions::default()).expect("unpack");
    assert_eq!(s.diff_id, Digest::sha256_of(&tar));
    assert_eq!(fs::read(d.path().join("two")).expect("two"), [2u8; 3000]);
}

#[test]
fn truncated_gzip_is_a_clear_read_error() {
    use flate2::{write::GzEncoder, Compression as Level};
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let tar = build(|b| file(b, "big", &data));
    let mut gz = GzEncoder::new(Vec::new(), Level::default());
    gz.write_all(&tar).expect("gz");
    let gz = gz.finish().expect("gz");
    let cut = &gz[..gz.len() / 2];
    let r = open_layer(cut, MEDIA_TYPE_OCI_LAYER_GZIP).expect("open");
    let d = tempfile::tempdir().expect("tempdir");
    let err = apply_layer(r, d.path(), &UnpackOptions::default()).expect_err("truncated");
    assert!(matches!(err, UnpackError::Read { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("reading the layer stream"),
        "{err}"
    );
}

#[test]
fn truncated_plain_tar_is_an_error() {
    let data = vec![5u8; 5000];
    let tar = build(|b| file(b, "big", &data));
    let d = tempfile::tempdir().expect("tempdir");
    let err =
        apply_layer(&tar[..2048], d.path(), &UnpackOptions::default()).expect_err("truncated");
    assert!(err.to_string().contains("big"), "{err}");
}

#[test]
fn garbage_is_a_tar_error_not_a_panic() {
    let d = tempfile::tempdir().expect("tempdir");
    let junk: Vec<u8> = (0..2048u32).map(|i| (i * 31 % 256) as u8).collect();
    let err =
        apply_layer(junk.as_slice(), d.path(), &UnpackOptions::default()).expect_err("garbage");
    assert!(matches!(err, UnpackError::Tar { .. }), "{err:?}");
}

#[test]
fn pax_time_parsing() {
    let t = parse_pax_time("12.5").expect("t");
    assert_eq!((t.tv_sec, t.tv_nsec), (12, 500_000_000));
    let t = parse_pax_time("-1.25").expect("t");
    assert_eq!((t.tv_sec, t.tv_nsec), (-2, 750_000_000));
    let t = parse_pax_time("7").expect("t");
    assert_eq!((t.tv_sec, t.tv_nsec), (7, 0));
    assert!(parse_pax_time("x").is_none());
    assert!(parse_pax_time("1.2.3").is_none());
}

/// Unmounts on drop, so a failing assertion does not leave the mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn overlay_hides_whited_out_and_opaque_content() {
    let t = tempfile::tempdir().expect("tempdir");
    let (lower, upper, merged) = (t.path().join("l1"), t.path().join("l2"), t.path().join("m"));
    for p in [&lower, &upper, &merged] {
        fs::create_dir(p).expect("mkdir");
    }
    let l1 = build(|b| {
        dir(b, "etc/");
        file(b, "etc/secret", b"hidden");
        file(b, "etc/kept", b"kept");
        dir(b, "opt/");
        file(b, "opt/old", b"old");
    });
    let l2 = build(|b| {
        dir(b, "etc/");
        file(b, "etc/.wh.secret", b"");
        dir(b, "opt/");
        file(b, "opt/.wh..wh..opq", b"");
        file(b, "opt/new", b"new");
    });
    apply_layer(l1.as_slice(), &lower, &UnpackOptions::default()).expect("l1");
    apply_layer(l2.as_slice(), &upper, &UnpackOptions::default()).expect("l2");
    let opts = std::ffi::CString::new(format!("lowerdir={}:{}", upper.display(), lower.display()))
        .expect("no NUL");
    rustix::mount::mount(
        "overlay",
        &merged,
        "overlay",
        rustix::mount::MountFlags::RDONLY,
        Some(opts.as_c_str()),
    )
    .expect("mount overlay (needs root and overlayfs)");
    let _guard = Mounted(merged.clone());
    assert!(!merged.join("etc/secret").exists(), "whiteout did not hide");
    assert_eq!(fs::read(merged.join("etc/kept")).expect("kept"), b"kept");
    assert!(!merged.join("opt/old").exists(), "opaque dir did not hide");
    assert_eq!(fs::read(merged.join("opt/new")).expect("new"), b"new");
}

/// An archive cut right after the last file's data (no padding, no end blocks), as umoci
/// 0.4's `insert` writes: applied whole, DiffID over the bytes as they are. Cut inside the
/// data, it is refused.
#[test]
fn archive_ending_after_the_last_files_data_is_accepted() {
    let full = build(|b| {
        dir(b, "opt/");
        file(b, "opt/a", b"first");
        file(b, "opt/seq", b"12345");
    });
    // header(512) + dir header(512) + a header and padded data (1024) + seq header(512) + 5.
    let cut = &full[..512 * 4 + 5];
    let (dir, summary) = unpack_ok(cut);
    assert_eq!(
        std::fs::read(dir.path().join("opt/seq")).expect("read"),
        b"12345"
    );
    assert_eq!(summary.diff_id, crate::digest::Digest::sha256_of(cut));
    // Two bytes short of the data: truncated, refused.
    let (_dir, r) = unpack(&full[..512 * 4 + 3]);
    assert!(r.is_err(), "a stream ending inside file data must fail");
}
