//! save/load, OCI layout export, import/export and push, against real peers: skopeo and
//! umoci read what we write and write what we read, dockerd loads our `save` (when its socket
//! answers: scripts/test.sh starts it), and Debian's docker-registry takes our pushes.
//! Hostile archives are refused with the store left as it was. Runs as root (mounts).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use muelle_image::images::{
    write_tree_tar, ImageError, ImageService, ImportOptions, NoPullProgress, PushEvent,
    PushProgress,
};
use muelle_image::reference::Reference;
use serde_json::Value;

mod common;
use common::{options, require_peer, skopeo, start_registry};

fn with_busybox(tmp: &Path) -> ImageService {
    common::with_busybox(tmp, options())
}

const BUSYBOX: &str = "docker.io/library/busybox:latest";

#[test]
fn save_load_round_trips_and_peers_read_both_formats_needs_dockerd_skopeo_umoci() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = with_busybox(tmp.path());
    let img = svc.image("busybox").expect("busybox");

    // save → load into a fresh root: same ID, same name, runnable content.
    let tar = tmp.path().join("save.tar");
    let mut f = std::fs::File::create(&tar).expect("create");
    svc.save(&["busybox".into()], &mut f).expect("save");
    drop(f);
    let svc2 = ImageService::open(tmp.path().join("root2"), options()).expect("open 2");
    let loaded = svc2
        .load(&mut std::fs::File::open(&tar).expect("open tar"))
        .expect("load");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, img.id);
    assert_eq!(loaded[0].names, vec![BUSYBOX.to_string()]);
    let img2 = svc2.image("busybox").expect("loaded");
    assert_eq!(img2.id, img.id);
    assert_eq!(img2.chain_ids, img.chain_ids);
    assert!(svc2.meta().list_leases().expect("leases").is_empty());

    // The tar holds both formats over one set of blobs.
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(std::fs::File::open(&tar).expect("open"));
    for e in ar.entries().expect("entries") {
        names.push(
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string(),
        );
    }
    for want in ["manifest.json", "index.json", "oci-layout", "blobs/sha256/"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }

    // A gzip-compressed archive loads the same.
    let gz = tmp.path().join("save.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("gz"),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&tar).expect("open"), &mut enc).expect("gzip");
    enc.finish().expect("finish gzip");
    let svc3 = ImageService::open(tmp.path().join("root3"), options()).expect("open 3");
    let loaded = svc3
        .load(&mut std::fs::File::open(&gz).expect("open gz"))
        .expect("load gz");
    assert_eq!(loaded[0].id, img.id);

    // OCI layout written by us: skopeo and umoci read it.
    let layout = tmp.path().join("out-layout");
    svc.write_oci_layout(&["busybox".into()], &layout)
        .expect("write layout");
    require_peer("/usr/bin/skopeo", "skopeo");
    let inspect: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("oci:{}:latest", layout.display()),
    ]))
    .expect("skopeo json");
    assert_eq!(
        inspect["Digest"].as_str(),
        Some(img.manifest.to_string().as_str())
    );
    // ... and the docker-archive and oci-archive views of our save.
    let d: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("docker-archive:{}", tar.display()),
    ]))
    .expect("docker-archive json");
    assert_eq!(d["Layers"].as_array().map(Vec::len), Some(1));
    let o: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("oci-archive:{}:latest", tar.display()),
    ]))
    .expect("oci-archive json");
    assert_eq!(
        o["Digest"].as_str(),
        Some(img.manifest.to_string().as_str())
    );

    // A legacy docker-archive (skopeo writes Docker's pre-25 layout) loads with its tag.
    let legacy = tmp.path().join("legacy.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:latest", layout.display()),
        &format!(
            "docker-archive:{}:example.com/legacy/busybox:v1",
            legacy.display()
        ),
    ]);
    let loaded = svc2
        .load(&mut std::fs::File::open(&legacy).expect("legacy"))
        .expect("load legacy");
    assert_eq!(
        loaded[0].names,
        vec!["example.com/legacy/busybox:v1".to_string()]
    );
    assert_eq!(loaded[0].id, img.id, "same config, same ID");
    require_peer("/usr/bin/umoci", "umoci");
    let out = Command::new("/usr/bin/umoci")
        .args(["ls", "--layout"])
        .arg(&layout)
        .output()
        .expect("umoci");
    assert!(out.status.success(), "umoci ls: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "latest");
    // Writing again into the same layout keeps one entry per tag.
    svc.write_oci_layout(&["busybox".into()], &layout)
        .expect("write layout again");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(1));

    // dockerd loads what we save (under a name of our own, so its busybox is untouched).
    docker_loads_our_save(&svc, tmp.path(), &img.id.to_string());
}

fn docker_loads_our_save(svc: &ImageService, tmp: &Path, id: &str) {
    let docker = "/usr/bin/docker";
    require_peer(docker, "docker.io");
    let up = Command::new(docker)
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .expect("run docker version");
    assert!(
        up.status.success(),
        "dockerd does not answer (bash scripts/peers.sh up starts it): {up:?}"
    );
    let name = format!("muelle-save-test:{}", std::process::id());
    svc.tag("busybox", &Reference::parse(&name).expect("ref"))
        .expect("tag");
    let tar = tmp.join("for-docker.tar");
    let mut f = std::fs::File::create(&tar).expect("create");
    svc.save(std::slice::from_ref(&name), &mut f).expect("save");
    drop(f);
    let out = Command::new(docker)
        .arg("load")
        .arg("-i")
        .arg(&tar)
        .output()
        .expect("docker load");
    let _cleanup = DockerImage(name.clone());
    assert!(out.status.success(), "docker load: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("Loaded image: {name}")),
        "{stdout}"
    );
    let out = Command::new(docker)
        .args(["image", "inspect", "--format", "{{.Id}}", &name])
        .output()
        .expect("docker inspect");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    let out = Command::new(docker)
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "echo",
            "saved-by-muelle",
        ])
        .output()
        .expect("docker run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "saved-by-muelle",
        "{out:?}"
    );
}

/// Removes the docker image on drop.
struct DockerImage(String);
impl Drop for DockerImage {
    fn drop(&mut self) {
        let _ = Command::new("/usr/bin/docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[test]
fn import_export_and_history() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = ImageService::open(tmp.path().join("root"), options()).expect("open");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("etc/deep")).expect("mkdir");
    std::fs::write(src.join("etc/deep/file"), b"content\n").expect("write");
    std::fs::hard_link(src.join("etc/deep/file"), src.join("etc/hard")).expect("link");
    std::os::unix::fs::symlink("../../outside", src.join("etc/sym")).expect("symlink");
    std::fs::create_dir(src.join("tmp")).expect("tmp");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod");
    std::fs::write(src.join("suid"), b"#!/bin/sh\n").expect("suid");
    std::fs::set_permissions(src.join("suid"), std::fs::Permissions::from_mode(0o4755))
        .expect("chmod");
    let status = Command::new("mkfifo")
        .arg(src.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let mut tarball = Vec::new();
    write_tree_tar(&src, &mut tarball).expect("tar");

    let opts = ImportOptions {
        reference: Some(Reference::parse("imported:v1").expect("ref")),
        message: Some("from a test".into()),
        changes: vec![r#"CMD ["/bin/sh"]"#.into(), "ENV A=1".into()],
        platform: None,
    };
    let img = svc.import(&mut tarball.as_slice(), &opts).expect("import");
    assert_eq!(img.repo_tags, vec!["docker.io/library/imported:v1"]);
    assert_eq!(img.chain_ids.len(), 1);
    let cfg = img.config.config.clone().expect("config");
    assert_eq!(cfg.cmd, Some(vec!["/bin/sh".to_string()]));
    assert_eq!(cfg.env, Some(vec!["A=1".to_string()]));
    assert_eq!(
        img.config.extra.get("comment").and_then(Value::as_str),
        Some("from a test")
    );

    let history = svc.history("imported:v1").expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id.as_ref(), Some(&img.id));
    assert_eq!(history[0].comment, "from a test");
    assert!(history[0].size > 0);

    // Export gives back the same tree (same entries, kinds, modes, links, contents).
    let mut exported = Vec::new();
    svc.export_image("imported:v1", &mut exported)
        .expect("export");
    assert_eq!(listing(&tarball), listing(&exported));
    assert!(
        svc.snapshotter()
            .list()
            .expect("list")
            .iter()
            .all(|i| !i.key.starts_with("export-")),
        "the export's view is removed"
    );

    // An untagged import is an image with no names, removable by ID.
    let anon = svc
        .import(&mut tarball.as_slice(), &ImportOptions::default())
        .expect("untagged import");
    assert!(anon.repo_tags.is_empty() && anon.repo_digests.is_empty());
    assert_eq!(
        svc.list().expect("list").len(),
        2,
        "same layer, other config"
    );
    svc.remove(&anon.id.to_string(), false).expect("rmi by id");
    assert_eq!(svc.list().expect("list").len(), 1);

    // Bad input: a bad --change, not a tar, an empty stream. Nothing new appears.
    for (input, change) in [
        (tarball.clone(), "RUN rm -rf /"),
        (
            b"this is not a tar archive at all, not even close....".repeat(20),
            "ENV A=1",
        ),
        (Vec::new(), "ENV A=1"),
    ] {
        let opts = ImportOptions {
            reference: Some(Reference::parse("broken:1").expect("ref")),
            changes: vec![change.into()],
            ..ImportOptions::default()
        };
        let err = svc
            .import(&mut input.as_slice(), &opts)
            .expect_err("bad import");
        assert!(!err.to_string().is_empty());
        assert!(matches!(
            svc.image("broken:1"),
            Err(ImageError::NotFound { .. })
        ));
    }
    assert_eq!(svc.list().expect("list").len(), 1);
}

/// (path, kind, mode, link, content) of one tar entry.
type Listed = (String, u8, u32, Option<String>, Vec<u8>);

/// Every entry, sorted.
fn listing(tar_bytes: &[u8]) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(tar_bytes);
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").display().to_string();
        let path = path.trim_end_matches('/').to_string();
        let kind = e.header().entry_type().as_byte();
        let mode = e.header().mode().expect("mode");
        let link = e
            .link_name()
            .expect("link")
            .map(|l| l.display().to_string());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).expect("read");
        out.push((path, kind, mode, link, data));
    }
    out.sort();
    out
}

#[derive(Default)]
struct Events(Mutex<Vec<PushEvent>>);
impl PushProgress for Events {
    fn event(&self, e: PushEvent) {
        self.0.lock().expect("lock").push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_skips_what_is_there_and_mounts_across_repositories_needs_registry_skopeo() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = with_busybox(tmp.path());
    let reg = start_registry();
    let img = svc.image("busybox").expect("busybox");
    let first = Reference::parse(&format!("{}/muelle/busybox:v1", reg.host)).expect("ref");
    svc.tag("busybox", &first).expect("tag");

    let events = Events::default();
    let pushed = svc.push(&first, None, &events).await.expect("push");
    assert_eq!(
        pushed.digest, img.manifest,
        "the stored manifest, byte for byte"
    );
    assert_eq!(pushed.tag, "v1");
    let ev = std::mem::take(&mut *events.0.lock().expect("lock"));
    assert!(
        ev.iter().any(|e| matches!(e, PushEvent::Pushed { .. })),
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, PushEvent::ManifestPushed { .. })));
    let inspect: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{first}"),
    ]))
    .expect("json");
    assert_eq!(
        inspect["Digest"].as_str(),
        Some(img.manifest.to_string().as_str())
    );

    // Again: every layer is already there.
    svc.push(&first, None, &events).await.expect("push again");
    let ev = std::mem::take(&mut *events.0.lock().expect("lock"));
    assert!(
        ev.iter()
            .any(|e| matches!(e, PushEvent::AlreadyExists { .. }))
            && !ev.iter().any(|e| matches!(e, PushEvent::Pushed { .. })),
        "{ev:?}"
    );

    // Another repository on the same registry: mounted, not uploaded.
    let second = Reference::parse(&format!("{}/other/busybox:v2", reg.host)).expect("ref");
    svc.tag("busybox", &second).expect("tag 2");
    svc.push(&second, None, &events).await.expect("push 2");
    let ev = std::mem::take(&mut *events.0.lock().expect("lock"));
    assert!(
        ev.iter()
            .any(|e| matches!(e, PushEvent::Mounted { from, .. } if from == "muelle/busybox")),
        "{ev:?}"
    );

    // What we pushed pulls back into a fresh root as the same image.
    let fresh = ImageService::open(tmp.path().join("fresh"), options()).expect("open");
    let pulled = fresh
        .pull(&second, None, &NoPullProgress)
        .await
        .expect("pull back");
    assert_eq!(pulled.id, img.id);

    // Concurrent pulls sharing the layer (two repositories, and one reference twice) all
    // succeed in one store: the second fetch of a blob waits for the first instead of
    // failing on the ingest lock.
    let shared = ImageService::open(tmp.path().join("shared"), options()).expect("open");
    let (a, b, c) = tokio::join!(
        shared.pull(&first, None, &NoPullProgress),
        shared.pull(&second, None, &NoPullProgress),
        shared.pull(&second, None, &NoPullProgress),
    );
    for r in [a, b, c] {
        assert_eq!(r.expect("concurrent pull").id, img.id);
    }

    // Only local names push; an unknown registry host fails clearly.
    let unknown = Reference::parse(&format!("{}/nope/none:v1", reg.host)).expect("ref");
    assert!(matches!(
        svc.push(&unknown, None, &events).await,
        Err(ImageError::NotFound { .. })
    ));
}

/// A tar with the given (path, kind, content or link target) entries.
fn build_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        // Written raw: the builder's path checks would refuse the hostile names.
        let name = h.as_old_mut().name.as_mut();
        name[..path.len()].copy_from_slice(path.as_bytes());
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name(std::str::from_utf8(data).expect("utf8"))
                .expect("link");
            h.set_size(0);
            h.set_cksum();
            b.append(&h, std::io::empty()).expect("append");
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).expect("append");
        }
    }
    b.into_inner().expect("finish")
}

#[test]
fn hostile_and_broken_archives_are_refused_and_change_nothing() {
    use tar::EntryType::{Regular, Symlink};
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = with_busybox(tmp.path());
    let mut good = Vec::new();
    svc.save(&["busybox".into()], &mut good).expect("save");
    let before: Vec<_> = svc
        .list()
        .expect("list")
        .into_iter()
        .map(|i| (i.id, i.repo_tags))
        .collect();
    let content = b"hello";
    let wrong = format!(
        "blobs/sha256/{}",
        "0".repeat(64) // not the digest of `content`
    );
    let manifest_missing_layer =
        br#"[{"Config":"cfg.json","RepoTags":["evil:1"],"Layers":["nope/layer.tar"]}]"#;
    let mut truncated = Vec::new();
    {
        let mut enc = flate2::write::GzEncoder::new(&mut truncated, flate2::Compression::fast());
        enc.write_all(&good).expect("gzip");
        enc.finish().expect("finish");
    }
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dot-dot entry",
            build_tar(&[("../escape", Regular, content)]),
            "leaves the archive",
        ),
        (
            "absolute entry",
            build_tar(&[("/etc/evil", Regular, content)]),
            "leaves the archive",
        ),
        (
            "symlink out",
            build_tar(&[("manifest.json", Symlink, b"../../etc/passwd")]),
            "leaves the archive",
        ),
        (
            "blob with the wrong digest",
            build_tar(&[(wrong.as_str(), Regular, content)]),
            "digest",
        ),
        (
            "manifest naming a missing layer",
            build_tar(&[
                (
                    "cfg.json",
                    Regular,
                    br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#,
                ),
                ("manifest.json", Regular, manifest_missing_layer),
            ]),
            "not in the archive",
        ),
        (
            "neither format",
            build_tar(&[("hello.txt", Regular, content)]),
            "neither manifest.json nor index.json",
        ),
        ("truncated gzip", truncated, "archive"),
        ("not a tar", b"garbage".repeat(100), "archive"),
    ];
    for (what, bytes, needle) in cases {
        let err = svc.load(&mut bytes.as_slice()).expect_err(what).to_string();
        assert!(err.contains(needle), "{what}: {err}");
        let after: Vec<_> = svc
            .list()
            .expect("list")
            .into_iter()
            .map(|i| (i.id, i.repo_tags))
            .collect();
        assert_eq!(after, before, "{what}: the images are unchanged");
    }
    assert!(!tmp.path().join("escape").exists());
    // Nothing was committed under the name the bytes did not match. (Files that were
    // stored under their own digest stay leased until the lease expires, as for a failed
    // pull, and the next prune after that removes them.)
    let zero = muelle_image::Digest::parse(&format!("sha256:{}", "0".repeat(64))).expect("digest");
    assert!(!svc.store().exists(&zero).expect("exists"));
    // The good archive still loads after all that.
    svc.load(&mut good.as_slice()).expect("good load");
}
