//! muelled driven by the stock docker CLI (20.10, API 1.41) and by raw HTTP requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{busybox_layer, busybox_tar, common, now_secs, Daemon, DOCKER};

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn version_info_ping_and_bad_requests_needs_docker() {
    require!(DOCKER);
    let d = Daemon::start();

    let v: Value =
        serde_json::from_str(&d.docker_ok(&["version", "--format", "{{json .Server}}"])).unwrap();
    assert_eq!(v["Version"], "0.1.0");
    assert_eq!(v["ApiVersion"], "1.47");
    assert_eq!(v["MinAPIVersion"], "1.24");
    assert_eq!(v["Os"], "linux");

    let info: Value =
        serde_json::from_str(&d.docker_ok(&["info", "--format", "{{json .}}"])).unwrap();
    assert_eq!(info["Images"], 0);
    assert!(
        ["overlayfs", "native"].contains(&info["Driver"].as_str().unwrap()),
        "{}",
        info["Driver"]
    );
    assert_eq!(info["DockerRootDir"], d.data_root.display().to_string());
    assert!(info["NCPU"].as_u64().unwrap() >= 1);
    assert!(info["MemTotal"].as_u64().unwrap() > 0);
    assert_eq!(info["OSType"], "linux");
    assert!(info["Runtimes"]["muelle"].is_object());
    assert_eq!(
        info["KernelVersion"],
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap()
            .trim()
    );
    assert!(["1", "2"].contains(&info["CgroupVersion"].as_str().unwrap()));

    // _ping, GET and HEAD, with Docker's headers.
    for method in ["GET", "HEAD"] {
        let r = d.http(method, "/_ping", b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["api-version"], "1.47");
        assert_eq!(r.headers["ostype"], "linux");
        assert_eq!(r.headers["docker-experimental"], "false");
        assert!(r.headers.contains_key("builder-version"));
        assert_eq!(
            r.headers["cache-control"],
            "no-cache, no-store, must-revalidate"
        );
        assert_eq!(r.headers["pragma"], "no-cache");
        if method == "GET" {
            assert_eq!(r.text(), "OK");
        } else {
            assert!(r.body.is_empty());
        }
    }
    assert_eq!(d.http("GET", "/v1.41/_ping", b"").text(), "OK");

    // Versions outside 1.24..=1.47: Docker's 400 messages.
    let r = d.http("GET", "/v1.12/version", b"");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    let r = d.http("GET", "/v1.99/info", b"");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "client version 1.99 is too new. Maximum supported API version is 1.47"
    );
    assert_eq!(d.http("GET", "/v1.24/version", b"").status, 200);

    // Unknown image: 404 with Docker's message, through the API and the CLI.
    let r = d.http("GET", "/v1.41/images/busybox:nope/json", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "No such image: busybox:nope");
    assert_eq!(r.headers["content-type"], "application/json");
    let err = d.docker_err(&["image", "inspect", "busybox:nope"]);
    assert!(err.contains("No such image: busybox:nope"), "{err}");
    let err = d.docker_err(&["rmi", "busybox:nope"]);
    assert!(err.contains("No such image: busybox:nope"), "{err}");

    // Invalid JSON bodies and parameters: 400 naming what is wrong.
    let r = d.http("POST", "/auth", b"{not json");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("invalid JSON"), "{}", r.message());
    let r = d.http("POST", "/auth", br#"{"username": 7}"#);
    assert_eq!(r.status, 400);
    assert!(r.message().contains("username"), "{}", r.message());
    let r = d.http("GET", "/images/json?filters=%7Bbad", b"");
    assert_eq!(r.status, 400);
    let r = d.http(
        "GET",
        "/images/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D",
        b"",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "Invalid filter 'bogus'");
    let r = d.http("DELETE", "/images/busybox?force=maybe", b"");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("force"), "{}", r.message());
    let r = d.http("GET", "/events?since=-5", b"");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("since"), "{}", r.message());
    let r = d.http("GET", "/events?until=soon", b"");
    assert_eq!(r.status, 400);
    let r = d.http("POST", "/images/create?fromImage=Bad%20Name", b"");
    assert_eq!(r.status, 400);
    assert!(
        r.message().contains("invalid reference format"),
        "{}",
        r.message()
    );
    let r = d.http("POST", "/images/create", b"");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("fromImage"), "{}", r.message());
    let r = d.http("POST", "/images/busybox/tag", b"");
    assert_eq!(r.status, 400);
    assert!(r.message().contains("repo"), "{}", r.message());
    let r = d.http_with(
        "POST",
        "/images/create?fromImage=busybox",
        &[("X-Registry-Auth", "%%%")],
        b"",
    );
    assert_eq!(r.status, 400);
    assert!(r.message().contains("X-Registry-Auth"), "{}", r.message());
    let r = d.http("GET", "/images/search?term=busybox", b"");
    assert_eq!(r.status, 501);
    assert!(r.message().contains("search"), "{}", r.message());
    let r = d.http("GET", "/no/such/route", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.message(), "page not found");
    // Still alive after all that.
    assert_eq!(d.http("GET", "/_ping", b"").status, 200);
}

#[test]
fn load_list_inspect_tag_history_events_rmi_needs_docker() {
    require!(DOCKER);
    let tar = busybox_tar();
    let d = Daemon::start();
    let start = now_secs();

    let out = d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(out.contains("Loaded image: busybox:latest"), "{out}");

    let inspect: Value =
        serde_json::from_str(&d.docker_ok(&["image", "inspect", "busybox"])).unwrap();
    let img = &inspect[0];
    let id = img["Id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(img["RepoTags"], serde_json::json!(["busybox:latest"]));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Architecture"], "amd64");
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(img["Size"].as_u64().unwrap() > 100_000);
    assert!(img["GraphDriver"]["Name"].is_string());
    assert!(img["Created"].as_str().unwrap().starts_with("19"));
    // The CLI speaks 1.41, where VirtualSize and ContainerConfig still exist.
    assert_eq!(img["VirtualSize"], img["Size"]);
    assert!(img["ContainerConfig"].is_object());
    // 1.47 dropped both.
    let r = d.http("GET", "/v1.47/images/busybox/json", b"");
    assert_eq!(r.status, 200);
    assert!(r.json().get("VirtualSize").is_none());
    assert!(r.json().get("ContainerConfig").is_none());

    d.docker_ok(&["tag", "busybox", "mine/bb:1"]);
    d.docker_ok(&["tag", id.as_str(), "127.0.0.1:5999/team/app:2"]);
    let table = d.docker_ok(&["images"]);
    for want in ["busybox", "mine/bb", "127.0.0.1:5999/team/app"] {
        assert!(table.contains(want), "{table}");
    }
    let rows: Vec<Value> = json_lines(&d.docker_ok(&["images", "--format", "{{json .}}"]));
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["ID"] == id[7..19]));
    let filtered = json_lines(&d.docker_ok(&[
        "images",
        "--filter",
        "reference=mine/*",
        "--format",
        "{{json .}}",
    ]));
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!(filtered[0]["Repository"], "mine/bb");
    assert_eq!(filtered[0]["Tag"], "1");
    assert!(d
        .docker_ok(&["images", "-q", "--filter", "dangling=true"])
        .trim()
        .is_empty());
    let digests = d.docker_ok(&["images", "--digests", "busybox"]);
    assert!(digests.contains("DIGEST"), "{digests}");
    // Nested names route through the wildcard.
    let r = d.http("GET", "/images/127.0.0.1:5999/team/app:2/json", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Id"], id);

    let hist = d.docker_ok(&["history", "--no-trunc", "--format", "{{json .}}", "busybox"]);
    let hist = json_lines(&hist);
    assert!(!hist.is_empty());
    assert_eq!(hist[0]["ID"], id);
    assert!(
        hist.iter()
            .any(|h| h["CreatedBy"].as_str().unwrap().contains("busybox")),
        "{hist:?}"
    );

    // The tag shows up in the event history.
    let events = d.docker_ok(&[
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &(now_secs() + 1).to_string(),
        "--filter",
        "type=image",
        "--format",
        "{{json .}}",
    ]);
    let events = json_lines(&events);
    let tag = events
        .iter()
        .find(|e| e["Action"] == "tag" && e["Actor"]["Attributes"]["name"] == "mine/bb:1")
        .unwrap_or_else(|| panic!("no tag event in {events:?}"));
    assert_eq!(tag["Type"], "image");
    assert_eq!(tag["Actor"]["ID"], id);
    assert!(events.iter().any(|e| e["Action"] == "load"), "{events:?}");

    // rmi: untag first, delete with the last tag.
    let out = d.docker_ok(&["rmi", "mine/bb:1"]);
    assert_eq!(out.trim(), "Untagged: mine/bb:1");
    let out = d.docker_ok(&["rmi", "127.0.0.1:5999/team/app:2", "busybox"]);
    assert!(out.contains("Untagged: busybox:latest"), "{out}");
    assert!(out.contains(&format!("Deleted: {id}")), "{out}");
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
    let info: Value =
        serde_json::from_str(&d.docker_ok(&["info", "--format", "{{json .}}"])).unwrap();
    assert_eq!(info["Images"], 0);
}

#[test]
fn live_events_stream_sees_a_tag_needs_docker() {
    require!(DOCKER);
    let tar = busybox_tar();
    let d = Daemon::start();
    d.docker_ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
    let mut watcher = d
        .docker_command()
        .args(["events", "--filter", "event=tag", "--format", "{{json .}}"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watcher.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Give the subscription a moment to be in place, then tag until the event arrives.
    let mut got = None;
    for i in 0..50 {
        d.docker_ok(&["tag", "busybox", &format!("live/tag:{i}")]);
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            got = Some(line);
            break;
        }
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    let line = got.expect("docker events printed no tag event");
    let e: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(e["Type"], "image");
    assert_eq!(e["Action"], "tag");
    assert!(e["Actor"]["Attributes"]["name"]
        .as_str()
        .unwrap()
        .starts_with("live/tag:"));
}

#[test]
fn save_load_round_trip_import_and_prune_needs_docker() {
    require!(DOCKER);
    let tar = busybox_tar();
    let d = Daemon::start();
    d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    let id = d
        .docker_ok(&["images", "-q", "--no-trunc", "busybox"])
        .trim()
        .to_string();
    d.docker_ok(&["tag", "busybox", "copy/bb:2"]);

    let saved = d.dir.path().join("saved.tar");
    d.docker_ok(&[
        "save",
        "-o",
        saved.to_str().unwrap(),
        "busybox",
        "copy/bb:2",
    ]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&saved)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("manifest.json"), "{listing}");
    assert!(listing.contains("index.json"), "{listing}");

    // Through a pipe too, as `docker save | docker load` does.
    let piped = d
        .docker_command()
        .args(["save", "busybox"])
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(piped.stdout.len() > 100_000);

    let out = d.docker_ok(&["rmi", "busybox", "copy/bb:2"]);
    assert!(out.contains("Deleted:"), "{out}");
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());

    let out = d.docker_stdin(&["load"], &piped.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Loaded image: busybox:latest"));
    let out = d.docker_ok(&["load", "-i", saved.to_str().unwrap()]);
    assert!(out.contains("Loaded image: copy/bb:2"), "{out}");
    assert_eq!(
        d.docker_ok(&["images", "-q", "--no-trunc", "copy/bb:2"])
            .trim(),
        id,
        "the round trip keeps the image ID"
    );

    // Save of an unknown image: an error status before any bytes, not an empty tar.
    let junk = d.dir.path().join("junk.tar");
    let err = d.docker_err(&["save", "-o", junk.to_str().unwrap(), "nope:1"]);
    assert!(err.contains("No such image: nope:1"), "{err}");

    // Import: an untagged image from the layer tarball, and a named one with changes.
    let layer = busybox_layer(&tar);
    let out = d.docker_ok(&["import", layer.to_str().unwrap()]);
    let imported = out.trim().to_string();
    assert!(imported.starts_with("sha256:"), "{out}");
    let out = d.docker_ok(&[
        "import",
        "--change",
        "CMD [\"/bin/echo\", \"hi\"]",
        "-m",
        "from a test",
        layer.to_str().unwrap(),
        "imported/bb:1",
    ]);
    assert!(out.trim().starts_with("sha256:"), "{out}");
    let cfg: Value =
        serde_json::from_str(&d.docker_ok(&["image", "inspect", "imported/bb:1"])).unwrap();
    assert_eq!(
        cfg[0]["Config"]["Cmd"],
        serde_json::json!(["/bin/echo", "hi"])
    );
    let dangling = d.docker_ok(&["images", "-q", "--no-trunc", "--filter", "dangling=true"]);
    assert!(dangling.contains(&imported), "{dangling}");

    // prune removes the untagged import only.
    let out = d.docker_ok(&["image", "prune", "-f"]);
    assert!(out.contains(&format!("deleted: {imported}")), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert!(d
        .docker_ok(&["images", "-q", "--filter", "dangling=true"])
        .trim()
        .is_empty());
    assert!(d.docker_ok(&["images"]).contains("imported/bb"));
    // -a with a label that nothing has: nothing goes.
    let out = d.docker_ok(&["image", "prune", "-af", "--filter", "label=nope"]);
    assert!(!out.contains("deleted:"), "{out}");
    assert!(d.docker_ok(&["images"]).contains("busybox"));
    // -a: every image goes (no containers use them).
    d.docker_ok(&["image", "prune", "-af"]);
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
}

#[test]
fn pull_and_push_with_a_local_registry_needs_docker_registry_skopeo() {
    require!(DOCKER);
    let tar = busybox_tar();
    let reg = common::start_registry();
    let d = Daemon::start();
    let _reach = d.reach_host_port(reg.port());
    d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    let target = format!("{}/test/bb:v1", reg.host);
    d.docker_ok(&["tag", "busybox", &target]);

    let out = d.docker_ok(&["push", &target]);
    assert!(
        out.contains(&format!(
            "The push refers to repository [{}/test/bb]",
            reg.host
        )),
        "{out}"
    );
    assert!(out.contains(": Pushed"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("v1: digest: sha256:"))
        .unwrap_or_else(|| panic!("{out}"));
    let digest = line.split_whitespace().nth(2).unwrap().to_string();
    // The registry has exactly that manifest.
    let remote = common::skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{target}"),
    ]);
    let remote_digest = format!("sha256:{}", sha256_hex(remote.as_bytes()));
    assert_eq!(remote_digest, digest);

    // The pushed digest is now one of the image's RepoDigests, as after a Docker push.
    let digests = d.docker_ok(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Digest}}",
    ]);
    assert!(
        digests.contains(&format!("{}/test/bb {digest}", reg.host)),
        "{digests}"
    );

    let again = d.docker_ok(&["push", &target]);
    assert!(again.contains("Layer already exists"), "{again}");

    // Pull into an empty store.
    d.docker_ok(&["rmi", &target, "busybox"]);
    d.docker_ok(&["image", "prune", "-af"]);
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
    let out = d.docker_ok(&["pull", &target]);
    assert!(out.contains("v1: Pulling from test/bb"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {target}")),
        "{out}"
    );
    let out = d.docker_ok(&["pull", &target]);
    assert!(
        out.contains("Already exists") || out.contains("up to date"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Status: Image is up to date for {target}")),
        "{out}"
    );
    let digests = d.docker_ok(&["images", "--digests", "--format", "{{.Digest}}"]);
    assert!(digests.contains(&digest), "{digests}");
    let run: Value = serde_json::from_str(&d.docker_ok(&["image", "inspect", &target])).unwrap();
    assert_eq!(run[0]["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));

    // Pull by digest.
    let by_digest = format!("{}/test/bb@{digest}", reg.host);
    d.docker_ok(&["pull", &by_digest]);

    // The raw stream has Docker's messages, progress included.
    let r = d.http(
        "POST",
        &format!("/v1.41/images/create?fromImage={}/test/bb&tag=v1", reg.host),
        b"",
    );
    assert_eq!(r.status, 200);
    let msgs = json_lines(&r.text());
    assert_eq!(msgs[0]["status"], "Pulling from test/bb");
    assert_eq!(msgs[0]["id"], "v1");
    assert!(msgs.last().unwrap()["status"]
        .as_str()
        .unwrap()
        .starts_with("Status: "));

    // A missing tag is a 404 before any output, and a CLI error.
    let r = d.http(
        "POST",
        &format!("/images/create?fromImage={}/test/bb&tag=nope", reg.host),
        b"",
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.message().contains("not found"), "{}", r.message());
    let err = d.docker_err(&["pull", &format!("{}/test/bb:nope", reg.host)]);
    assert!(err.contains("not found"), "{err}");
    // Pushing a name that is not there.
    let err = d.docker_err(&["push", &format!("{}/test/none:1", reg.host)]);
    assert!(err.contains("does not exist locally"), "{err}");
}

fn sha256_hex(data: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn login_with_htpasswd_registry_then_push_and_pull_with_credentials_needs_docker_registry() {
    require!(DOCKER);
    let tar = busybox_tar();
    let reg = common::start_auth_registry("alice", "s3cret");
    let d = Daemon::start();
    let _reach = d.reach_host_port(reg.port());
    d.docker_ok(&["load", "-i", tar.to_str().unwrap()]);
    let target = format!("{}/private/bb:1", reg.host);
    d.docker_ok(&["tag", "busybox", &target]);

    let bad = d.docker_stdin(
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        b"wrong\n",
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.to_lowercase().contains("auth"), "{err}");
    // The API says 401 for bad credentials.
    let r = d.http(
        "POST",
        "/auth",
        format!(
            r#"{{"username":"alice","password":"wrong","serveraddress":"{}"}}"#,
            reg.host
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.text());

    // Without credentials the push is refused.
    let err = d.docker_err(&["push", &target]);
    assert!(err.to_lowercase().contains("auth"), "{err}");

    let ok = d.docker_stdin(
        &["login", "-u", "alice", "--password-stdin", &reg.host],
        b"s3cret\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Login Succeeded"));
    let r = d.http(
        "POST",
        "/auth",
        format!(
            r#"{{"username":"alice","password":"s3cret","serveraddress":"http://{}/v2/"}}"#,
            reg.host
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Status"], "Login Succeeded");
    assert_eq!(r.json()["IdentityToken"], "");

    // The CLI now sends X-Registry-Auth: push and pull work.
    let out = d.docker_ok(&["push", &target]);
    assert!(out.contains(": digest: sha256:"), "{out}");
    d.docker_ok(&["rmi", &target]);
    let out = d.docker_ok(&["pull", &target]);
    assert!(out.contains("Status: "), "{out}");
    // The daemon kept nothing: the credentials lived in the client's config only. Not in
    // any file under the data root or the exec root, nor in the daemon's debug-level log,
    // neither as such nor as the Basic authorization it sent ("alice:s3cret" in base64).
    assert!(!d.data_root.join("config.json").exists());
    let client_config = std::fs::read_to_string(d.docker_config.join("config.json")).unwrap();
    assert!(
        client_config.contains("YWxpY2U6czNjcmV0"),
        "the client kept the credentials (the needle is right): {client_config}"
    );
    let log = d.log();
    assert!(
        log.contains("DEBUG"),
        "the daemon does not log at debug level"
    );
    for needle in ["s3cret", "YWxpY2U6czNjcmV0"] {
        assert!(!log.contains(needle), "the daemon logged {needle}");
        for root in [&d.data_root, &d.exec_root] {
            let found = files_containing(root, needle.as_bytes());
            assert!(found.is_empty(), "the daemon kept {needle} in {found:?}");
        }
    }
}

/// Regular files under `dir` (recursively, symlinks not followed) whose bytes contain
/// `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            found.extend(files_containing(&e.path(), needle));
        } else if ft.is_file() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(e.path());
                }
            }
        }
    }
    found
}

#[test]
fn daemon_refusals_and_clean_shutdown_needs_docker() {
    require!(DOCKER);
    let mut d = Daemon::start();
    let pidfile = d.exec_root.join("muelled.pid");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        d.pid().to_string()
    );

    // A second daemon on the same data root: one clear line, nonzero exit.
    let other = tempfile::tempdir().unwrap();
    let out = support::muelled()
        .arg("-H")
        .arg(format!("unix://{}", other.path().join("s.sock").display()))
        .arg("--data-root")
        .arg(&d.data_root)
        .arg("--exec-root")
        .arg(other.path().join("run"))
        .arg("--config-file")
        .arg(d.dir.path().join("daemon.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another muelled"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // A second daemon on the same socket.
    let out = support::muelled()
        .arg("-H")
        .arg(format!("unix://{}", d.socket.display()))
        .arg("--data-root")
        .arg(other.path().join("data"))
        .arg("--exec-root")
        .arg(other.path().join("run"))
        .arg("--config-file")
        .arg(d.dir.path().join("daemon.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another daemon is listening"), "{err}");
    // The running daemon is unharmed.
    assert_eq!(d.http("GET", "/_ping", b"").status, 200);

    // TCP and a malformed config file: clear one-line errors.
    let out = support::muelled()
        .args(["-H", "tcp://127.0.0.1:2375"])
        .arg("--config-file")
        .arg(d.dir.path().join("daemon.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --tlsverify"));
    let bad = other.path().join("bad.json");
    std::fs::write(&bad, "{\"hosts\": 5").unwrap();
    let out = support::muelled()
        .arg("--config-file")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("invalid JSON"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // SIGTERM with an events stream open: exits 0, removes socket and pid file.
    let mut watcher = d
        .docker_command()
        .arg("events")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    assert!(d.stop(), "muelled did not exit cleanly:\n{}", d.log());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!d.socket.exists(), "socket left behind");
    assert!(!pidfile.exists(), "pid file left behind");
    let _ = watcher.kill();
    let _ = watcher.wait();

    // A stale socket (nobody listening) is replaced at the next start; state persists.
    drop(std::os::unix::net::UnixListener::bind(&d.socket).unwrap());
    assert!(d.socket.exists());
    d.restart();
    assert_eq!(d.http("GET", "/_ping", b"").status, 200);
    assert!(d.log().contains("stale socket"), "{}", d.log());
}
