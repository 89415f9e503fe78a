//! The registry client against real peers: Debian's `docker-registry` (distribution 2.x) with
//! `skopeo` pushing and inspecting images, plus a tiny HTTP server on 127.0.0.1 for what a
//! well-behaved registry never does (bad bytes, 500s, 429s, token auth, pagination).
//!
//! Needs /usr/bin/docker-registry and /usr/bin/skopeo (scripts/peers.sh installs both); the
//! registry tests print why and return when they are missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use muelle_image::distribution::{
    ingest_ref, BlobOutcome, CredentialSource, Credentials, Progress, RegistryClient,
    RegistryError, RegistryOptions, RetryPolicy, MANIFEST_MEDIA_TYPES,
};
use muelle_image::{ContentStore, Digest};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{skopeo, start_registry};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn options() -> RegistryOptions {
    let base = common::options();
    RegistryOptions {
        retry: RetryPolicy {
            max_attempts: 4,
            ..base.retry
        },
        ..base
    }
}

/// An OCI image layout with one uncompressed layer (busybox if the host has it, plus a
/// 300 KB file so downloads have something to resume).
struct Image {
    dir: tempfile::TempDir,
    layer: Vec<u8>,
    config: Vec<u8>,
    manifest: Vec<u8>,
}

fn build_image() -> Image {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, path, data).expect("tar");
    };
    if let Ok(bb) = std::fs::read("/bin/busybox") {
        add("bin/busybox", &bb, 0o755);
    }
    let filler: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    add("data/filler", &filler, 0o644);
    add("etc/hostname", b"muelle-test\n", 0o644);
    let layer = tar.into_inner().expect("tar");
    let layer_d = Digest::sha256_of(&layer);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_d.to_string()]}
    }))
    .expect("json");
    let config_d = Digest::sha256_of(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_d.to_string(), "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_d.to_string(), "size": layer.len()}]
    }))
    .expect("json");
    let manifest_d = Digest::sha256_of(&manifest);
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    for (d, b) in [
        (&layer_d, &layer),
        (&config_d, &config),
        (&manifest_d, &manifest),
    ] {
        std::fs::write(blobs.join(d.hex()), b).expect("blob");
    }
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("layout");
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST,
        "digest": manifest_d.to_string(), "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index");
    Image {
        dir,
        layer,
        config,
        manifest,
    }
}

/// Records every progress call.
#[derive(Default)]
struct Recorder {
    updates: Mutex<Vec<(Digest, u64, u64)>>,
    outcomes: Mutex<Vec<(Digest, BlobOutcome)>>,
}

impl Progress for Recorder {
    fn update(&self, digest: &Digest, done: u64, total: u64) {
        self.updates
            .lock()
            .expect("lock")
            .push((digest.clone(), done, total));
    }
    fn finished(&self, digest: &Digest, outcome: BlobOutcome) {
        self.outcomes
            .lock()
            .expect("lock")
            .push((digest.clone(), outcome));
    }
}

fn descriptors(manifest: &[u8]) -> Vec<(Digest, u64)> {
    let v: Value = serde_json::from_slice(manifest).expect("manifest json");
    let mut out = vec![(
        Digest::parse(v["config"]["digest"].as_str().expect("digest")).expect("digest"),
        v["config"]["size"].as_u64().expect("size"),
    )];
    for l in v["layers"].as_array().expect("layers") {
        out.push((
            Digest::parse(l["digest"].as_str().expect("digest")).expect("digest"),
            l["size"].as_u64().expect("size"),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_push_mount_and_errors_against_docker_registry_needs_registry_skopeo() {
    let reg = start_registry();
    let host = reg.host.as_str();
    let img = build_image();
    let src = format!("oci:{}:latest", img.dir.path().display());
    let dst = format!("docker://{host}/test/busybox:latest");
    skopeo(&[
        "copy",
        "--insecure-policy",
        "--dest-tls-verify=false",
        &src,
        &dst,
    ]);

    let client = RegistryClient::new(options()).expect("client");
    client.ping(host).await.expect("ping");

    // Manifest by tag, then by the digest it reported.
    let m = client
        .get_manifest(host, "test/busybox", "latest", MANIFEST_MEDIA_TYPES)
        .await
        .expect("manifest by tag");
    assert_eq!(m.content_type, OCI_MANIFEST);
    assert_eq!(m.digest, Digest::sha256_of(&m.bytes));
    let inspected: Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &dst])).expect("json");
    assert_eq!(inspected["Digest"], m.digest.to_string());
    let by_digest = client
        .get_manifest(
            host,
            "test/busybox",
            &m.digest.to_string(),
            MANIFEST_MEDIA_TYPES,
        )
        .await
        .expect("manifest by digest");
    assert_eq!(by_digest.bytes, m.bytes);
    let head = client
        .head_manifest(host, "test/busybox", "latest", MANIFEST_MEDIA_TYPES)
        .await
        .expect("head")
        .expect("present");
    assert_eq!(head.digest.as_ref(), Some(&m.digest));
    assert_eq!(head.size, Some(m.bytes.len() as u64));

    // Blobs into a content store, verified by its commit.
    let storedir = tempfile::tempdir().expect("tempdir");
    let store = ContentStore::open(storedir.path()).expect("store");
    let progress = Recorder::default();
    let blobs = descriptors(&m.bytes);
    for (d, size) in &blobs {
        assert_eq!(
            client
                .blob_exists(host, "test/busybox", d)
                .await
                .expect("head blob"),
            Some(*size)
        );
        client
            .fetch_blob(host, "test/busybox", d, *size, &store, &progress)
            .await
            .expect("fetch blob");
        assert!(store.exists(d).expect("exists"));
    }
    // skopeo compressed the layer on the way in; what we got is what the manifest names.
    let (layer_d, layer_size) = blobs[1].clone();
    let mut pulled = Vec::new();
    std::io::Read::read_to_end(&mut store.get(&layer_d).expect("get"), &mut pulled).expect("read");
    assert_eq!(Digest::sha256_of(&pulled), layer_d);
    assert_eq!(pulled.len() as u64, layer_size);
    assert!(progress
        .outcomes
        .lock()
        .expect("lock")
        .iter()
        .all(|(_, o)| *o == BlobOutcome::Fetched));
    // Already in the store: nothing downloaded.
    client
        .fetch_blob(
            host,
            "test/busybox",
            &layer_d,
            layer_size,
            &store,
            &progress,
        )
        .await
        .expect("refetch");
    assert_eq!(
        progress.outcomes.lock().expect("lock").last().map(|o| o.1),
        Some(BlobOutcome::AlreadyExists)
    );

    // Resume: half the layer already in the ingest.
    let store2dir = tempfile::tempdir().expect("tempdir");
    let store2 = ContentStore::open(store2dir.path()).expect("store");
    let half = pulled.len() / 2;
    {
        let mut w = store2
            .writer(&ingest_ref(&layer_d), Some((layer_d.clone(), layer_size)))
            .expect("writer");
        w.write_all(&pulled[..half]).expect("write");
    }
    let resumed = Recorder::default();
    client
        .fetch_blob(
            host,
            "test/busybox",
            &layer_d,
            layer_size,
            &store2,
            &resumed,
        )
        .await
        .expect("resumed fetch");
    let first = resumed.updates.lock().expect("lock")[0].clone();
    assert_eq!(
        first.1, half as u64,
        "progress starts at the resumed offset"
    );
    assert!(store2.exists(&layer_d).expect("exists"));

    // Push our own image to a new repository: config monolithic, layer in chunks.
    let chunky = RegistryClient::new(RegistryOptions {
        chunk_threshold: 1000,
        chunk_size: 64 << 10,
        ..options()
    })
    .expect("client");
    let config_d = Digest::sha256_of(&img.config);
    let our_d = Digest::sha256_of(&img.layer);
    let our_size = img.layer.len() as u64;
    let pushed = Recorder::default();
    let out = chunky
        .push_blob(
            host,
            "pushed/app",
            &config_d,
            img.config.len() as u64,
            &img.config[..],
            None,
            &pushed,
        )
        .await
        .expect("push config");
    assert_eq!(out, BlobOutcome::Pushed);
    let out = chunky
        .push_blob(
            host,
            "pushed/app",
            &our_d,
            our_size,
            &img.layer[..],
            None,
            &pushed,
        )
        .await
        .expect("push layer in chunks");
    assert_eq!(out, BlobOutcome::Pushed);
    let layer_updates = pushed
        .updates
        .lock()
        .expect("lock")
        .iter()
        .filter(|u| u.0 == our_d)
        .count();
    assert!(
        layer_updates >= 4,
        "chunked push reports each chunk ({layer_updates})"
    );
    // Monolithic push of the layer elsewhere.
    let out = client
        .push_blob(
            host,
            "mono/app",
            &our_d,
            our_size,
            &img.layer[..],
            None,
            &pushed,
        )
        .await
        .expect("push layer monolithic");
    assert_eq!(out, BlobOutcome::Pushed);
    assert_eq!(
        client
            .blob_exists(host, "mono/app", &our_d)
            .await
            .expect("head"),
        Some(our_size)
    );
    let out = client
        .push_blob(
            host,
            "pushed/app",
            &our_d,
            our_size,
            &img.layer[..],
            None,
            &pushed,
        )
        .await
        .expect("push again");
    assert_eq!(out, BlobOutcome::AlreadyExists);
    let md = client
        .put_manifest(host, "pushed/app", "v1", &img.manifest, OCI_MANIFEST)
        .await
        .expect("put manifest");
    assert_eq!(md, Digest::sha256_of(&img.manifest));
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{host}/pushed/app:v1"),
    ]);
    assert!(
        raw.as_bytes() == &img.manifest[..],
        "skopeo reads back our manifest: {raw}"
    );
    let inspected: Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{host}/pushed/app:v1"),
    ]))
    .expect("json");
    assert_eq!(inspected["Digest"], md.to_string());
    assert_eq!(inspected["Os"], "linux");
    let got = client
        .get_manifest(host, "pushed/app", "v1", MANIFEST_MEDIA_TYPES)
        .await
        .expect("read back");
    assert!(got.bytes == img.manifest);

    // Cross-repository mount: no bytes sent.
    let out = client
        .push_blob(
            host,
            "mounted/app",
            &layer_d,
            layer_size,
            tokio::io::empty(),
            Some("test/busybox"),
            &pushed,
        )
        .await
        .expect("mount");
    assert_eq!(out, BlobOutcome::Mounted);
    assert_eq!(
        client
            .blob_exists(host, "mounted/app", &layer_d)
            .await
            .expect("head"),
        Some(layer_size)
    );

    // Tags.
    for t in ["v2", "v3"] {
        client
            .put_manifest(host, "pushed/app", t, &img.manifest, OCI_MANIFEST)
            .await
            .expect("tag");
    }
    client
        .put_manifest(
            host,
            "pushed/app",
            &md.to_string(),
            &img.manifest,
            OCI_MANIFEST,
        )
        .await
        .expect("put by digest");
    let mut tags = client.list_tags(host, "pushed/app").await.expect("tags");
    tags.sort();
    assert_eq!(tags, ["v1", "v2", "v3"]);

    // Errors name what failed.
    let err = client
        .get_manifest(host, "no/such-repo", "latest", MANIFEST_MEDIA_TYPES)
        .await
        .expect_err("unknown repo");
    assert!(
        matches!(
            err,
            RegistryError::NameUnknown { .. } | RegistryError::ManifestUnknown { .. }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("no/such-repo") && msg.contains(host), "{msg}");
    let err = client
        .list_tags(host, "no/such-repo")
        .await
        .expect_err("unknown repo tags");
    assert!(matches!(err, RegistryError::NameUnknown { .. }), "{err:?}");
    let missing = Digest::sha256_of(b"not a manifest");
    let err = client
        .get_manifest(
            host,
            "test/busybox",
            &missing.to_string(),
            MANIFEST_MEDIA_TYPES,
        )
        .await
        .expect_err("unknown digest");
    assert!(
        matches!(err, RegistryError::ManifestUnknown { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&missing.to_string()), "{err}");
    let err = client
        .get_manifest(host, "test/busybox", "sha256:1234", MANIFEST_MEDIA_TYPES)
        .await
        .expect_err("malformed digest");
    assert!(
        matches!(err, RegistryError::InvalidReference { .. }),
        "{err:?}"
    );
    let err = client
        .put_manifest(
            host,
            "pushed/app",
            &missing.to_string(),
            &img.manifest,
            OCI_MANIFEST,
        )
        .await
        .expect_err("manifest under the wrong digest");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    let err = client
        .fetch_blob(host, "test/busybox", &missing, 10, &store, &progress)
        .await
        .expect_err("unknown blob");
    assert!(matches!(err, RegistryError::BlobUnknown { .. }), "{err:?}");
    let err = client
        .push_blob(
            host,
            "pushed/other",
            &missing,
            5,
            &b"wrong"[..],
            None,
            &pushed,
        )
        .await
        .expect_err("bytes do not match the digest");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(
        client
            .blob_exists(host, "pushed/other", &missing)
            .await
            .expect("head"),
        None
    );

    // Plain HTTP is refused unless allowed: a client that neither lists the registry as
    // insecure nor lets loopback registries be plain (the daemon's `insecure` is Docker's
    // 127.0.0.0/8 default) cannot pull from this plain-HTTP docker-registry, nor push to it;
    // nothing of the push reaches it.
    let strict = RegistryClient::new(RegistryOptions {
        insecure: false,
        ..options()
    })
    .expect("client");
    let https_only = |what: &str, err: RegistryError| {
        assert!(
            matches!(
                err,
                RegistryError::Tls { .. } | RegistryError::Connect { .. }
            ),
            "{what} over plain HTTP: {err:?}"
        );
    };
    https_only("ping", strict.ping(host).await.expect_err("https only"));
    https_only(
        "pull (manifest)",
        strict
            .get_manifest(host, "test/busybox", "latest", MANIFEST_MEDIA_TYPES)
            .await
            .expect_err("https only"),
    );
    let (d, _) = &blobs[0];
    https_only(
        "pull (blob)",
        strict
            .blob_exists(host, "test/busybox", d)
            .await
            .expect_err("https only"),
    );
    let never = Recorder::default();
    https_only(
        "push (blob)",
        strict
            .push_blob(
                host,
                "strict/never",
                &config_d,
                img.config.len() as u64,
                &img.config[..],
                None,
                &never,
            )
            .await
            .expect_err("https only"),
    );
    https_only(
        "push (manifest)",
        strict
            .put_manifest(host, "strict/never", "v1", &img.manifest, OCI_MANIFEST)
            .await
            .expect_err("https only"),
    );
    assert_eq!(
        client
            .blob_exists(host, "strict/never", &config_d)
            .await
            .expect("head"),
        None,
        "the refused push reached the registry"
    );
    assert!(
        client
            .head_manifest(host, "strict/never", "v1", MANIFEST_MEDIA_TYPES)
            .await
            .map_or(true, |m| m.is_none()),
        "the refused push reached the registry"
    );
    // Listed by name, the same registry is reachable without the loopback allowance.
    let listed = RegistryClient::new(RegistryOptions {
        insecure: false,
        insecure_registries: vec![host.to_string()],
        ..options()
    })
    .expect("client");
    listed.ping(host).await.expect("listed as insecure");
}

// ---------------------------------------------------------------------------------------
// A tiny scripted HTTP/1.1 server for misbehaviour and auth.

struct Req {
    method: String,
    path: String,
    headers: HashMap<String, String>,
}

type Resp = (u16, Vec<(String, String)>, Vec<u8>);
type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

async fn serve(handler: Handler) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = sock.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    // A TLS ClientHello (the https probe) is not for us: hang up.
                    if !buf[0].is_ascii_uppercase() {
                        return;
                    }
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                    if buf.len() > 65536 {
                        return;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap_or_default().split(' ');
                let method = first.next().unwrap_or_default().to_string();
                let path = first.next().unwrap_or_default().to_string();
                let headers: HashMap<String, String> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < len {
                    let Ok(n) = sock.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&tmp[..n]);
                }
                let (status, hdrs, body) = handler(&Req {
                    method,
                    path,
                    headers,
                });
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in hdrs {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

fn hits(counts: &Mutex<HashMap<String, u32>>, key: &str) -> u32 {
    let mut c = counts.lock().expect("lock");
    let n = c.entry(key.to_string()).or_default();
    *n += 1;
    *n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_then_refuses_bytes_that_do_not_match() {
    let good = b"good bytes".to_vec();
    let digest = Digest::sha256_of(&good);
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let c = counts.clone();
    let blob_path = format!("/v2/bad/blobs/{digest}");
    let host = serve(Arc::new(move |r: &Req| {
        if r.path == blob_path {
            if hits(&c, "blob") <= 2 {
                return (
                    500,
                    vec![],
                    br#"{"errors":[{"code":"UNKNOWN","message":"flaky"}]}"#.to_vec(),
                );
            }
            return (200, vec![], b"evil bytes".to_vec());
        }
        if r.path == "/v2/limited/manifests/x" {
            if hits(&c, "limited") == 1 {
                return (429, vec![("Retry-After".into(), "1".into())], vec![]);
            }
            return (
                200,
                vec![("Content-Type".into(), OCI_MANIFEST.into())],
                b"{}".to_vec(),
            );
        }
        if r.path == "/v2/down/manifests/x" {
            hits(&c, "down");
            return (503, vec![], b"<html>maintenance</html>".to_vec());
        }
        (200, vec![], b"{}".to_vec())
    }))
    .await;
    let client = RegistryClient::new(options()).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ContentStore::open(dir.path()).expect("store");
    let err = client
        .fetch_blob(
            &host,
            "bad",
            &digest,
            good.len() as u64,
            &store,
            &Recorder::default(),
        )
        .await
        .expect_err("mismatch");
    match &err {
        RegistryError::DigestMismatch {
            expected,
            actual,
            repository,
            ..
        } => {
            assert_eq!(expected, &digest);
            assert_eq!(actual, &Digest::sha256_of(b"evil bytes"));
            assert_eq!(repository, "bad");
        }
        e => panic!("want DigestMismatch, got {e:?}"),
    }
    assert!(err.to_string().contains(&host), "{err}");
    assert_eq!(
        counts.lock().expect("lock")["blob"],
        3,
        "two 500s retried, then the bad body"
    );
    assert!(store.list().expect("list").is_empty(), "nothing committed");
    assert!(!store
        .exists(&Digest::sha256_of(b"evil bytes"))
        .expect("exists"));
    assert_eq!(
        store.ingest_offset(&ingest_ref(&digest)).expect("offset"),
        0,
        "ingest discarded"
    );

    let t = Instant::now();
    let m = client
        .get_manifest(&host, "limited", "x", MANIFEST_MEDIA_TYPES)
        .await
        .expect("after 429");
    assert_eq!(m.bytes, b"{}");
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        t.elapsed()
    );

    let err = client
        .get_manifest(&host, "down", "x", MANIFEST_MEDIA_TYPES)
        .await
        .expect_err("5xx");
    assert!(
        matches!(err, RegistryError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(counts.lock().expect("lock")["down"], 4, "bounded attempts");
    assert!(err.to_string().contains("down"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow_pagination_and_ranges() {
    let manifest = br#"{"schemaVersion":2}"#.to_vec();
    let mdigest = Digest::sha256_of(&manifest);
    let blob: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
    let bdigest = Digest::sha256_of(&blob);
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let port_cell = Arc::new(Mutex::new(String::new()));
    let (c, rg, pc) = (counts.clone(), ranges.clone(), port_cell.clone());
    let (m2, b2) = (manifest.clone(), blob.clone());
    let bpath = format!("/v2/ranged/blobs/{bdigest}");
    let host = serve(Arc::new(move |r: &Req| {
        let me = pc.lock().expect("lock").clone();
        if r.path.starts_with("/token?") {
            hits(&c, "token");
            let basic = format!("Basic {}", "dXNlcjpwYXNz"); // user:pass
            if r.headers.get("authorization") != Some(&basic) {
                return (401, vec![], br#"{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}"#.to_vec());
            }
            assert!(r.path.contains("service=tiny"), "{}", r.path);
            assert!(r.path.contains("scope=repository%3A"), "{}", r.path);
            return (200, vec![], br#"{"token":"tok123","expires_in":300}"#.to_vec());
        }
        if r.path.starts_with("/v2/secure/") {
            if r.headers.get("authorization").map(String::as_str) != Some("Bearer tok123") {
                let ch = format!(r#"Bearer realm="http://{me}/token",service="tiny",scope="repository:secure:pull""#);
                return (401, vec![("WWW-Authenticate".into(), ch)], br#"{"errors":[{"code":"UNAUTHORIZED","message":"token please"}]}"#.to_vec());
            }
            return (
                200,
                vec![
                    ("Content-Type".into(), OCI_MANIFEST.into()),
                    ("Docker-Content-Digest".into(), Digest::sha256_of(&m2).to_string()),
                ],
                m2.clone(),
            );
        }
        if r.path.starts_with("/v2/paged/tags/list") {
            if r.path.contains("last=b") {
                return (200, vec![], br#"{"name":"paged","tags":["c"]}"#.to_vec());
            }
            return (
                200,
                vec![("Link".into(), r#"</v2/paged/tags/list?n=2&last=b>; rel="next""#.into())],
                br#"{"name":"paged","tags":["a","b"]}"#.to_vec(),
            );
        }
        if r.path == bpath {
            let range = r.headers.get("range").cloned();
            rg.lock().expect("lock").push(range.clone());
            if let Some(start) = range.and_then(|v| v.strip_prefix("bytes=").and_then(|s| s.strip_suffix('-')).and_then(|s| s.parse::<usize>().ok())) {
                return (
                    206,
                    vec![("Content-Range".into(), format!("bytes {start}-{}/{}", b2.len() - 1, b2.len()))],
                    b2[start..].to_vec(),
                );
            }
            return (200, vec![], b2.clone());
        }
        if r.path == "/v2/" && r.method == "GET" {
            return (200, vec![], b"{}".to_vec());
        }
        (404, vec![], br#"{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}"#.to_vec())
    }))
    .await;
    *port_cell.lock().expect("lock") = host.clone();

    // Without credentials the token endpoint refuses: Unauthorized naming the repository.
    let anon = RegistryClient::new(options()).expect("client");
    let err = anon
        .get_manifest(&host, "secure", "v1", MANIFEST_MEDIA_TYPES)
        .await
        .expect_err("anonymous");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().contains("secure") && err.to_string().contains("bad creds"),
        "{err}"
    );

    let mut creds = HashMap::new();
    creds.insert(host.clone(), Credentials::basic("user", "pass"));
    let client = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::Static(creds),
        ..options()
    })
    .expect("client");
    let tokens_before = counts.lock().expect("lock")["token"];
    for _ in 0..3 {
        let m = client
            .get_manifest(&host, "secure", "v1", MANIFEST_MEDIA_TYPES)
            .await
            .expect("manifest with token");
        assert_eq!(m.digest, mdigest);
        assert_eq!(m.bytes, manifest);
    }
    assert_eq!(
        counts.lock().expect("lock")["token"] - tokens_before,
        1,
        "token cached per scope"
    );

    let tags = client.list_tags(&host, "paged").await.expect("tags");
    assert_eq!(tags, ["a", "b", "c"]);

    // Range resume against a server that records the Range header.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ContentStore::open(dir.path()).expect("store");
    {
        let mut w = store
            .writer(
                &ingest_ref(&bdigest),
                Some((bdigest.clone(), blob.len() as u64)),
            )
            .expect("writer");
        w.write_all(&blob[..1234]).expect("write");
    }
    client
        .fetch_blob(
            &host,
            "ranged",
            &bdigest,
            blob.len() as u64,
            &store,
            &Recorder::default(),
        )
        .await
        .expect("ranged fetch");
    assert_eq!(
        ranges.lock().expect("lock").as_slice(),
        [Some("bytes=1234-".to_string())]
    );
    assert!(store.exists(&bdigest).expect("exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_writes_docker_config_and_logout_removes_it() {
    let host = serve(Arc::new(|r: &Req| {
        let ok = r.headers.get("authorization").map(String::as_str) == Some("Basic dXNlcjpwYXNz");
        if r.path == "/v2/" && ok {
            return (200, vec![], b"{}".to_vec());
        }
        (
            401,
            vec![("WWW-Authenticate".into(), r#"Basic realm="tiny""#.into())],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}"#.to_vec(),
        )
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg: PathBuf = dir.path().join("docker/config.json");
    let client = RegistryClient::new(RegistryOptions {
        credentials: CredentialSource::DockerConfig(cfg.clone()),
        ..options()
    })
    .expect("client");
    let err = client
        .login(&host, "user", "wrong")
        .await
        .expect_err("bad password");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(!cfg.exists(), "nothing written on failure");
    let err = client.ping(&host).await.expect_err("not logged in");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    client.login(&host, "user", "pass").await.expect("login");
    let meta = std::fs::metadata(&cfg).expect("config written");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&cfg).expect("read")).expect("json");
    assert_eq!(v["auths"][&host]["auth"], "dXNlcjpwYXNz");
    client
        .ping(&host)
        .await
        .expect("ping with stored Basic credentials");
    assert!(client.logout(&host).await.expect("logout"));
    assert!(!client.logout(&host).await.expect("logout again"));
}
