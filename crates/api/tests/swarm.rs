//! Issue #9, item 21: the routes of what muelle does not offer (swarm mode, services, nodes,
//! tasks, secrets, configs, plugins) answer as a dockerd outside a swarm answers them, side by
//! side with the shared dockerd when it is outside a swarm (where `swarm leave` is a no-op).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peers;
mod support;

use std::path::Path;

use peers::{dockerd, env, have_docker_py, python_json, text, DOCKERD_SOCKET};
use serde_json::Value;

// 21. Swarm and plugin routes of a daemon outside a swarm.

const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// Requests and what dockerd outside a swarm answers: status and message (or body); a
/// message of `*` is not compared (Go's JSON errors are worded by Go).
const ROUTES: &[(&str, &str, &str, u16, &str)] = &[
    ("GET", "/swarm", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/swarm/leave?force=1",
        "",
        503,
        "This node is not part of a swarm",
    ),
    ("GET", "/swarm/unlockkey", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/swarm/unlock",
        "",
        400,
        "got EOF while reading request body",
    ),
    ("POST", "/swarm/unlock", "{}", 503, NOT_A_MANAGER),
    ("POST", "/swarm/update?version=1", "{}", 503, NOT_A_MANAGER),
    (
        "POST",
        "/swarm/update",
        "{}",
        400,
        "invalid swarm version '': strconv.ParseUint: parsing \"\": invalid syntax",
    ),
    ("GET", "/services", "", 503, NOT_A_MANAGER),
    ("GET", "/services?filters=bad", "", 400, "*"),
    ("POST", "/services/create", "{}", 503, NOT_A_MANAGER),
    ("POST", "/services/create", "[1]", 400, "*"),
    ("GET", "/services/muelle-nosuch", "", 503, NOT_A_MANAGER),
    ("DELETE", "/services/muelle-nosuch", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/services/muelle-nosuch/update?version=1",
        "{}",
        503,
        NOT_A_MANAGER,
    ),
    (
        "GET",
        "/services/muelle-nosuch/logs",
        "",
        500,
        "Bad parameters: you must choose at least one stream",
    ),
    (
        "GET",
        "/services/muelle-nosuch/logs?stdout=1",
        "",
        503,
        NOT_A_MANAGER,
    ),
    ("GET", "/nodes", "", 503, NOT_A_MANAGER),
    ("GET", "/nodes/muelle-nosuch", "", 503, NOT_A_MANAGER),
    ("DELETE", "/nodes/muelle-nosuch", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/nodes/muelle-nosuch/update",
        "{}",
        400,
        "invalid node version '': strconv.ParseUint: parsing \"\": invalid syntax",
    ),
    ("GET", "/tasks", "", 503, NOT_A_MANAGER),
    ("GET", "/tasks/muelle-nosuch", "", 503, NOT_A_MANAGER),
    (
        "GET",
        "/tasks/muelle-nosuch/logs?stderr=1",
        "",
        503,
        NOT_A_MANAGER,
    ),
    ("GET", "/secrets", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/secrets/create",
        "",
        400,
        "got EOF while reading request body",
    ),
    ("POST", "/secrets/create", "{}", 503, NOT_A_MANAGER),
    ("GET", "/secrets/muelle-nosuch", "", 503, NOT_A_MANAGER),
    ("DELETE", "/secrets/muelle-nosuch", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/secrets/muelle-nosuch/update",
        "{}",
        400,
        "invalid secret version",
    ),
    ("GET", "/configs", "", 503, NOT_A_MANAGER),
    ("POST", "/configs/create", "{}", 503, NOT_A_MANAGER),
    ("GET", "/configs/muelle-nosuch", "", 503, NOT_A_MANAGER),
    ("DELETE", "/configs/muelle-nosuch", "", 503, NOT_A_MANAGER),
    (
        "POST",
        "/configs/muelle-nosuch/update?version=1",
        "{}",
        503,
        NOT_A_MANAGER,
    ),
    ("GET", "/plugins", "", 200, "[]"),
    (
        "GET",
        "/plugins?filters=%7B%22enable%22%3A%5B%22true%22%5D%7D",
        "",
        400,
        "Invalid filter 'enable'",
    ),
    (
        "GET",
        "/plugins/muelle/nosuch:1/json",
        "",
        404,
        "plugin \"muelle/nosuch:1\" not found",
    ),
    (
        "DELETE",
        "/plugins/muelle-nosuch",
        "",
        404,
        "plugin \"muelle-nosuch\" not found",
    ),
    (
        "POST",
        "/plugins/muelle-nosuch/disable",
        "",
        404,
        "plugin \"muelle-nosuch\" not found",
    ),
    (
        "POST",
        "/plugins/muelle-nosuch/enable?timeout=0",
        "",
        404,
        "plugin \"muelle-nosuch\" not found",
    ),
    (
        "POST",
        "/plugins/muelle-nosuch/set",
        "[]",
        404,
        "plugin \"muelle-nosuch\" not found",
    ),
    ("GET", "/swarm/muelle-nosuch", "", 404, "page not found"),
];

/// One request; a body goes as JSON (dockerd refuses a body of another type).
fn call(socket: &Path, method: &str, path: &str, body: &str) -> (u16, String) {
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("Content-Type", "application/json")]
    };
    answer(&support::http(
        socket,
        method,
        path,
        headers,
        body.as_bytes(),
    ))
}

fn answer(r: &support::Response) -> (u16, String) {
    let text = r.text();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    (r.status, message.unwrap_or_else(|| text.trim().to_string()))
}

const PY_SWARM: &str = r#"
import json, sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto", timeout=30)
out = {"leave": c.swarm.leave(force=True), "plugins": [p.name for p in c.plugins.list()]}
try:
    c.services.list()
except docker.errors.APIError as e:
    out["services"] = [e.status_code, e.explanation]
print(json.dumps(out, sort_keys=True))
"#;

#[test]
fn swarm_and_plugin_routes_answer_as_outside_a_swarm_needs_dockerd_dockerpy() {
    let Some(d) = env() else { return };
    // Compared only with a dockerd outside a swarm (where `swarm leave` changes nothing);
    // its plugin list is its own business.
    let dockerd = dockerd().filter(|k| {
        let state = k.http("GET", "/info", b"").json()["Swarm"]["LocalNodeState"].clone();
        let outside = state == "inactive";
        if !outside {
            println!("SKIP: the shared dockerd is in a swarm ({state}): no comparison");
        }
        outside
    });
    for (method, path, body, status, message) in ROUTES {
        let what = format!("{method} {path} {body}");
        let (code, text) = call(&d.socket, method, path, body);
        assert_eq!(code, *status, "{what}: {text}");
        if *message != "*" {
            assert_eq!(text, *message, "{what}");
        }
        if dockerd.is_some() && *path != "/plugins" {
            let (their_code, their_text) = call(Path::new(DOCKERD_SOCKET), method, path, body);
            assert_eq!(their_code, code, "{what}: dockerd says {their_text}");
            if *message != "*" {
                assert_eq!(their_text, text, "{what}: muelled vs dockerd");
            }
        }
    }
    assert_eq!(
        d.http("GET", "/_ping", b"")
            .headers
            .get("swarm")
            .map(String::as_str),
        Some("inactive")
    );

    // The docker CLI: same output and status from both daemons.
    assert_eq!(
        d.docker_ok(&["plugin", "ls", "--format", "{{.Name}}"]),
        "",
        "plugin ls"
    );
    for args in [
        &["swarm", "leave", "--force"][..],
        &["node", "ls"],
        &["secret", "ls"],
    ] {
        let ours = d.docker(args);
        if let Some(k) = &dockerd {
            let theirs = k.docker(args);
            assert_eq!(
                (ours.status.code(), text(&ours.stdout), text(&ours.stderr)),
                (
                    theirs.status.code(),
                    text(&theirs.stdout),
                    text(&theirs.stderr)
                ),
                "docker {args:?}"
            );
        }
    }

    if have_docker_py() {
        let want = serde_json::json!({
            "leave": true, "plugins": [], "services": [503, NOT_A_MANAGER],
        });
        let got = python_json(PY_SWARM, d.socket.to_str().unwrap(), &[], &|| d.log());
        assert_eq!(got, want);
        if dockerd.is_some() {
            let mut theirs = python_json(PY_SWARM, DOCKERD_SOCKET, &[], &String::new);
            theirs["plugins"] = serde_json::json!([]);
            assert_eq!(theirs, want, "dockerd");
        }
    }
}
