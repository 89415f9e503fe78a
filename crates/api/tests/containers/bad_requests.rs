//! Bad requests: Docker's status codes and {"message"} bodies, and the daemon lives on.

use std::time::{Duration, Instant};

use crate::support;
use crate::{assert_no_leaks, env, state};

#[test]
fn bad_requests_get_docker_status_codes_needs_docker() {
    let d = env();
    let msg = |r: &support::Response| r.message();

    for (method, path) in [
        ("GET", "/containers/x/json"),
        ("POST", "/containers/x/start"),
        ("POST", "/containers/x/stop"),
        ("POST", "/containers/x/kill"),
        ("POST", "/containers/x/wait"),
        ("GET", "/containers/x/logs?stdout=1"),
        ("POST", "/containers/x/exec"),
        ("DELETE", "/containers/x"),
        ("GET", "/v1.41/containers/x/json"),
    ] {
        let body: &[u8] = if path.ends_with("/exec") {
            br#"{"Cmd":["true"]}"#
        } else {
            b""
        };
        let r = d.http_with(method, path, &[("Content-Type", "application/json")], body);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
        assert_eq!(msg(&r), "No such container: x", "{method} {path}");
        assert!(r.headers["content-type"].starts_with("application/json"));
    }
    let r = d.http("GET", "/exec/nope/json", b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(msg(&r), "No such exec instance: nope");

    let create = |body: &[u8]| {
        d.http_with(
            "POST",
            "/containers/create",
            &[("Content-Type", "application/json")],
            body,
        )
    };
    // Invalid JSON, wrong types.
    let r = create(b"{\"Image\": \"busybox\",");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!msg(&r).is_empty());
    let r = create(br#"{"Image":"busybox","Cmd":5}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Cmd"), "{}", r.text());
    let r = create(br#"{"Image":"busybox","HostConfig":{"Memory":"lots"}}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Memory"), "{}", r.text());
    let r = create(br#"{"Image":"busybox","Env":"A=1"}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).contains("Env"), "{}", r.text());
    let r = create(b"[1,2]");
    assert_eq!(r.status, 400, "{}", r.text());
    // No image; a missing image (never pulled by create).
    let r = create(br#"{"Cmd":["true"]}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(msg(&r).to_lowercase().contains("image"), "{}", r.text());
    let r = create(br#"{"Image":"busybox:nope","Cmd":["true"]}"#);
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(msg(&r), "No such image: busybox:nope");
    // Bad names.
    let r = d.http_with(
        "POST",
        "/containers/create?name=bad%20name!",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        msg(&r).starts_with("Invalid container name (bad name!)"),
        "{}",
        r.text()
    );

    // A name in use: 409 and Docker's message.
    let r = d.http_with(
        "POST",
        "/containers/create?name=taken",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["sh","-c","trap 'exit 0' TERM; while true; do sleep 0.1; done"],"HostConfig":{"NetworkMode":"none"}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let r = d.http_with(
        "POST",
        "/containers/create?name=taken",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        msg(&r),
        format!("Conflict. The container name \"/taken\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")
    );
    let r = d.http("POST", "/containers/taken/rename?name=taken", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        msg(&r),
        "Renaming a container with the same name as its current name"
    );
    let r = d.http_with(
        "POST",
        "/containers/create?name=other",
        &[("Content-Type", "application/json")],
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let other = r.json()["Id"].as_str().unwrap().to_string();
    let r = d.http("POST", "/containers/other/rename?name=taken", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(msg(&r).contains("is already in use"), "{}", r.text());
    assert_eq!(d.http("DELETE", "/containers/other", b"").status, 204);

    // exec on a created (not running) container: 409.
    let r = d.http_with(
        "POST",
        "/containers/taken/exec",
        &[("Content-Type", "application/json")],
        br#"{"Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(msg(&r), format!("Container {id} is not running"));
    let r = d.http("POST", "/containers/taken/kill", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(msg(&r), format!("Container {id} is not running"));
    // Stop of a stopped container: 304, no body.
    let r = d.http("POST", "/containers/taken/stop", b"");
    assert_eq!(r.status, 304, "{}", r.text());
    assert!(r.body.is_empty());

    // Start, then start again: 304.
    assert_eq!(d.http("POST", "/containers/taken/start", b"").status, 204);
    let r = d.http("POST", "/containers/taken/start", b"");
    assert_eq!(r.status, 304, "{}", r.text());
    assert!(r.body.is_empty());

    // Signals: unknown names and numbers are 400.
    for sig in ["NOPE", "SIGNOPE", "0", "99", "-1"] {
        let r = d.http("POST", &format!("/containers/taken/kill?signal={sig}"), b"");
        assert_eq!(r.status, 400, "{sig}: {}", r.text());
        assert!(!msg(&r).is_empty());
    }
    assert_eq!(state(&d, "taken")["Running"], true);
    // Bad timeouts: not a number is 400.
    let r = d.http("POST", "/containers/taken/stop?t=soon", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    // Bad query values elsewhere.
    let r = d.http("GET", "/containers/taken/logs?stdout=1&tail=lots", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http("GET", "/containers/json?filters=notjson", b"");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http(
        "GET",
        "/containers/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D",
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // dockerd 20.10's own answer, capital I (checked against it).
    assert_eq!(msg(&r), "Invalid filter 'nope'");
    // Removing a running container without force: 409.
    let r = d.http("DELETE", "/containers/taken", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        msg(&r).contains("cannot remove a running container"),
        "{}",
        r.text()
    );

    // A negative timeout: as dockerd, -1 means no timeout (wait for the stop signal to do
    // its work, never SIGKILL); this shell exits on TERM.
    let t = Instant::now();
    let r = d.http("POST", "/containers/taken/stop?t=-1", b"");
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(10));
    let s = state(&d, "taken");
    assert_eq!(s["ExitCode"], 0, "stopped by TERM, not killed: {s}");
    let r = d.http_with(
        "POST",
        "/containers/taken/exec",
        &[("Content-Type", "application/json")],
        br#"{"Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // Still alive.
    let r = d.http("GET", "/_ping", b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "OK");
    assert_eq!(d.http("DELETE", "/containers/taken", b"").status, 204);
    assert_no_leaks(&d, &[id, other]);
}
