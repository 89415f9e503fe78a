//! `POST /build` at the HTTP edge, without the builder doing any work: the query parameters
//! the docker CLI sends and the ones refused before the stream starts (bad JSON, remote
//! contexts, BuildKit sessions), a body that is no tar, and the build cache's prune and
//! cancel routes. Builds that run are the builder's tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{http, Daemon, Response};

const TAR: [(&str, &str); 1] = [("Content-Type", "application/x-tar")];

/// A context tar holding a Dockerfile.
fn context() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let text = b"FROM busybox\nRUN true\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "Dockerfile", &text[..]).unwrap();
    b.into_inner().unwrap()
}

fn build(d: &Daemon, query: &str, body: &[u8]) -> Response {
    http(
        &d.socket,
        "POST",
        &format!("/v1.41/build?{query}"),
        &TAR,
        body,
    )
}

/// The error a build answered: the status's message, or the stream's last `errorDetail`.
fn failure(r: &Response) -> String {
    if r.status != 200 {
        if r.status < 300 {
            return String::new();
        }
        return r.message();
    }
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "{r:?}"
    );
    let last = r.text().lines().last().unwrap_or_default().to_string();
    let v: serde_json::Value =
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(v["errorDetail"]["message"], v["error"], "{last}");
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {}", r.text()))
        .to_string()
}

#[test]
fn refused_before_the_stream_starts() {
    let d = Daemon::start();
    let ctx = context();
    let cases: &[(&str, &str)] = &[
        ("buildargs=notjson", "error reading build args"),
        ("labels=%5B1%5D", "error reading labels"),
        ("cachefrom=%7B%7D", "error reading cache-from"),
        (
            "remote=https%3A%2F%2Fexample.invalid%2Fx.git",
            "remote build contexts are not supported",
        ),
        ("version=2", "use version=1"),
        ("version=3", "invalid builder version"),
        ("t=Bad%3Atag", "invalid reference format"),
        ("shmsize=lots", "shmsize"),
        ("nocache=perhaps", "nocache"),
        ("secrets=%7B%22s%22%3A%22%21%21%22%7D", "not base64"),
    ];
    for (query, wanted) in cases {
        let r = build(&d, query, &ctx);
        assert_eq!(r.status, 400, "{query}: {}", r.text());
        assert!(r.message().contains(wanted), "{query}: {}", r.text());
    }
    // dockerd reads what it does not use as zero rather than refusing it.
    let r = build(&d, "memory=bogus&cpushares=x&q=1", &ctx);
    let message = failure(&r);
    assert!(
        !message.contains("memory") && !message.contains("cpushares"),
        "{}",
        r.text()
    );
    assert_eq!(http(&d.socket, "GET", "/_ping", &[], b"").status, 200);
}

#[test]
fn a_body_that_is_no_tar_is_an_error() {
    let d = Daemon::start();
    let r = build(
        &d,
        "t=hfront-notar%3A1",
        b"this is not a tar archive, nor compressed",
    );
    let message = failure(&r);
    assert!(!message.is_empty(), "{r:?}");
    // Nothing was tagged.
    let r = http(
        &d.socket,
        "GET",
        "/v1.41/images/hfront-notar:1/json",
        &[],
        b"",
    );
    assert_eq!(r.status, 404, "{}", r.text());
    // A bzip2 context is refused by name.
    let r = build(&d, "", b"BZh91AY&SY not really");
    let message = failure(&r);
    assert!(!message.is_empty(), "{r:?}");
}

#[test]
fn build_cache_routes() {
    let d = Daemon::start();
    let r = http(&d.socket, "POST", "/v1.41/build/prune", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert!(
        v["CachesDeleted"].is_null() || v["CachesDeleted"].is_array(),
        "{v}"
    );
    assert!(v["SpaceReclaimed"].is_u64(), "{v}");
    let r = http(&d.socket, "POST", "/v1.41/build/prune?all=1", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http(
        &d.socket,
        "POST",
        "/v1.41/build/prune?filters=%7B%22until%22%3A%5B%2224h%22%5D%7D",
        &[],
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.message().contains("until"), "{}", r.text());
    let r = http(&d.socket, "POST", "/v1.41/build/prune?all=maybe", &[], b"");
    assert_eq!(r.status, 400, "{}", r.text());

    let r = http(&d.socket, "POST", "/v1.41/build/cancel?id=abc", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty());
    let r = http(&d.socket, "POST", "/v1.41/build/cancel", &[], b"");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.message(), "build ID not provided");

    let r = http(
        &d.socket,
        "GET",
        "/v1.41/system/df?type=build-cache",
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["BuildCache"].is_array(), "{}", r.text());
}

/// The docker CLIs' legacy build requests (28 without buildx, and Debian's 20.10) pass the
/// query parsing: whatever the builder then says, it is not a refusal of their parameters.
#[test]
fn docker_cli_requests_are_understood_needs_docker() {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\nRUN true\n").unwrap();
    let ctx = dir.path().to_str().unwrap();
    for docker in ["/usr/local/bin/docker", "/usr/bin/docker"] {
        if !std::path::Path::new(docker).exists() {
            continue;
        }
        let out = d
            .docker_command()
            .env("DOCKER_BUILDKIT", "0")
            .arg("build")
            .args(["-t", "hfront-cli:1", "--build-arg", "A=1", "--label", "l=v"])
            .args([
                "--add-host",
                "h:1.2.3.4",
                "--network",
                "none",
                "--pull=false",
            ])
            .arg(ctx)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{docker}: {stderr}");
        for refusal in [
            "error reading",
            "invalid builder version",
            "not supported",
            "BuildKit",
        ] {
            assert!(
                !stderr.contains(refusal),
                "{docker}: {stderr}\nmuelled log:\n{}",
                d.log()
            );
        }
    }
}
