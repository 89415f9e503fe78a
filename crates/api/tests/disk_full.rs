//! Issue #9 item 8: a full disk. A private muelled runs on a small tmpfs as its data root
//! (the exec root stays on the ordinary disk, as /run would), and the tests fill it: a
//! gzip bomb loaded as an image, and a container whose log floods a disk that a filler file
//! already took. After every failure the store must be consistent and everything partial
//! reclaimable; the supervisor's own log must stay small.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use muelle_image::{Algorithm, Digester};
use serde_json::{json, Value};
use support::{is_up, kill_shims_and_unmount, remove_all_containers, Daemon};

/// A tmpfs mounted for the test, unmounted on drop (lazily if something still uses it).
struct SmallFs {
    path: PathBuf,
}

impl SmallFs {
    /// None (the test skips, or fails under CI) when tmpfs cannot be mounted here.
    fn mount(path: &Path, size: &str) -> Option<SmallFs> {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0711"),
                "tmpfs",
            ])
            .arg(path)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallFs {
                path: path.to_path_buf(),
            }),
            other => panic!("cannot mount a tmpfs at {}: {other:?}", path.display()),
        }
    }

    /// Bytes in use, as df counts them.
    fn used(&self) -> u64 {
        let out = Command::new("df")
            .args(["-B1", "--output=used"])
            .arg(&self.path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// A daemon on a small data root. Dropped: containers removed, supervisors and mounts it
/// left cleaned up, the daemon stopped, then the filesystem unmounted (field order).
struct Env {
    d: Daemon,
    fs: SmallFs,
    _top: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env(size: &str) -> Option<Env> {
    let top = tempfile::Builder::new()
        .prefix("muelle-diskfull-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let data = top.path().join("data");
    let fs = SmallFs::mount(&data, size)?;
    let d = Daemon::start_on(Some(data), &[], &[]);
    Some(Env { d, fs, _top: top })
}

fn sha256(b: &[u8]) -> String {
    let mut d = Digester::new(Algorithm::Sha256);
    d.update(b);
    d.finish().to_string()
}

/// An OCI image archive whose one layer holds a file of `expanded` zero bytes: gzipped
/// (a few hundred KB that expand past the disk) or, with `gzip` false, plain (a blob that
/// does not fit the content store).
fn image_archive(expanded: u64, gzip: bool) -> Vec<u8> {
    let mut layer = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(expanded);
    layer
        .append_data(&mut h, "bomb", std::io::repeat(0).take(expanded))
        .unwrap();
    let layer = layer.into_inner().unwrap();
    let diff_id = sha256(&layer);
    let (gz, media_type) = if gzip {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&layer).unwrap();
        let media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
        (gz.finish().unwrap(), media_type)
    } else {
        (layer, "application/vnd.oci.image.layer.v1.tar")
    };
    let config = json!({"architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    .to_string()
    .into_bytes();
    let manifest = json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": media_type, "digest": sha256(&gz), "size": gz.len()}]})
    .to_string()
    .into_bytes();
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha256(&manifest), "size": manifest.len(),
        "annotations": {"io.containerd.image.name": "docker.io/muelletest/bomb:latest",
            "org.opencontainers.image.ref.name": "latest"}}]})
    .to_string()
    .into_bytes();
    let mut ar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        ar.append_data(&mut h, name, data).unwrap();
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json", &index);
    for blob in [&config, &manifest, &gz] {
        let hex = sha256(blob).trim_start_matches("sha256:").to_string();
        add(&format!("blobs/sha256/{hex}"), blob);
    }
    ar.into_inner().unwrap()
}

/// What failed work may not leave in a data root: temporary files, snapshot records of
/// extractions, snapshot directories no record names.
fn leftovers(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![data.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") || (name.starts_with('.') && name.contains(".tmp")) {
                out.push(p.display().to_string());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    // A failed blob write aborts its ingest.
    if let Ok(rd) = std::fs::read_dir(data.join("content/ingest")) {
        for e in rd.flatten() {
            out.push(format!("ingest {}", e.path().display()));
        }
    }
    for kind in ["overlayfs", "native"] {
        let root = data.join("snapshots").join(kind);
        // The snapshotter's index: one record file per snapshot.
        let Ok(records) = std::fs::read_dir(root.join("index")) else {
            continue;
        };
        let mut ids = Vec::new();
        for e in records.flatten() {
            if !e.file_name().to_string_lossy().ends_with(".json") {
                continue;
            }
            let rec: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            let key = rec["key"].as_str().unwrap();
            if key.starts_with("extract-") {
                out.push(format!("snapshot record {key}"));
            }
            ids.push(rec["id"].as_u64().unwrap().to_string());
        }
        for e in std::fs::read_dir(root.join("snapshots")).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !ids.contains(&name) {
                out.push(format!("unnamed snapshot directory {}", e.path().display()));
            }
        }
    }
    out
}

/// What a load answered, for an archive the daemon may refuse before it has read it all
/// (the answer comes while the upload is still being written): status and raw answer.
fn load_early_answer(d: &Daemon, archive: &[u8]) -> (u16, String) {
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    let head = format!(
        "POST /images/load?quiet=1 HTTP/1.1\r\nHost: muelle\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        archive.len()
    );
    // EPIPE or a reset once the daemon has answered and closed: its answer still waits.
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(archive));
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// What a load answered: the status and every message of the stream.
fn load(d: &Daemon, archive: &[u8]) -> (u16, String) {
    let r = d.http_with(
        "POST",
        "/images/load?quiet=1",
        &[("Content-Type", "application/x-tar")],
        archive,
    );
    (r.status, r.text())
}

/// Room the redb database may keep after the records it held are gone (it does not shrink
/// its file); far less than what the bomb wrote before the disk was full.
const DB_SLACK: u64 = 1 << 20;

#[test]
fn gzip_bomb_load_fails_cleanly_and_leaves_nothing() {
    let Some(mut e) = env("16m") else { return };
    let data = e.d.data_root.clone();
    // The daemon's files exist now; this is what an empty store costs.
    let r = e.d.http("GET", "/images/json", b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let baseline = e.fs.used();

    let bomb = image_archive(48 << 20, true);
    assert!(bomb.len() < 1 << 20, "the bomb is {} bytes", bomb.len());
    let (status, text) = load(&e.d, &bomb);
    println!("load of the bomb: {status} {text}");
    assert!(
        status >= 400 || text.contains("error"),
        "the load of a layer larger than the disk succeeded: {status} {text}"
    );
    assert!(
        text.to_lowercase().contains("no space left"),
        "the error does not say why: {status} {text}"
    );
    // At once, not only after a prune: the failed unpack took its snapshot with it.
    assert_eq!(
        leftovers(&data),
        Vec::<String>::new(),
        "after the failed load"
    );
    let r = e.d.http("GET", "/images/json", b"");
    assert_eq!(r.json(), json!([]), "a half-loaded image is listed");

    let filters = "%7B%22dangling%22%3A%5B%22false%22%5D%7D";
    let r =
        e.d.http("POST", &format!("/images/prune?filters={filters}"), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(leftovers(&data), Vec::<String>::new(), "after the prune");
    let used = e.fs.used();
    println!("in use: {baseline} bytes empty, {used} after the failed load and the prune");
    assert!(
        used <= baseline + DB_SLACK,
        "prune left {} bytes more than the empty store",
        used - baseline
    );

    e.d.restart();
    assert_eq!(leftovers(&data), Vec::<String>::new(), "after a restart");
    assert!(e.fs.used() <= baseline + DB_SLACK);
    // The store still works: the same load fails the same way, nothing is stuck.
    let (_, text) = load(&e.d, &bomb);
    assert!(text.to_lowercase().contains("no space left"), "{text}");
    assert_eq!(
        leftovers(&data),
        Vec::<String>::new(),
        "after a second load"
    );

    // A load that fills the disk with the blob itself: the ingest goes with the error.
    let (status, text) = load_early_answer(&e.d, &image_archive(24 << 20, false));
    println!("load of a blob larger than the disk: {status} {text}");
    assert!(text.to_lowercase().contains("no space left"), "{text}");
    assert_eq!(
        leftovers(&data),
        Vec::<String>::new(),
        "after a blob too big"
    );
    let r =
        e.d.http("POST", &format!("/images/prune?filters={filters}"), b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(e.fs.used() <= baseline + DB_SLACK, "{}", e.fs.used());
}

/// Fills `path` until the disk refuses, then gives back `keep` bytes; returns the file.
fn fill(path: &Path, keep: u64) -> PathBuf {
    let filler = path.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0x5au8; 1 << 20];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n as u64,
        }
    }
    f.set_len(len.saturating_sub(keep)).unwrap();
    filler
}

fn inspect(d: &Daemon, id: &str) -> Value {
    let r = d.http("GET", &format!("/containers/{id}/json"), b"");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), d.log());
    r.json()
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SHIM_LOG_BOUND: u64 = 64 << 10;

#[test]
fn full_disk_while_a_container_logs() {
    let tar = support::busybox_tar();
    support::shim_binary();
    let Some(mut e) = env("32m") else { return };
    let data = e.d.data_root.clone();
    let (status, text) = load(&e.d, &std::fs::read(tar).unwrap());
    assert!(status == 200 && !text.contains("error"), "{status} {text}");
    let r = e.d.http(
        "POST",
        "/containers/create?name=flood",
        json!({"Image": "busybox",
            "Cmd": ["sh", "-c", "while :; do echo 0123456789abcdef0123456789abcdef; done"],
            "HostConfig": {"NetworkMode": "none"}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();

    // The container starts with a little room, which its log takes within moments.
    let filler = fill(&data, 2 << 20);
    let r = e.d.http("POST", &format!("/containers/{id}/start"), b"");
    assert_eq!(r.status, 204, "{}\n{}", r.text(), e.d.log());
    let shim_log = e.d.exec_root.join("containers").join(&id).join("shim.log");
    let size = || std::fs::metadata(&shim_log).map_or(0, |m| m.len());
    let text = || std::fs::read_to_string(&shim_log).unwrap_or_default();
    wait_for("log writes to fail", Duration::from_secs(30), || {
        text().contains("write log")
    });
    std::thread::sleep(Duration::from_secs(5));
    println!(
        "shim.log after 5 s of failing writes ({} bytes):\n{}",
        size(),
        text()
    );
    assert!(
        size() < SHIM_LOG_BOUND,
        "shim.log grew to {} bytes in 5 s of failing log writes; it starts:\n{}",
        size(),
        text().chars().take(2000).collect::<String>()
    );

    // Killed on the full disk: its exit cannot be written to the data root.
    let r = e.d.http("POST", &format!("/containers/{id}/kill"), b"");
    assert_eq!(r.status, 204, "{}", r.text());
    wait_for("the container to stop", Duration::from_secs(20), || {
        !inspect(&e.d, &id)["State"]["Running"].as_bool().unwrap()
    });
    assert_eq!(inspect(&e.d, &id)["State"]["ExitCode"], 137);
    e.d.restart();
    wait_for(
        "the restored container to settle",
        Duration::from_secs(20),
        || !inspect(&e.d, &id)["State"]["Running"].as_bool().unwrap(),
    );
    let st = inspect(&e.d, &id)["State"].clone();
    assert_eq!(st["ExitCode"], 137, "the restart lost the exit code: {st}");

    // rm -f on the full disk: it works, or it fails in a way a retry can mend.
    let r =
        e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
    println!("rm -f on the full disk: {} {}", r.status, r.text());
    if r.status != 204 {
        let st = inspect(&e.d, &id)["State"].clone();
        assert_ne!(st["Status"], "removing", "stuck in removal: {st}");
        let again =
            e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
        assert!(
            !again.text().contains("already in progress"),
            "{}",
            again.text()
        );
        std::fs::remove_file(&filler).unwrap();
        let r =
            e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
        assert_eq!(r.status, 204, "{}\n{}", r.text(), e.d.log());
    }
    let r = e.d.http("GET", &format!("/containers/{id}/json"), b"");
    assert_eq!(r.status, 404, "{}", r.text());
    let _ = std::fs::remove_file(&filler);
    assert_eq!(leftovers(&data), Vec::<String>::new());
    assert!(
        size() < SHIM_LOG_BOUND || !shim_log.exists(),
        "shim.log: {}",
        size()
    );
}

/// `rm -f` that fails after part of the removal (here the data directory cannot go: a
/// mount sits on it, as a full disk or a busy file would stop it elsewhere) leaves the
/// container dead, not "Removal In Progress" for good: a retry says why it fails, and
/// succeeds once the cause is gone; the recorded exit code survives a daemon restart.
#[test]
fn rm_failing_midway_can_be_retried() {
    let tar = support::busybox_tar();
    support::shim_binary();
    let Some(mut e) = env("64m") else { return };
    let (status, text) = load(&e.d, &std::fs::read(tar).unwrap());
    assert!(status == 200 && !text.contains("error"), "{status} {text}");
    let r = e.d.http(
        "POST",
        "/containers/create",
        json!({"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"NetworkMode": "none"}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let r = e.d.http("POST", &format!("/containers/{id}/start"), b"");
    assert_eq!(r.status, 204, "{}", r.text());

    let pin = e.d.data_root.join("containers").join(&id).join("pin");
    let _pin = SmallFs::mount(&pin, "1m").unwrap();
    let r =
        e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
    assert!(
        r.status >= 500,
        "rm -f with a busy data dir: {} {}",
        r.status,
        r.text()
    );
    let st = inspect(&e.d, &id)["State"].clone();
    assert_eq!(st["Status"], "dead", "{st}");
    assert_eq!(st["ExitCode"], 137, "{st}");
    let again =
        e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
    assert!(
        again.status >= 500 && !again.text().contains("already in progress"),
        "{} {}",
        again.status,
        again.text()
    );
    let r = e.d.http("POST", &format!("/containers/{id}/start"), b"");
    assert_eq!(r.status, 409, "a dead container started: {}", r.text());

    e.d.restart();
    let st = inspect(&e.d, &id)["State"].clone();
    assert_eq!(
        (&st["Status"], &st["ExitCode"]),
        (&json!("dead"), &json!(137)),
        "{st}"
    );
    drop(_pin);
    let r =
        e.d.http("DELETE", &format!("/containers/{id}?force=1"), b"");
    assert_eq!(r.status, 204, "{}\n{}", r.text(), e.d.log());
    assert_eq!(leftovers(&e.d.data_root), Vec::<String>::new());
}
