//! A local registry: `push`, `pull`, `login`, `logout`.

use super::*;
use muelle_test_support::registry::start_registry;

pub(crate) fn check_push_pull_needs_registry(d: &Daemon) {
    let reg = start_registry();
    let _reach = d.reach_host_port(reg.port());
    let repo = format!("{}/{}", reg.host, unique("pp"));
    let name = format!("{repo}:1");
    let _untag = Untag::new(d, &name);
    ok(muelle(d, &["tag", "busybox", &name]), "tag");
    let out = ok(muelle(d, &["push", &name]), "push");
    assert!(out.contains("1: digest: sha256:"), "{out}");
    // Piped: one line per status change, never a redrawn bar.
    assert!(!out.contains('\r') && !out.contains("\x1b["), "{out:?}");
    ok(muelle(d, &["rmi", &name]), "rmi");
    let out = ok(muelle(d, &["pull", &name]), "pull");
    assert!(out.contains("Digest: sha256:"), "{out}");
    assert!(out.ends_with(&format!("{name}\n")), "{out}");
    let digests = ok(
        muelle(
            d,
            &["images", "--digests", "--format", "{{.Digest}}", &repo],
        ),
        "images",
    );
    assert!(digests.trim().starts_with("sha256:"), "{digests}");
    let out = ok(muelle(d, &["pull", "-q", &name]), "pull -q");
    assert_eq!(out, format!("{name}\n"));
    ok(muelle(d, &["rmi", &name]), "rmi");

    let out = muelle(d, &["pull", &format!("{}/muelle-nothing-here:1", reg.host)]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("muelle: ") && err.lines().count() == 1,
        "{err}"
    );
}

pub(crate) fn check_login_logout_needs_registry(d: &Daemon) {
    let reg = start_registry();
    let _reach = d.reach_host_port(reg.port());
    let cfg = tempfile::tempdir().unwrap();
    let mut child = Command::new(MUELLE)
        .args([
            "-H",
            &d.host,
            "login",
            "-u",
            "muelle",
            "--password-stdin",
            &reg.host,
        ])
        .env("DOCKER_CONFIG", cfg.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let out = ok(child.wait_with_output().unwrap(), "login");
    assert_eq!(out, "Login Succeeded\n");
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cfg.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(file["auths"][&reg.host]["auth"], "bXVlbGxlOnMzY3JldA=="); // muelle:s3cret
                                                                          // The docker CLI reads what muelle stored, and pull sends it without complaint.
    let name = format!("{}/{}:1", reg.host, unique("auth"));
    let _untag = Untag::new(d, &name);
    ok(muelle(d, &["tag", "busybox", &name]), "tag");
    ok(
        run(Command::new(MUELLE)
            .args(["-H", &d.host, "push", "-q", &name])
            .env("DOCKER_CONFIG", cfg.path())),
        "push with stored credentials",
    );
    ok(muelle(d, &["rmi", &name]), "rmi");
    let out = ok(
        run(Command::new(MUELLE)
            .args(["logout", &reg.host])
            .env("DOCKER_CONFIG", cfg.path())),
        "logout",
    );
    assert_eq!(
        out,
        format!("Removing login credentials for {}\n", reg.host)
    );
    let out = ok(
        run(Command::new(MUELLE)
            .args(["logout", &reg.host])
            .env("DOCKER_CONFIG", cfg.path())),
        "logout again",
    );
    assert_eq!(out, format!("Not logged in to {}\n", reg.host));
}
