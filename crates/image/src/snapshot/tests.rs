//! One conformance suite, run against every snapshotter (containerd's habit): each check is a
//! function of a snapshotter factory, instantiated per implementation by `conformance!`.
//! These tests mount (overlay, bind) and so need root.

use super::*;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::sync::Barrier;

use tar::EntryType;

use crate::unpack::MEDIA_TYPE_OCI_LAYER;

type Factory = fn(&Path) -> Result<Box<dyn Snapshotter>>;

fn overlay(root: &Path) -> Result<Box<dyn Snapshotter>> {
    Ok(Box::new(OverlaySnapshotter::open(root)?))
}

fn native(root: &Path) -> Result<Box<dyn Snapshotter>> {
    Ok(Box::new(NativeSnapshotter::open(root)?))
}

/// A snapshotter in a temporary root. Mount guards are locals of the test, declared after
/// it, so they are dropped (unmounted) before the directory is removed, panics included.
struct Fixture {
    tmp: tempfile::TempDir,
    sn: Box<dyn Snapshotter>,
}

impl Fixture {
    fn new(factory: Factory) -> Self {
        Self::with_subdir(factory, "snapshots")
    }

    fn with_subdir(factory: Factory, sub: &str) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sn = factory(&tmp.path().join(sub)).expect("open snapshotter");
        Fixture { tmp, sn }
    }

    fn sn(&self) -> &dyn Snapshotter {
        self.sn.as_ref()
    }

    /// A fresh empty directory to mount on.
    fn mountpoint(&self, name: &str) -> PathBuf {
        let p = self.tmp.path().join("mnt").join(name);
        fs::create_dir_all(&p).expect("mkdir mountpoint");
        p
    }

    /// Mounts `specs` on a fresh directory; unmounted when the guard drops.
    fn mount(&self, name: &str, specs: &[MountSpec]) -> Mounted {
        let target = self.mountpoint(name);
        mount_at(specs, &target).expect("mount");
        Mounted { target }
    }

    /// Applies `tar` as a new layer on `parent` and commits it as `name`.
    fn layer(&self, parent: Option<&str>, name: &str, tar: &[u8]) {
        let key = format!("{name}-active");
        self.sn.prepare(&key, parent).expect("prepare");
        self.sn
            .apply_layer(&key, &mut &tar[..], &UnpackOptions::default())
            .expect("apply");
        self.sn.commit(name, &key).expect("commit");
    }

    /// Number of snapshot directories on disk.
    fn dirs_on_disk(&self) -> usize {
        fs::read_dir(self.sn.root().join(SNAPSHOTS_DIR))
            .expect("list snapshots")
            .count()
    }

    /// Fails if anything is still mounted under the fixture's directory.
    fn assert_no_mounts(&self) {
        let info = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let root = self.tmp.path().to_string_lossy().into_owned();
        let left: Vec<&str> = info
            .lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&root)))
            .collect();
        assert!(left.is_empty(), "mounts left behind: {left:#?}");
    }
}

struct Mounted {
    target: PathBuf,
}

impl Mounted {
    fn path(&self, rel: &str) -> PathBuf {
        self.target.join(rel)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if unmount(&self.target).is_err() {
            let _ = rustix::mount::unmount(&self.target, UnmountFlags::DETACH);
        }
    }
}

// ------------------------------------------------------------------------------------------
// Layer tars

// The tar builders are the unpacker's test helpers.
use crate::unpack::tests::{build, dir, file, header};

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn names(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(path)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Everything observable about a tree: per path, type, mode, owner, size, content, xattrs.
fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<String, String>) {
        let p = root.join(rel);
        let m = fs::symlink_metadata(&p).expect("lstat");
        let mut xattrs = vec![0u8; 4096];
        let n = rustix::fs::llistxattr(&p, &mut xattrs[..]).unwrap_or(0);
        xattrs.truncate(n);
        let content = if m.is_file() {
            Digest::sha256_of(&fs::read(&p).expect("read")).to_string()
        } else {
            String::new()
        };
        out.insert(
            rel.to_string_lossy().into_owned(),
            format!(
                "{:o} {}:{} {} {} {} {:?}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.len(),
                m.rdev(),
                content,
                xattrs
            ),
        );
        if m.is_dir() {
            for e in fs::read_dir(&p).expect("read_dir") {
                walk(root, &rel.join(e.expect("entry").file_name()), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, Path::new(""), &mut out);
    out
}

// ------------------------------------------------------------------------------------------
// The suite

fn prepare_commit_view_chain(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    fx.layer(None, "l1", &build(|b| file(b, "a/one", b"1")));
    fx.layer(Some("l1"), "l2", &build(|b| file(b, "b/two", b"2")));
    fx.layer(Some("l2"), "l3", &build(|b| file(b, "a/one", b"1 again")));

    let info = sn.stat("l2").expect("stat");
    assert_eq!(info.kind, Kind::Committed);
    assert_eq!(info.parent.as_deref(), Some("l1"));
    let keys: Vec<String> = sn
        .list()
        .expect("list")
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, ["l1", "l2", "l3"]);

    let specs = sn.view("v", Some("l3")).expect("view");
    assert_eq!(sn.mounts("v").expect("mounts"), specs);
    assert!(specs.iter().all(MountSpec::is_readonly), "{specs:?}");
    assert_eq!(sn.stat("v").expect("stat").kind, Kind::View);
    {
        let m = fx.mount("v", &specs);
        assert_eq!(read(&m.path("a/one")), "1 again");
        assert_eq!(read(&m.path("b/two")), "2");
        let err = fs::write(m.path("new"), b"x").expect_err("a view is read-only");
        assert_eq!(err.raw_os_error(), Some(Errno::ROFS.raw_os_error()));
    }
    // A view of one layer and a view of nothing mount too.
    let one = sn.view("v1", Some("l1")).expect("view of one");
    let empty = sn.view("v0", None).expect("view of none");
    {
        let m1 = fx.mount("v1", &one);
        assert_eq!(names(&m1.path("")), ["a"]);
        let m0 = fx.mount("v0", &empty);
        assert!(names(&m0.path("")).is_empty());
    }
    // Committed snapshots can be mounted read-only too.
    {
        let m = fx.mount("l2", &sn.mounts("l2").expect("mounts of committed"));
        assert_eq!(names(&m.path("")), ["a", "b"]);
    }
    let usage = sn.usage("l1").expect("usage");
    assert!(usage.inodes >= 3 && usage.bytes > 0, "{usage:?}");
    for k in ["v", "v1", "v0"] {
        sn.remove(k).expect("remove view");
    }
    fx.assert_no_mounts();
}

fn whiteout_and_opaque_dir(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    fx.layer(
        None,
        "l1",
        &build(|b| {
            file(b, "etc/keep", b"k");
            file(b, "etc/gone", b"g");
            file(b, "d/old1", b"o");
            file(b, "d/sub/old2", b"o");
        }),
    );
    fx.layer(
        Some("l1"),
        "l2",
        &build(|b| {
            file(b, "etc/.wh.gone", b"");
            dir(b, "d");
            file(b, "d/.wh..wh..opq", b"");
            file(b, "d/new", b"n");
        }),
    );
    let specs = sn.prepare("c", Some("l2")).expect("prepare");
    {
        let m = fx.mount("c", &specs);
        assert_eq!(names(&m.path("etc")), ["keep"]);
        assert_eq!(names(&m.path("d")), ["new"]);
        assert_eq!(read(&m.path("d/new")), "n");
    }
    fx.assert_no_mounts();
}

fn writes_go_to_the_active_snapshot_only(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    fx.layer(
        None,
        "l1",
        &build(|b| {
            file(b, "f", b"one");
            file(b, "del", b"x");
            file(b, "d/g", b"g");
        }),
    );
    let before = {
        let m = fx.mount("before", &sn.mounts("l1").expect("mounts"));
        fingerprint(&m.path(""))
    };
    let specs = sn.prepare("c", Some("l1")).expect("prepare");
    assert!(!specs.iter().any(MountSpec::is_readonly));
    {
        let m = fx.mount("c", &specs);
        fs::write(m.path("f"), b"two").expect("overwrite");
        fs::write(m.path("d/g"), b"changed").expect("overwrite in a dir");
        fs::write(m.path("new"), b"n").expect("create");
        fs::remove_file(m.path("del")).expect("delete");
        fs::set_permissions(m.path("d"), fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    // Remounted, the active snapshot kept the writes.
    {
        let m = fx.mount("c2", &sn.mounts("c").expect("mounts"));
        assert_eq!(read(&m.path("f")), "two");
        assert_eq!(read(&m.path("new")), "n");
        assert!(!m.path("del").exists());
    }
    // The committed layer did not change.
    let after = {
        let m = fx.mount("after", &sn.mounts("l1").expect("mounts"));
        fingerprint(&m.path(""))
    };
    assert_eq!(before, after);
    let err = sn.apply_layer("l1", &mut &build(|_| {})[..], &UnpackOptions::default());
    assert!(
        matches!(err, Err(SnapshotError::NotActive { .. })),
        "{err:?}"
    );
    fx.assert_no_mounts();
}

fn remove_refuses_a_parent_with_children(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    fx.layer(None, "l1", &build(|b| file(b, "f", b"1")));
    sn.prepare("c", Some("l1")).expect("prepare");
    sn.view("v", Some("l1")).expect("view");
    let err = sn.remove("l1").expect_err("has children");
    assert!(
        matches!(&err, SnapshotError::HasChildren { key, children: 2 } if key == "l1"),
        "{err}"
    );
    sn.remove("c").expect("remove active");
    sn.remove("v").expect("remove view");
    sn.remove("l1").expect("remove committed");
    assert!(sn.list().expect("list").is_empty());
    assert_eq!(fx.dirs_on_disk(), 0);
    let err = sn.remove("l1").expect_err("gone");
    assert!(matches!(err, SnapshotError::NotFound { .. }), "{err}");
    fx.assert_no_mounts();
}

fn lifecycle_errors(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    let missing = sn.prepare("c", Some("nope")).expect_err("no parent");
    assert!(matches!(missing, SnapshotError::NotFound { ref key } if key == "nope"));
    sn.prepare("a", None).expect("prepare");
    let dup = sn.prepare("a", None).expect_err("duplicate key");
    assert!(matches!(dup, SnapshotError::AlreadyExists { .. }), "{dup}");
    let not_committed = sn.prepare("b", Some("a")).expect_err("active parent");
    assert!(
        matches!(not_committed, SnapshotError::ParentNotCommitted { .. }),
        "{not_committed}"
    );
    assert!(matches!(
        sn.prepare("", None),
        Err(SnapshotError::InvalidKey { .. })
    ));
    // Keys are not paths.
    sn.prepare("../../etc", None).expect("any string is a key");
    sn.commit("x", "a").expect("commit");
    assert!(matches!(sn.stat("a"), Err(SnapshotError::NotFound { .. })));
    sn.prepare("a2", None).expect("prepare");
    let taken = sn.commit("x", "a2").expect_err("name taken");
    assert!(
        matches!(taken, SnapshotError::AlreadyExists { .. }),
        "{taken}"
    );
    assert_eq!(sn.stat("a2").expect("still active").kind, Kind::Active);
    let again = sn.commit("y", "x").expect_err("already committed");
    assert!(matches!(again, SnapshotError::NotActive { .. }), "{again}");
    // A failed prepare (missing parent) left no directory behind.
    assert_eq!(fx.dirs_on_disk(), 3);
    fx.assert_no_mounts();
}

fn index_survives_reopen_and_cleanup_removes_strays(f: Factory) {
    let fx = Fixture::new(f);
    fx.layer(None, "l1", &build(|b| file(b, "f", b"1")));
    let root = fx.sn().root().to_path_buf();
    fs::create_dir_all(root.join(SNAPSHOTS_DIR).join("999/fs")).expect("stray");
    let again = f(&root).expect("reopen");
    assert_eq!(again.stat("l1").expect("stat").kind, Kind::Committed);
    assert_eq!(fx.dirs_on_disk(), 1, "the stray is cleaned up at open");
    fx.assert_no_mounts();
}

fn special_files_and_metadata_survive(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    let tar = build(|b| {
        let mut h = header(EntryType::Regular, 0o4755, 3);
        h.set_uid(1000);
        h.set_gid(2000);
        b.append_pax_extensions([("SCHILY.xattr.user.note", b"hi".as_slice())])
            .expect("pax");
        b.append_data(&mut h, "bin/suid", &b"abc"[..])
            .expect("file");
        let mut h = header(EntryType::Link, 0o644, 0);
        b.append_link(&mut h, "bin/hard", "bin/suid").expect("link");
        let mut h = header(EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, "bin/sym", "suid").expect("symlink");
        let mut h = header(EntryType::Fifo, 0o640, 0);
        b.append_data(&mut h, "run/fifo", io::empty())
            .expect("fifo");
        let mut h = header(EntryType::Char, 0o666, 0);
        h.set_device_major(1).expect("major");
        h.set_device_minor(3).expect("minor");
        b.append_data(&mut h, "dev/null", io::empty()).expect("dev");
    });
    fx.layer(None, "l1", &tar);
    fx.layer(Some("l1"), "l2", &build(|b| file(b, "other", b"o")));
    let specs = sn.prepare("c", Some("l2")).expect("prepare");
    {
        let m = fx.mount("c", &specs);
        let suid = fs::symlink_metadata(m.path("bin/suid")).expect("suid");
        assert_eq!((suid.uid(), suid.gid()), (1000, 2000));
        assert_eq!(suid.mode() & 0o7777, 0o4755);
        assert_eq!(suid.mtime(), 1_000_000_000);
        let hard = fs::symlink_metadata(m.path("bin/hard")).expect("hard");
        assert_eq!(hard.ino(), suid.ino(), "hard link kept");
        assert_eq!(suid.nlink(), 2);
        let mut buf = [0u8; 16];
        let n =
            rustix::fs::lgetxattr(m.path("bin/suid"), "user.note", &mut buf[..]).expect("xattr");
        assert_eq!(&buf[..n], b"hi");
        assert_eq!(
            fs::read_link(m.path("bin/sym")).expect("readlink"),
            Path::new("suid")
        );
        let fifo = fs::symlink_metadata(m.path("run/fifo")).expect("fifo");
        assert!(fifo.file_type().is_fifo());
        assert_eq!(fifo.mode() & 0o7777, 0o640);
        let dev = fs::symlink_metadata(m.path("dev/null")).expect("dev");
        assert!(dev.file_type().is_char_device());
        assert_eq!(dev.rdev(), rustix::fs::makedev(1, 3));
    }
    fx.assert_no_mounts();
}

fn long_chain_mounts(f: Factory) {
    // A long root path makes the joined lowerdir string exceed one page.
    let fx = Fixture::with_subdir(f, &"d".repeat(120));
    let sn = fx.sn();
    let mut parent: Option<String> = None;
    for i in 0..128 {
        let name = format!("layer-{i}");
        let tar = build(|b| {
            file(b, &format!("f{i:03}"), i.to_string().as_bytes());
            file(b, "top", i.to_string().as_bytes());
        });
        fx.layer(parent.as_deref(), &name, &tar);
        parent = Some(name);
    }
    let specs = sn.prepare("c", parent.as_deref()).expect("prepare");
    if sn.name() == "overlayfs" {
        let lower = specs[0]
            .options
            .iter()
            .find(|o| o.starts_with("lowerdir="))
            .expect("lowerdir");
        assert!(lower.len() > 4096, "lowerdir is {} bytes", lower.len());
    }
    {
        let m = fx.mount("c", &specs);
        let n = names(&m.path(""));
        assert_eq!(n.len(), 129, "{n:?}");
        assert_eq!(read(&m.path("f000")), "0");
        assert_eq!(read(&m.path("f127")), "127");
        assert_eq!(read(&m.path("top")), "127");
        fs::write(m.path("top"), b"mine").expect("write through 128 layers");
    }
    fx.assert_no_mounts();
}

fn layer_tar(files: &[(&str, &str)]) -> (Vec<u8>, Digest) {
    let tar = build(|b| {
        for (p, c) in files {
            file(b, p, c.as_bytes());
        }
    });
    let diff = Digest::sha256_of(&tar);
    (tar, diff)
}

fn unpack_layer_shares_one_snapshot(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    let (t1, d1) = layer_tar(&[("a", "1")]);
    let (t2, d2) = layer_tar(&[("b", "2")]);
    let c1 = unpack_layer(sn, None, &t1[..], MEDIA_TYPE_OCI_LAYER, &d1).expect("unpack");
    assert_eq!(c1, d1, "the first chain ID is the DiffID");
    let again = unpack_layer(sn, None, &t1[..], MEDIA_TYPE_OCI_LAYER, &d1).expect("unpack");
    assert_eq!(again, c1);
    let c2 = unpack_layer(sn, Some(&c1), &t2[..], MEDIA_TYPE_OCI_LAYER, &d2).expect("unpack");
    let expected = Digest::sha256_of(format!("{d1} {d2}").as_bytes());
    assert_eq!(c2, expected);
    assert_eq!(chain_id(Some(&c1), &d2), expected);
    let infos = sn.list().expect("list");
    assert_eq!(infos.len(), 2, "{infos:?}");
    assert!(infos.iter().all(|i| i.kind == Kind::Committed));
    assert_eq!(fx.dirs_on_disk(), 2);
    {
        let m = fx.mount("v", &sn.mounts(&c2.to_string()).expect("mounts"));
        assert_eq!(names(&m.path("")), ["a", "b"]);
    }
    fx.assert_no_mounts();
}

fn diff_id_mismatch_leaves_nothing(f: Factory) {
    let fx = Fixture::new(f);
    let sn = fx.sn();
    let (tar, actual) = layer_tar(&[("a", "1")]);
    let wrong = Digest::sha256_of(b"something else");
    let err = unpack_layer(sn, None, &tar[..], MEDIA_TYPE_OCI_LAYER, &wrong).expect_err("mismatch");
    let msg = err.to_string();
    assert!(
        msg.contains(&wrong.to_string()) && msg.contains(&actual.to_string()),
        "{msg}"
    );
    assert!(sn.list().expect("list").is_empty());
    assert_eq!(fx.dirs_on_disk(), 0);
    // A broken stream leaves nothing either.
    let err = unpack_layer(sn, None, &tar[..100], MEDIA_TYPE_OCI_LAYER, &actual);
    assert!(matches!(err, Err(SnapshotError::Unpack { .. })), "{err:?}");
    assert!(sn.list().expect("list").is_empty());
    assert_eq!(fx.dirs_on_disk(), 0);
    fx.assert_no_mounts();
}

fn concurrent_unpack_of_one_chain(f: Factory) {
    let fx = Fixture::new(f);
    // Two snapshotter instances on one root, as two processes would have.
    let other = f(fx.sn().root()).expect("second instance");
    let (t1, d1) = layer_tar(&[("base", "b")]);
    let base = unpack_layer(fx.sn(), None, &t1[..], MEDIA_TYPE_OCI_LAYER, &d1).expect("base");
    for round in 0..8 {
        let (tar, diff) = layer_tar(&[("f", &round.to_string())]);
        let barrier = Barrier::new(2);
        let results: Vec<Result<Digest>> = std::thread::scope(|s| {
            let handles: Vec<_> = [fx.sn(), other.as_ref()]
                .into_iter()
                .map(|sn| {
                    let (tar, diff, barrier, base) = (&tar, &diff, &barrier, &base);
                    s.spawn(move || {
                        barrier.wait();
                        unpack_layer(sn, Some(base), &tar[..], MEDIA_TYPE_OCI_LAYER, diff)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let chain = chain_id(Some(&base), &diff);
        for r in results {
            assert_eq!(r.expect("both unpacks succeed"), chain);
        }
        let infos = fx.sn().list().expect("list");
        assert!(infos.iter().all(|i| i.kind == Kind::Committed), "{infos:?}");
        assert_eq!(infos.len(), 2 + round, "{infos:?}");
        assert_eq!(fx.dirs_on_disk(), 2 + round);
        // Stack the next round on a fresh chain from the base, not on this one.
    }
    fx.assert_no_mounts();
}

/// A root of an earlier version, whose index was one `metadata.json`: opened, its records
/// become one file each, the old file goes, and snapshots keep their trees and ids (a
/// new one does not take an id the old index had handed out).
fn upgrade_from_one_index_file(f: Factory) {
    let fx = Fixture::new(f);
    fx.layer(None, "l1", &build(|b| file(b, "f", b"1")));
    fx.sn().prepare("ctr", Some("l1")).expect("prepare");
    let root = fx.sn().root().to_path_buf();
    let before: Vec<Info> = fx.sn().list().expect("list");
    // Write the same index the way earlier versions kept it, and drop the record files.
    let mut snapshots = serde_json::Map::new();
    let records: Vec<(String, serde_json::Value)> = fs::read_dir(root.join(index::INDEX_DIR))
        .expect("index dir")
        .flatten()
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&fs::read(e.path()).expect("read")).expect("json");
            (v["key"].as_str().expect("key").to_string(), v)
        })
        .collect();
    for (key, mut v) in records {
        v.as_object_mut().expect("object").remove("key");
        snapshots.insert(key, v);
    }
    let legacy = serde_json::json!({"version": 1, "next_id": 7, "snapshots": snapshots});
    fs::remove_dir_all(root.join(index::INDEX_DIR)).expect("drop the record files");
    fs::write(
        root.join(index::LEGACY_INDEX_FILE),
        serde_json::to_vec_pretty(&legacy).expect("encode"),
    )
    .expect("write the old index");

    let again = f(&root).expect("reopen");
    assert!(
        !root.join(index::LEGACY_INDEX_FILE).exists(),
        "the old index is gone"
    );
    assert_eq!(again.list().expect("list"), before);
    assert_eq!(fx.dirs_on_disk(), 2, "no tree was taken for a stray");
    let m = again.mounts("ctr").expect("mounts");
    let mounted = fx.mount("upgraded", &m);
    assert_eq!(fs::read(mounted.target.join("f")).expect("read"), b"1");
    drop(mounted);
    again
        .prepare("ctr2", Some("l1"))
        .expect("prepare after the upgrade");
    assert!(
        names(&root.join(SNAPSHOTS_DIR)).contains(&"7".to_string()),
        "ids continue from the old index's next id: {:?}",
        names(&root.join(SNAPSHOTS_DIR))
    );
    again.remove("ctr2").expect("remove");
    again.remove("ctr").expect("remove");
    again.remove("l1").expect("remove");
    assert!(again.list().expect("list").is_empty());
    fx.assert_no_mounts();
}

macro_rules! conformance {
    ($($imp:ident),*) => {$(
        mod $imp {
            #[test] fn prepare_commit_view_chain() { super::prepare_commit_view_chain(super::$imp) }
            #[test] fn whiteout_and_opaque_dir() { super::whiteout_and_opaque_dir(super::$imp) }
            #[test] fn writes_go_to_the_active_snapshot_only() { super::writes_go_to_the_active_snapshot_only(super::$imp) }
            #[test] fn remove_refuses_a_parent_with_children() { super::remove_refuses_a_parent_with_children(super::$imp) }
            #[test] fn lifecycle_errors() { super::lifecycle_errors(super::$imp) }
            #[test] fn index_survives_reopen_and_cleanup_removes_strays() { super::index_survives_reopen_and_cleanup_removes_strays(super::$imp) }
            #[test] fn special_files_and_metadata_survive() { super::special_files_and_metadata_survive(super::$imp) }
            #[test] fn long_chain_mounts() { super::long_chain_mounts(super::$imp) }
            #[test] fn unpack_layer_shares_one_snapshot() { super::unpack_layer_shares_one_snapshot(super::$imp) }
            #[test] fn diff_id_mismatch_leaves_nothing() { super::diff_id_mismatch_leaves_nothing(super::$imp) }
            #[test] fn concurrent_unpack_of_one_chain() { super::concurrent_unpack_of_one_chain(super::$imp) }
            #[test] fn upgrade_from_one_index_file() { super::upgrade_from_one_index_file(super::$imp) }
        }
    )*};
}

conformance!(overlay, native);

#[test]
fn open_picks_overlay_where_it_mounts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sn = open(tmp.path()).expect("open");
    assert_eq!(sn.name(), "overlayfs");
    assert!(sn.root().ends_with("overlayfs"));
    assert!(overlay_supported(sn.root()));
    assert_eq!(
        names(&sn.root().join(SNAPSHOTS_DIR)).len(),
        0,
        "probe cleaned up"
    );
}

#[test]
fn roots_that_cannot_be_spelled_in_overlay_options_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for bad in ["a:b", "a,b"] {
        let err = OverlaySnapshotter::open(&tmp.path().join(bad)).expect_err(bad);
        assert!(matches!(err, SnapshotError::InvalidRoot { .. }), "{err}");
    }
}

#[test]
fn chain_id_of_the_first_layer_is_its_diff_id() {
    let d = Digest::sha256_of(b"x");
    assert_eq!(chain_id(None, &d), d);
}
