//! The image service against real peers: the busybox OCI layout from
//! scripts/busybox-image.sh (loaded, mounted and run with muelle-runtime), and Debian's
//! `docker-registry` fed by `skopeo` for pulls. Runs as root (mounts, the runtime).
//!
//! Steps needing a missing peer print why and return.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use muelle_image::distribution::{RegistryClient, MANIFEST_MEDIA_TYPES};
use muelle_image::images::{ImageError, ImageService, PullEvent, PullProgress, Removed};
use muelle_image::manifest::Platform;
use muelle_image::reference::Reference;
use muelle_image::snapshot::{self, Kind};
use muelle_image::Digest;
use serde_json::{json, Value};

mod common;
use common::{busybox_layout, options, skopeo, start_registry};

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Unmounts on drop (also when a test fails).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = snapshot::unmount(&self.0);
    }
}

/// Deletes the container on drop.
struct Container {
    runtime: PathBuf,
    root: PathBuf,
    id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(&self.runtime)
            .arg("--root")
            .arg(&self.root)
            .args(["delete", "--force", &self.id])
            .output();
    }
}

/// The runtime binary, built if missing.
fn runtime_binary() -> PathBuf {
    let bin = PathBuf::from(format!("{WORKSPACE}/target/debug/muelle-runtime"));
    if bin.exists() {
        return bin;
    }
    // The cargo running this test may still hold the build lock: give up after a while
    // rather than wait forever.
    let mut child = Command::new(env!("CARGO"))
        .args(["build", "-p", "muelle-runtime"])
        .current_dir(WORKSPACE)
        .spawn()
        .expect("run cargo build -p muelle-runtime");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(
                status.success() && bin.exists(),
                "cargo build -p muelle-runtime failed ({status})"
            );
            return bin;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo build -p muelle-runtime took more than 600 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn load_layout_mount_and_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = tmp.path().join("layout");
    busybox_layout(&layout);
    let svc = ImageService::open(tmp.path().join("root"), options()).expect("open");

    let loaded = svc.load_oci_layout(&layout, None).expect("load");
    assert_eq!(loaded.len(), 1);
    let img = &loaded[0];
    assert_eq!(img.repo_tags, vec!["docker.io/library/busybox:latest"]);
    assert!(img.repo_digests.is_empty());
    assert_eq!(img.chain_ids.len(), 1);
    assert_eq!(img.platform.os, "linux");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        img.target.digest.to_string(),
        index["manifests"][0]["digest"].as_str().unwrap()
    );
    // Found by short name, by full ID and by ID prefix; one image listed.
    assert_eq!(svc.image("busybox").expect("by name").id, img.id);
    assert_eq!(svc.image(&img.id.to_string()).expect("by id").id, img.id);
    assert_eq!(
        svc.image(&img.id.hex()[..12]).expect("by prefix").id,
        img.id
    );
    assert!(matches!(
        svc.image("nosuchimage"),
        Err(ImageError::NotFound { .. })
    ));
    assert_eq!(svc.list().expect("list").len(), 1);
    let record = svc
        .meta()
        .get_image("docker.io/library/busybox:latest")
        .expect("get")
        .expect("record");
    assert_eq!(record.target.digest, img.target.digest);
    assert!(
        svc.meta().list_leases().expect("leases").is_empty(),
        "the load's lease is gone"
    );
    // Loading again changes nothing and unpacks nothing new.
    let again = svc.load_oci_layout(&layout, None).expect("load again");
    assert_eq!(again[0].id, img.id);
    let committed = |svc: &ImageService| {
        svc.snapshotter()
            .list()
            .unwrap()
            .into_iter()
            .filter(|i| i.kind == Kind::Committed)
            .count()
    };
    assert_eq!(committed(&svc), 1);

    // A rootfs for a container, mounted.
    let mounts = svc.prepare_rootfs("busybox", "ctr-1").expect("prepare");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    snapshot::mount_at(&mounts, &mnt).expect("mount");
    let guard = Mounted(mnt.clone());
    assert!(
        mnt.join("bin/busybox").is_file(),
        "bin/busybox in the rootfs"
    );
    assert!(matches!(
        svc.prepare_rootfs("busybox", "ctr-1"),
        Err(ImageError::SnapshotExists { .. })
    ));

    // ... and run (in a block: the container goes before the rootfs is unmounted).
    {
        let runtime = runtime_binary();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir(&bundle).unwrap();
        let out = Command::new(&runtime)
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .output()
            .expect("muelle-runtime spec");
        assert!(out.status.success(), "spec: {out:?}");
        let cfg_path = bundle.join("config.json");
        let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
        cfg["process"]["terminal"] = json!(false);
        cfg["process"]["args"] = json!(["/bin/sh", "-c", "echo hello-from-image"]);
        cfg["root"] = json!({"path": mnt.to_str().unwrap(), "readonly": false});
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        let state = tmp.path().join("runtime-state");
        let id = format!("muelle-image-test-{}", std::process::id());
        let _container = Container {
            runtime: runtime.clone(),
            root: state.clone(),
            id: id.clone(),
        };
        let out = Command::new(&runtime)
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .output()
            .expect("muelle-runtime run");
        assert!(
            out.status.success(),
            "run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "hello-from-image"
        );
    }
    drop(guard);
    svc.remove_rootfs("ctr-1").expect("remove rootfs");

    // Untag: the image goes; prune takes its blobs and its snapshot.
    let removed = svc.remove("busybox", false).expect("remove");
    assert_eq!(
        removed,
        vec![
            Removed::Untagged("docker.io/library/busybox:latest".into()),
            Removed::Deleted(img.id.clone())
        ]
    );
    let report = svc.prune().expect("prune");
    assert!(
        report.snapshot_errors.is_empty(),
        "{:?}",
        report.snapshot_errors
    );
    assert_eq!(report.removed_snapshots.len(), 1);
    assert!(svc.store().list().unwrap().is_empty());
    assert_eq!(svc.snapshotter().list().unwrap().len(), 0);
}

#[test]
fn load_refuses_a_damaged_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = tmp.path().join("layout");
    busybox_layout(&layout);
    let svc = ImageService::open(tmp.path().join("root"), options()).expect("open");
    // Damage the layer: same size, other bytes.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_d = Digest::parse(index["manifests"][0]["digest"].as_str().unwrap()).unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(manifest_d.hex())).unwrap(),
    )
    .unwrap();
    let layer_d = Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap()).unwrap();
    let layer_path = layout.join("blobs/sha256").join(layer_d.hex());
    let mut bytes = std::fs::read(&layer_path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&layer_path, &bytes).unwrap();

    let err = svc.load_oci_layout(&layout, None).expect_err("damaged");
    assert!(err.to_string().contains(&layer_d.to_string()), "{err}");
    assert!(svc.list().unwrap().is_empty());
    assert!(!svc.store().exists(&layer_d).unwrap());

    // A bare tag names no repository unless a name is given.
    let layout2 = tmp.path().join("layout2");
    busybox_layout(&layout2);
    let mut index2: Value =
        serde_json::from_slice(&std::fs::read(layout2.join("index.json")).unwrap()).unwrap();
    index2["manifests"][0]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("io.containerd.image.name");
    std::fs::write(
        layout2.join("index.json"),
        serde_json::to_vec(&index2).unwrap(),
    )
    .unwrap();
    let err = svc.load_oci_layout(&layout2, None).expect_err("no name");
    assert!(err.to_string().contains("give it a name"), "{err}");
    let name = Reference::parse("example.com/bb:v1").unwrap();
    let loaded = svc.load_oci_layout(&layout2, Some(&name)).expect("named");
    assert_eq!(loaded[0].repo_tags, vec!["example.com/bb:v1"]);
}

// ---------------------------------------------------------------------------------------------
// Pulls from docker-registry

#[derive(Default)]
struct Recorder(Mutex<Vec<PullEvent>>);

impl PullProgress for Recorder {
    fn event(&self, event: PullEvent) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn count(&self, f: impl Fn(&PullEvent) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|e| f(e)).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_share_remove_prune_and_failures_needs_registry_skopeo() {
    let reg = start_registry();
    let host = reg.host.clone();
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = tmp.path().join("layout");
    busybox_layout(&layout);
    let src = format!("oci:{}:latest", layout.display());
    for repo in ["library/busybox", "other/busybox"] {
        skopeo(&[
            "copy",
            "--insecure-policy",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{host}/{repo}:latest"),
        ]);
    }
    // An index over the pushed manifest, for platform selection.
    let client = RegistryClient::new(options()).expect("client");
    let pushed = client
        .get_manifest(&host, "library/busybox", "latest", MANIFEST_MEDIA_TYPES)
        .await
        .expect("pushed manifest");
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": pushed.content_type, "digest": pushed.digest.to_string(),
            "size": pushed.bytes.len(), "platform": {"architecture": "amd64", "os": "linux"}}]
    }))
    .unwrap();
    let index_d = client
        .put_manifest(
            &host,
            "library/busybox",
            "multi",
            &index,
            "application/vnd.oci.image.index.v1+json",
        )
        .await
        .expect("push index");

    let svc = ImageService::open(tmp.path().join("root"), options()).expect("open");
    let name = format!("{host}/library/busybox:latest");
    let reference = Reference::parse(&name).unwrap();

    // First pull: downloaded and unpacked.
    let rec = Recorder::default();
    let img = svc.pull(&reference, None, &rec).await.expect("pull");
    assert_eq!(img.repo_tags, vec![name.clone()]);
    assert_eq!(
        img.repo_digests,
        vec![format!("{host}/library/busybox@{}", pushed.digest)]
    );
    assert_eq!(img.manifest, pushed.digest);
    assert_eq!(img.chain_ids.len(), 1);
    assert!(rec.count(|e| matches!(e, PullEvent::Downloading { .. })) > 0);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Extracting { .. })), 1);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Done { .. })), 1);
    let record = svc.meta().get_image(&name).unwrap().expect("record");
    assert_eq!(record.target.digest, pushed.digest);
    let chain = img.chain_ids[0].to_string();
    assert_eq!(
        svc.snapshotter().stat(&chain).unwrap().kind,
        Kind::Committed
    );
    assert!(svc.meta().get_snapshot(&chain).unwrap().is_some());
    assert!(svc.meta().list_leases().unwrap().is_empty());
    for l in &img.config.rootfs.diff_ids {
        assert!(
            img.chain_ids.contains(l),
            "single layer: chain ID is the diff ID"
        );
    }

    // Again: nothing downloaded or unpacked.
    let rec = Recorder::default();
    let again = svc.pull(&reference, None, &rec).await.expect("pull again");
    assert_eq!(again.id, img.id);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Downloading { .. })), 0);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Waiting { .. })), 0);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Extracting { .. })), 0);
    assert_eq!(
        rec.count(|e| matches!(e, PullEvent::AlreadyExists { .. })),
        1
    );

    // Another repository with the same layer: one snapshot, shared.
    let other = Reference::parse(&format!("{host}/other/busybox:latest")).unwrap();
    let rec = Recorder::default();
    let img2 = svc.pull(&other, None, &rec).await.expect("pull other");
    assert_eq!(img2.id, img.id);
    assert_eq!(rec.count(|e| matches!(e, PullEvent::Downloading { .. })), 0);
    let committed: Vec<_> = svc
        .snapshotter()
        .list()
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == Kind::Committed)
        .collect();
    assert_eq!(committed.len(), 1, "{committed:?}");
    assert_eq!(svc.meta().list_snapshots().unwrap().len(), 1);

    // Through the index, by tag; then by digest (a digest pull records only the digest).
    let multi = Reference::parse(&format!("{host}/library/busybox:multi")).unwrap();
    let img3 = svc
        .pull(&multi, None, &Recorder::default())
        .await
        .expect("pull index");
    assert_eq!(img3.id, img.id);
    let rec3 = svc
        .meta()
        .get_image(&multi.to_string())
        .unwrap()
        .expect("record");
    assert_eq!(rec3.target.digest, index_d);
    assert_eq!(
        rec3.target.media_type,
        "application/vnd.oci.image.index.v1+json"
    );
    let by_digest = multi.with_digest(index_d.clone());
    let img4 = svc
        .pull(&by_digest, None, &Recorder::default())
        .await
        .expect("pull by digest");
    assert!(img4.repo_digests.contains(&by_digest.to_string()));
    let names_before: Vec<String> = svc
        .meta()
        .list_images()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();

    // Failures leave no record.
    let missing = Reference::parse(&format!("{host}/library/busybox:nope")).unwrap();
    let err = svc
        .pull(&missing, None, &Recorder::default())
        .await
        .expect_err("unknown tag");
    assert!(matches!(err, ImageError::Registry { .. }), "{err}");
    let err = svc
        .pull(
            &multi,
            Some(Platform::parse("linux/s390x").unwrap()),
            &Recorder::default(),
        )
        .await
        .expect_err("platform the index lacks");
    assert!(matches!(err, ImageError::Platform { .. }), "{err}");
    let err = svc
        .pull(
            &reference,
            Some(Platform::parse("linux/arm64").unwrap()),
            &Recorder::default(),
        )
        .await
        .expect_err("single manifest for another platform");
    assert!(matches!(err, ImageError::PlatformMismatch { .. }), "{err}");
    let names_after: Vec<String> = svc
        .meta()
        .list_images()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names_before, names_after);

    // Untag one name: the digest name its pull recorded goes with its repository's last tag
    // (as in Docker); the image stays, prune keeps everything.
    let removed = svc.remove(&other.to_string(), false).expect("untag");
    let other_digest = format!("{host}/other/busybox@sha256:");
    assert!(
        matches!(removed.as_slice(), [Removed::Untagged(tag), Removed::Untagged(digest)]
            if *tag == other.to_string() && digest.starts_with(&other_digest)),
        "{removed:?}"
    );
    let report = svc.prune().expect("prune");
    assert!(report.removed_snapshots.is_empty());
    let manifest: Value = serde_json::from_slice(&pushed.bytes).unwrap();
    let layer_blob = Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap()).unwrap();
    assert!(svc.store().exists(&layer_blob).unwrap());

    // By ID: several repositories need force; then everything goes at prune.
    let third = Reference::parse(&format!("{host}/third/busybox:latest")).unwrap();
    svc.tag(&img.id.to_string(), &third)
        .expect("tag a second repository");
    assert!(matches!(
        svc.remove(&img.id.to_string(), false),
        Err(ImageError::MultipleRepositories { .. })
    ));
    let removed = svc.remove(&img.id.to_string(), true).expect("remove by id");
    assert_eq!(removed.last(), Some(&Removed::Deleted(img.id.clone())));
    assert!(svc.meta().list_images().unwrap().is_empty());
    assert!(svc.list().unwrap().is_empty());
    let report = svc.prune().expect("prune");
    assert_eq!(report.removed_snapshots, vec![chain.clone()]);
    assert!(report.snapshot_errors.is_empty());
    assert!(!svc.store().exists(&layer_blob).unwrap(), "layer collected");
    // What the failed pulls fetched (index; manifest and config) stays leased, for a retry,
    // until the leases expire: nothing else is left.
    let leased: std::collections::BTreeSet<Digest> = svc
        .meta()
        .list_leases()
        .unwrap()
        .into_iter()
        .flat_map(|l| l.content)
        .collect();
    assert!(
        leased.contains(&index_d) && leased.contains(&img.id),
        "{leased:?}"
    );
    for d in svc.store().list().unwrap() {
        assert!(leased.contains(&d), "{d} is neither leased nor collected");
    }
    assert!(svc.snapshotter().list().unwrap().is_empty());
    assert!(svc.meta().list_snapshots().unwrap().is_empty());
}
