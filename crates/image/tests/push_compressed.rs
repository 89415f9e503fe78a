//! A push of an image whose layers are stored uncompressed (loaded from a docker-archive)
//! compresses them, gzip or zstd, into blobs the registry then holds; a pull gives back the
//! same image; a later push reuses the stored compressed blob instead of compressing again;
//! prune keeps it while the image needs it and reclaims it with the image.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{options, skopeo, start_registry};
use muelle_image::compress::Compression;
use muelle_image::images::{
    ImageService, NoPullProgress, NoPushProgress, PushOptions, LABEL_UNCOMPRESSED,
};
use muelle_image::manifest::{media_type, Manifest};
use muelle_image::reference::Reference;
use muelle_image::Digest;
use serde_json::Value;

/// A service whose busybox was loaded from a docker-archive made by skopeo, which stores
/// layers uncompressed as `docker save` does.
fn with_uncompressed_busybox(tmp: &Path) -> ImageService {
    let layout = tmp.join("layout");
    common::busybox_layout(&layout);
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .expect("ref name")
        .to_string();
    let tar = tmp.join("busybox.tar");
    skopeo(&[
        "copy",
        "-q",
        &format!("oci:{}:{tag}", layout.display()),
        &format!("docker-archive:{}:busybox:latest", tar.display()),
    ]);
    let svc = ImageService::open(tmp.join("root"), options()).expect("open");
    svc.load(&mut std::fs::File::open(&tar).expect("tar"))
        .expect("load");
    svc
}

fn stored_manifest(svc: &ImageService, name: &str) -> Manifest {
    let img = svc.image(name).expect("image");
    let bytes = std::fs::read(svc.store().blob_path(&img.manifest)).expect("manifest");
    serde_json::from_slice(&bytes).expect("manifest json")
}

fn config_of(svc: &ImageService, name: &str) -> Value {
    let img = svc.image(name).expect("image");
    serde_json::from_slice(&std::fs::read(svc.store().blob_path(&img.id)).expect("config"))
        .expect("config json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_compresses_uncompressed_layers_and_reuses_them_needs_registry_skopeo() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = with_uncompressed_busybox(tmp.path());
    let local = stored_manifest(&svc, "busybox");
    assert_eq!(local.layers.len(), 1);
    assert_eq!(
        local.layers[0].media_type,
        media_type::DOCKER_LAYER,
        "the archive's layer is stored uncompressed"
    );
    let diff_id = local.layers[0].digest.clone();
    let reg = start_registry();

    for (how, repo, layer_type, manifest_type) in [
        (
            Compression::Gzip,
            "gz/busybox",
            media_type::DOCKER_LAYER_GZIP,
            media_type::DOCKER_MANIFEST,
        ),
        (
            Compression::Zstd,
            "zst/busybox",
            media_type::OCI_LAYER_ZSTD,
            media_type::OCI_MANIFEST,
        ),
    ] {
        let target = Reference::parse(&format!("{}/{repo}:v1", reg.host)).expect("ref");
        svc.tag("busybox", &target).expect("tag");
        let opts = PushOptions {
            compression: how,
            threads: 2,
        };
        let pushed = svc
            .push_with(&target, None, opts, &NoPushProgress)
            .await
            .expect("push");

        // The registry holds a manifest naming one compressed layer.
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{target}"),
        ]);
        assert_eq!(Digest::sha256_of(raw.as_bytes()), pushed.digest);
        let remote: Manifest = serde_json::from_str(&raw).expect("remote manifest");
        assert_eq!(remote.media_type.as_deref(), Some(manifest_type));
        assert_eq!(remote.layers[0].media_type, layer_type, "{how:?}");
        assert_eq!(
            remote.config.digest, local.config.digest,
            "config unchanged"
        );
        let blob = remote.layers[0].digest.clone();
        assert_ne!(blob, diff_id);

        // The compressed blob is in the store, linked to its uncompressed digest.
        assert_eq!(
            svc.stored_compressed(&diff_id, how).expect("lookup"),
            Some(blob.clone())
        );
        let stored = std::fs::read(svc.store().blob_path(&blob)).expect("stored blob");
        assert!(how.has_magic(&stored), "{how:?} magic");

        // The registry's blob is that one: copy it out with skopeo (no recompression).
        let out = tmp.path().join(format!("copy-{}", how.as_str()));
        skopeo(&[
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{target}"),
            &format!("oci:{}:x", out.display()),
        ]);
        let copied = std::fs::read(out.join("blobs/sha256").join(blob.hex())).expect("copied");
        assert!(how.has_magic(&copied), "{how:?} magic in the registry");
        assert_eq!(Digest::sha256_of(&copied), blob);

        // A second push to a new repository reuses the stored blob: no compression (the
        // blob file is the same inode, untouched) and the same manifest.
        let meta = std::fs::metadata(svc.store().blob_path(&blob)).expect("stat");
        let again = Reference::parse(&format!("{}/{repo}-again:v1", reg.host)).expect("ref");
        svc.tag("busybox", &again).expect("tag again");
        let pushed_again = svc
            .push_with(&again, None, opts, &NoPushProgress)
            .await
            .expect("push again");
        assert_eq!(pushed_again.digest, pushed.digest);
        let meta2 = std::fs::metadata(svc.store().blob_path(&blob)).expect("stat");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (meta.ino(), meta.mtime(), meta.mtime_nsec()),
            (meta2.ino(), meta2.mtime(), meta2.mtime_nsec())
        );

        // Pulled back into a fresh root: the same image (config, so diff IDs and ID).
        let fresh = ImageService::open(
            tmp.path().join(format!("fresh-{}", how.as_str())),
            options(),
        )
        .expect("open");
        let pulled = fresh
            .pull(&target, None, &NoPullProgress)
            .await
            .expect("pull back");
        assert_eq!(pulled.id, svc.image("busybox").expect("busybox").id);
        assert_eq!(
            config_of(&fresh, &target.to_string())["rootfs"]["diff_ids"],
            config_of(&svc, "busybox")["rootfs"]["diff_ids"]
        );
    }

    // Prune keeps the compressed blobs while the image is there, and removes them with it.
    let gz = svc
        .stored_compressed(&diff_id, Compression::Gzip)
        .expect("lookup")
        .expect("gzip blob");
    svc.prune().expect("prune");
    assert!(
        svc.store().exists(&gz).expect("exists"),
        "kept by the image"
    );
    let record = svc.meta().get_content(&gz).expect("record").expect("some");
    assert_eq!(
        record.labels.get(LABEL_UNCOMPRESSED),
        Some(&diff_id.to_string())
    );
    let id = svc.image("busybox").expect("busybox").id;
    svc.remove(&id.to_string(), true).expect("rmi");
    svc.prune().expect("prune");
    assert!(!svc.store().exists(&gz).expect("exists"), "reclaimed");
    assert!(!svc.store().exists(&diff_id).expect("exists"));
}

#[test]
fn abandoned_compressions_are_removed_by_prune_and_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = ImageService::open(tmp.path().join("root"), options()).expect("open");
    let d = Digest::sha256_of(b"x");
    let held = svc
        .store()
        .writer(&format!("compress-gzip-1-1-{}", d.hex()), None)
        .expect("held ingest");
    drop(
        svc.store()
            .writer(&format!("compress-gzip-1-2-{}", d.hex()), None)
            .expect("left ingest"),
    );
    drop(
        svc.store()
            .writer(&format!("fetch-{d}"), None)
            .expect("a pull's resumable ingest"),
    );
    svc.prune().expect("prune");
    let ingests = |root: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join("content/ingest"))
            .expect("ingest dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let root = tmp.path().join("root");
    assert_eq!(
        ingests(&root),
        vec![
            format!("compress-gzip-1-1-{}", d.hex()),
            format!("fetch-{d}")
        ],
        "the held one and the resumable pull stay"
    );
    drop(held);
    drop(svc);
    let _svc = ImageService::open(&root, options()).expect("reopen");
    assert_eq!(ingests(&root), vec![format!("fetch-{d}")]);
}
