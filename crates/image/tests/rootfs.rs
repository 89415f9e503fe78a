//! Container rootfs operations on real overlayfs, with the busybox image of
//! scripts/busybox-image.sh: `docker diff` (rootfs_changes), `docker commit`, `docker cp`
//! (stat, archive out, extract in, hostile archives) and the mounts of a stopped container.
//! Runs as root. Every snapshot and mount is undone by guards, also when a step fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};

use muelle_image::distribution::{CredentialSource, RegistryOptions};
use muelle_image::images::{
    archive_from_root, extract_into_root, stat_in_root, write_tree_tar, ChangeKind, CommitOptions,
    ImageError, ImageService,
};
use muelle_image::manifest::ContainerConfig;
use muelle_image::reference::Reference;
use muelle_image::snapshot;
use muelle_image::unpack::UnpackError;

mod common;

fn options() -> RegistryOptions {
    RegistryOptions {
        credentials: CredentialSource::Anonymous,
        proxy_from_env: false,
        ..RegistryOptions::default()
    }
}

/// A prepared container rootfs, mounted at `dir`; unmounted and removed on drop.
struct Rootfs<'a> {
    svc: &'a ImageService,
    key: String,
    dir: PathBuf,
    mounted: bool,
}

impl<'a> Rootfs<'a> {
    fn prepare(svc: &'a ImageService, image: &str, key: &str, dir: PathBuf) -> Self {
        let mounts = svc.prepare_rootfs(image, key).expect("prepare_rootfs");
        let mut r = Rootfs {
            svc,
            key: key.to_string(),
            dir,
            mounted: false,
        };
        std::fs::create_dir_all(&r.dir).unwrap();
        snapshot::mount_at(&mounts, &r.dir).expect("mount");
        r.mounted = true;
        r
    }

    fn unmount(&mut self) {
        if self.mounted {
            snapshot::unmount(&self.dir).expect("unmount");
            self.mounted = false;
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

impl Drop for Rootfs<'_> {
    fn drop(&mut self) {
        if self.mounted {
            let _ = snapshot::unmount(&self.dir);
        }
        let _ = self.svc.remove_rootfs(&self.key);
    }
}

/// Unmounts on drop.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = snapshot::unmount(&self.0);
    }
}

fn changes(svc: &ImageService, key: &str) -> Vec<String> {
    svc.rootfs_changes(key)
        .expect("rootfs_changes")
        .into_iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect()
}

fn entry_names(tar_bytes: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(tar_bytes);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A tar whose entries are written with raw names (the tar crate's `set_path` refuses
/// `..` and absolute names, which is the point here).
fn raw_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        h.set_size(data.len() as u64);
        h.set_mtime(1_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A service on overlayfs with the busybox image of scripts/busybox-image.sh loaded.
fn busybox(tmp: &Path) -> ImageService {
    let svc = common::with_busybox(tmp, options());
    assert_eq!(
        svc.snapshotter().name(),
        "overlayfs",
        "overlayfs cannot be mounted here (these tests need root and the overlay module)"
    );
    svc
}

#[test]
fn diff_commit_and_changes_through_two_commits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = busybox(tmp.path());
    let base = svc.image("busybox").expect("busybox");

    // First container: new directories and files only.
    let mut a = Rootfs::prepare(&svc, "busybox", "ctr-a", tmp.path().join("a"));
    std::fs::create_dir_all(a.path("data")).unwrap();
    std::fs::write(a.path("data/a"), b"a").unwrap();
    std::fs::write(a.path("data/b"), b"b").unwrap();
    std::fs::create_dir_all(a.path("stuff")).unwrap();
    std::fs::write(a.path("stuff/x"), b"x").unwrap();
    std::fs::write(a.path("stuff/y"), b"y").unwrap();
    assert_eq!(
        changes(&svc, "ctr-a"),
        [
            "A /data",
            "A /data/a",
            "A /data/b",
            "A /stuff",
            "A /stuff/x",
            "A /stuff/y"
        ]
    );
    // The engine mounts a stopped container with these.
    let mounts = svc.rootfs_mounts("ctr-a").expect("rootfs_mounts");
    let again = tmp.path().join("a-again");
    std::fs::create_dir(&again).unwrap();
    snapshot::mount_at(&mounts, &again).expect("mount again");
    let guard = Mounted(again.clone());
    assert_eq!(std::fs::read(again.join("stuff/x")).unwrap(), b"x");
    drop(guard);
    assert!(matches!(
        svc.rootfs_mounts(&base.chain_ids[0].to_string()),
        Err(ImageError::Rootfs { .. })
    ));

    a.unmount();
    let config = ContainerConfig {
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()]),
        ..ContainerConfig::default()
    };
    let first = svc
        .commit(
            "ctr-a",
            &CommitOptions {
                config: config.clone(),
                comment: Some("first".into()),
                author: Some("tester <t@example.com>".into()),
                reference: Some(Reference::parse("muelle.test/committed:1").unwrap()),
                created_by: Some("/bin/sh -c echo hi".into()),
                cache_key: None,
                extra: Default::default(),
            },
        )
        .expect("commit");
    assert_eq!(first.repo_tags, ["muelle.test/committed:1"]);
    assert_eq!(first.chain_ids.len(), 2);
    assert_eq!(first.chain_ids[0], base.chain_ids[0]);
    assert_eq!(first.config.rootfs.diff_ids.len(), 2);
    assert_eq!(first.config.history.len(), 2);
    let h = &first.config.history[1];
    assert_eq!(h.comment.as_deref(), Some("first"));
    assert_eq!(h.author.as_deref(), Some("tester <t@example.com>"));
    assert_eq!(h.created_by.as_deref(), Some("/bin/sh -c echo hi"));
    assert_eq!(h.empty_layer, None);
    assert_eq!(
        first.config.author.as_deref(),
        Some("tester <t@example.com>")
    );
    assert_eq!(first.config.config.as_ref(), Some(&config));
    assert_eq!(
        first.config.extra.get("comment").and_then(|v| v.as_str()),
        Some("first")
    );
    assert_eq!(svc.history("muelle.test/committed:1").unwrap().len(), 2);
    drop(a);

    // Second container, from the committed image: delete a directory, delete a file,
    // replace a directory (opaque), modify and add.
    let mut b = Rootfs::prepare(
        &svc,
        "muelle.test/committed:1",
        "ctr-b",
        tmp.path().join("b"),
    );
    assert_eq!(std::fs::read(b.path("data/a")).unwrap(), b"a");
    std::fs::remove_dir_all(b.path("data")).unwrap();
    std::fs::remove_file(b.path("etc/group")).unwrap();
    std::fs::remove_dir_all(b.path("stuff")).unwrap();
    std::fs::create_dir(b.path("stuff")).unwrap();
    std::fs::write(b.path("stuff/new"), b"new").unwrap();
    let mut passwd = std::fs::read(b.path("etc/passwd")).unwrap();
    passwd.extend_from_slice(b"extra:x:1000:1000::/:/bin/sh\n");
    std::fs::write(b.path("etc/passwd"), &passwd).unwrap();
    std::fs::write(b.path("etc/foo"), b"foo").unwrap();
    std::fs::create_dir_all(b.path("new/sub")).unwrap();
    std::fs::write(b.path("new/sub/f"), b"f").unwrap();
    // As Docker's overlay2 driver lists them: the opaque /stuff is "D", its new content "A".
    assert_eq!(
        changes(&svc, "ctr-b"),
        [
            "D /data",
            "C /etc",
            "A /etc/foo",
            "D /etc/group",
            "C /etc/passwd",
            "A /new",
            "A /new/sub",
            "A /new/sub/f",
            "D /stuff",
            "A /stuff/new",
        ]
    );
    let kinds: Vec<u8> = svc
        .rootfs_changes("ctr-b")
        .unwrap()
        .iter()
        .map(|c| c.kind.code())
        .collect();
    assert_eq!(kinds[..3], [2, 0, 1]);

    // export of the container as it is seen.
    let mut exported = Vec::new();
    write_tree_tar(&b.dir, &mut exported).expect("export");
    let names = entry_names(&exported);
    assert!(names.contains(&"stuff/new".to_string()));
    assert!(!names
        .iter()
        .any(|n| n.starts_with("data") || n == "etc/group"));

    b.unmount();
    let second = svc
        .commit("ctr-b", &CommitOptions::default())
        .expect("commit untagged");
    assert!(second.repo_tags.is_empty());
    assert_eq!(second.chain_ids.len(), 3);
    assert_eq!(second.config.history.len(), 3);
    assert!(!second.config.extra.contains_key("comment"));
    drop(b);

    // A container of the result shows every change of the second commit.
    let c = Rootfs::prepare(&svc, &second.id.to_string(), "ctr-c", tmp.path().join("c"));
    assert!(!c.path("data").exists(), "deleted directory is gone");
    assert!(!c.path("etc/group").exists(), "deleted file is gone");
    assert!(
        !c.path("stuff/x").exists(),
        "opaque directory hides the old content"
    );
    assert_eq!(std::fs::read(c.path("stuff/new")).unwrap(), b"new");
    assert_eq!(std::fs::read(c.path("etc/passwd")).unwrap(), passwd);
    assert_eq!(std::fs::read(c.path("etc/foo")).unwrap(), b"foo");
    assert_eq!(std::fs::read(c.path("new/sub/f")).unwrap(), b"f");
    assert!(c.path("bin/busybox").is_file());
    assert!(changes(&svc, "ctr-c").is_empty());
    drop(c);

    // An unchanged container commits as an empty layer, as in Docker.
    let mut d = Rootfs::prepare(&svc, "busybox", "ctr-d", tmp.path().join("d"));
    d.unmount();
    let empty = svc
        .commit("ctr-d", &CommitOptions::default())
        .expect("commit");
    assert_eq!(empty.chain_ids, base.chain_ids);
    assert_eq!(empty.config.history.last().unwrap().empty_layer, Some(true));
    drop(d);

    assert!(matches!(
        svc.commit("nosuch", &CommitOptions::default()),
        Err(ImageError::Rootfs { .. })
    ));
    assert!(
        svc.meta().list_leases().unwrap().is_empty(),
        "no lease left"
    );
}

#[test]
fn cp_stat_archive_extract_and_hostile_archives() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = busybox(tmp.path());
    let r = Rootfs::prepare(&svc, "busybox", "ctr-cp", tmp.path().join("mnt"));
    let root = r.dir.clone();
    std::os::unix::fs::symlink("/etc", r.path("lnk")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../etc/hostname", r.path("up")).unwrap();
    // Names that only one side has, so that following a link to the host's /etc shows:
    // the rootfs's /etc gets one the host lacks, and the host has /etc/shadow (busybox's
    // /etc does not).
    let rootfs_only = format!("muelle-rootfs-only-{}", std::process::id());
    std::fs::write(r.path("etc").join(&rootfs_only), "rootfs\n").unwrap();
    assert!(!Path::new("/etc").join(&rootfs_only).exists());
    assert!(Path::new("/etc/shadow").exists() && !r.path("etc/shadow").exists());

    // stat
    let st = stat_in_root(&root, "/etc/passwd").expect("stat");
    assert_eq!(st.name, "passwd");
    assert_eq!(st.mode & 0o777, 0o644);
    assert_eq!(st.mode & !0o7777, 0, "a regular file has no type bits");
    assert_eq!(
        st.size,
        std::fs::metadata(r.path("etc/passwd")).unwrap().len() as i64
    );
    assert_eq!(st.mtime, "1970-01-01T00:00:00Z");
    assert_eq!(st.link_target, "");
    let st = stat_in_root(&root, "/lnk").expect("stat symlink");
    assert_eq!(st.name, "lnk");
    assert_ne!(st.mode & (1 << 27), 0, "Go's ModeSymlink");
    assert_eq!(st.link_target, "/etc");
    // A relative link climbing past the root stays in it.
    assert_eq!(
        stat_in_root(&root, "up").unwrap().link_target,
        "/etc/hostname"
    );
    let st = stat_in_root(&root, "/lnk/").expect("stat through the symlink");
    assert_eq!(st.name, "lnk");
    assert_ne!(st.mode & (1 << 31), 0, "Go's ModeDir");
    let through = |p: &str| stat_in_root(&root, p).map(|s| s.size);
    assert_eq!(
        through(&format!("/lnk/{rootfs_only}")).expect("the rootfs's file"),
        7
    );
    assert!(
        matches!(through("/lnk/shadow"), Err(ImageError::PathNotFound { .. })),
        "stat through /lnk reached the host's /etc/shadow"
    );
    assert_eq!(stat_in_root(&root, "/").unwrap().name, "/");
    let json = serde_json::to_value(stat_in_root(&root, "/lnk").unwrap()).unwrap();
    assert_eq!(json["linkTarget"], "/etc");
    assert!(matches!(
        stat_in_root(&root, "/nope/x"),
        Err(ImageError::PathNotFound { .. })
    ));

    // archive out
    let mut out = Vec::new();
    let st = archive_from_root(&root, "/etc", &mut out).expect("archive");
    assert_eq!(st.name, "etc");
    let names = entry_names(&out);
    assert_eq!(names[0], "etc/");
    assert!(names.contains(&"etc/passwd".to_string()));
    let mut out = Vec::new();
    archive_from_root(&root, "/etc/.", &mut out).expect("archive contents");
    let names = entry_names(&out);
    assert_eq!(names[0], "./");
    assert!(names.contains(&"./passwd".to_string()));
    let mut out = Vec::new();
    archive_from_root(&root, "/lnk", &mut out).expect("archive symlink");
    assert_eq!(entry_names(&out), ["lnk"]);
    let mut out = Vec::new();
    archive_from_root(&root, "/lnk/", &mut out).expect("archive through symlink");
    let mut names = entry_names(&out);
    assert_eq!(names[0], "lnk/");
    // Exactly the rootfs's /etc: its own file in, the host's shadow out.
    let mut want: Vec<String> = std::fs::read_dir(r.path("etc"))
        .unwrap()
        .flatten()
        .map(|e| format!("lnk/{}", e.file_name().to_string_lossy()))
        .chain(["lnk/".to_string()])
        .collect();
    want.sort();
    names.sort();
    assert_eq!(names, want, "archive of /lnk/ is not the rootfs's /etc");
    assert!(names.contains(&format!("lnk/{rootfs_only}")));
    assert!(!names.contains(&"lnk/shadow".to_string()));

    // round trip: /etc out, into /dest
    std::fs::create_dir(r.path("dest")).unwrap();
    let mut etc = Vec::new();
    archive_from_root(&root, "/etc", &mut etc).unwrap();
    extract_into_root(&root, "/dest", &mut etc.as_slice(), false).expect("extract");
    assert_eq!(
        std::fs::read(r.path("dest/etc/passwd")).unwrap(),
        std::fs::read(r.path("etc/passwd")).unwrap()
    );
    // Through a symlink to a directory, as Docker resolves the destination.
    extract_into_root(
        &root,
        "/lnk",
        &mut raw_tar(&[("viasym", tar::EntryType::Regular, "", b"v")]).as_slice(),
        false,
    )
    .expect("extract via symlink");
    assert_eq!(std::fs::read(r.path("etc/viasym")).unwrap(), b"v");
    assert!(
        !Path::new("/etc/viasym").exists(),
        "extracted into the host's /etc"
    );
    // `.wh.` names are files in a copy, not whiteouts.
    let wh = raw_tar(&[
        ("w/", tar::EntryType::Directory, "", b""),
        (
            "w/.wh.passwd",
            tar::EntryType::Regular,
            "",
            b"not a whiteout",
        ),
        ("w/.wh..wh..opq", tar::EntryType::Regular, "", b""),
    ]);
    extract_into_root(&root, "/dest", &mut wh.as_slice(), false).expect("extract .wh.");
    assert_eq!(
        std::fs::read(r.path("dest/w/.wh.passwd")).unwrap(),
        b"not a whiteout"
    );
    assert!(r.path("dest/w/.wh..wh..opq").is_file());

    // Destinations that are not directories.
    let one = raw_tar(&[("f", tar::EntryType::Regular, "", b"f")]);
    assert!(matches!(
        extract_into_root(&root, "/etc/passwd", &mut one.as_slice(), false),
        Err(ImageError::NotADirectory { .. })
    ));
    assert!(matches!(
        extract_into_root(&root, "/missing", &mut one.as_slice(), false),
        Err(ImageError::PathNotFound { .. })
    ));
    // noOverwriteDirNonDir
    let file_over_dir = raw_tar(&[("etc", tar::EntryType::Regular, "", b"x")]);
    assert!(matches!(
        extract_into_root(&root, "/", &mut file_over_dir.as_slice(), true),
        Err(ImageError::Extract { .. })
    ));
    assert!(r.path("etc/passwd").is_file(), "the directory stayed");

    // Hostile archives: refused, nothing outside the root.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let before: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let rel_out = format!("../../../../../../../..{}/escaped", outside.display());
    for (what, tar) in [
        (
            "dot-dot",
            raw_tar(&[("../x", tar::EntryType::Regular, "", b"x")]),
        ),
        (
            "deep dot-dot",
            raw_tar(&[("a/../../x", tar::EntryType::Regular, "", b"x")]),
        ),
        (
            "absolute",
            raw_tar(&[("/x", tar::EntryType::Regular, "", b"x")]),
        ),
        (
            "symlink out, then through it",
            raw_tar(&[
                (
                    "evil",
                    tar::EntryType::Symlink,
                    &rel_out[..rel_out.len() - "/escaped".len()],
                    b"",
                ),
                ("evil/escaped", tar::EntryType::Regular, "", b"x"),
            ]),
        ),
        (
            "hard link out",
            raw_tar(&[("h", tar::EntryType::Link, "../../etc/passwd", b"")]),
        ),
    ] {
        let err = extract_into_root(&root, "/dest", &mut tar.as_slice(), false).expect_err(what);
        assert!(
            matches!(&err, ImageError::Extract { source, .. } if matches!(**source, UnpackError::Refused { .. })),
            "{what}: {err}"
        );
    }
    // An absolute symlink is the container's: a file through it stays in the root (here
    // the container's /tmp), whatever the host has at that path.
    let abs = raw_tar(&[
        ("abs", tar::EntryType::Symlink, "/tmp", b""),
        ("abs/escaped", tar::EntryType::Regular, "", b"x"),
    ]);
    extract_into_root(&root, "/dest", &mut abs.as_slice(), false).expect("absolute symlink");
    assert_eq!(std::fs::read(r.path("tmp/escaped")).unwrap(), b"x");
    // One whose target does not exist in the container is not created through.
    let dangling = raw_tar(&[
        (
            "dang",
            tar::EntryType::Symlink,
            &outside.display().to_string(),
            b"",
        ),
        ("dang/escaped", tar::EntryType::Regular, "", b"x"),
    ]);
    assert!(extract_into_root(&root, "/dest", &mut dangling.as_slice(), false).is_err());
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing outside the root"
    );
    let after: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert!(!r.path("x").exists() && !root.parent().unwrap().join("x").exists());

    // What cp did shows in docker diff.
    let diff = svc.rootfs_changes("ctr-cp").unwrap();
    assert!(diff
        .iter()
        .any(|c| c.path == "/dest/etc/passwd" && c.kind == ChangeKind::Added));
    let mut f = std::fs::File::open(r.path("etc/viasym")).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "v");
}

/// A container's rootfs on layers already unpacked takes no lease (one transaction), and
/// one whose top layer lost its data while its record stayed (a GC cut short by a crash
/// removes the data first) gets the layer unpacked again instead of failing.
#[test]
fn prepare_on_present_layers_and_on_a_record_without_data() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = busybox(tmp.path());
    let base = svc.image("busybox").expect("busybox");
    let top = base.chain_ids.last().expect("a layer").to_string();
    let leases = || svc.meta().list_leases().expect("leases").len();
    let before = leases();
    let a = Rootfs::prepare(&svc, "busybox", "ctr-fast-a", tmp.path().join("a"));
    assert!(a.path("bin/busybox").exists());
    assert_eq!(leases(), before, "no lease left behind");
    let rec = svc
        .meta()
        .get_snapshot("ctr-fast-a")
        .expect("get")
        .expect("record");
    assert_eq!(rec.parent.as_deref(), Some(top.as_str()));
    assert!(rec.labels.contains_key(muelle_image::meta::GC_ROOT_LABEL));
    // The same key twice is refused, and the first stays.
    assert!(matches!(
        svc.prepare_rootfs("busybox", "ctr-fast-a"),
        Err(ImageError::SnapshotExists { .. })
    ));
    drop(a);

    // The snapshotter loses the top layer; the database keeps its record.
    svc.snapshotter()
        .remove(&top)
        .expect("remove the layer's data");
    assert!(svc.meta().get_snapshot(&top).expect("get").is_some());
    let b = Rootfs::prepare(&svc, "busybox", "ctr-fast-b", tmp.path().join("b"));
    assert!(b.path("bin/busybox").exists());
    assert!(svc.snapshotter().stat(&top).is_ok(), "unpacked again");
    assert_eq!(leases(), before);
}
