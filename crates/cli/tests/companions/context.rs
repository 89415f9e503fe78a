//! Contexts live in the docker CLI's own store: one made by `docker context create` is used
//! by muelle and one made by muelle by docker; `context use` in either CLI switches both;
//! `DOCKER_CONTEXT` and `--context` pick one for a command; `ls`, `ls --format json` and
//! `inspect` print what docker prints.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::*;

/// A CLI with its own config directory and nothing else choosing the daemon.
fn cli(bin: &str, cfg: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(bin);
    c.env("DOCKER_CONFIG", cfg)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_HOST")
        .env_remove("MUELLE_HOST")
        .env("MUELLE_NO_AUTOSTART", "1")
        .stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.args(args).output().expect("run")
}

fn out(bin: &str, cfg: &Path, args: &[&str]) -> String {
    ok(cli(bin, cfg, &[], args), &format!("{bin} {args:?}"))
}

/// The version of the daemon a CLI reaches through its current context.
fn server_version(bin: &str, cfg: &Path, envs: &[(&str, &str)], args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["version", "--format", "{{.Server.Version}}"]);
    ok(cli(bin, cfg, envs, &a), &format!("{bin} {a:?}"))
        .trim()
        .to_owned()
}

#[test]
fn contexts_are_shared_with_the_docker_cli_needs_dockerd() {
    require_docker28();
    let d = dockerd();
    let want = server_version(
        DOCKER28,
        Path::new("/nonexistent"),
        &[("DOCKER_HOST", &d.host)],
        &[],
    );
    let cfg = tempfile::tempdir().unwrap();
    let cfg = cfg.path();
    let host = format!("host={}", d.host);

    // docker's context, used by muelle.
    out(
        DOCKER28,
        cfg,
        &["context", "create", "by-docker", "--docker", &host],
    );
    out(DOCKER28, cfg, &["context", "use", "by-docker"]);
    assert_eq!(out(MUELLE, cfg, &["context", "show"]), "by-docker\n");
    assert_eq!(server_version(MUELLE, cfg, &[], &[]), want);

    // muelle's context, used by docker.
    let made = cli(
        MUELLE,
        cfg,
        &[],
        &[
            "context",
            "create",
            "by-muelle",
            "--docker",
            &host,
            "--description",
            "made by muelle",
        ],
    );
    assert_eq!(ok(made.clone(), "muelle context create"), "by-muelle\n");
    assert_eq!(
        text(&made.stderr),
        "Successfully created context \"by-muelle\"\n"
    );
    let used = cli(MUELLE, cfg, &[], &["context", "use", "by-muelle"]);
    assert_eq!(text(&used.stderr), "Current context is now \"by-muelle\"\n");
    assert_eq!(out(DOCKER28, cfg, &["context", "show"]), "by-muelle\n");
    assert_eq!(server_version(DOCKER28, cfg, &[], &[]), want);
    assert_eq!(
        out(DOCKER28, cfg, &["context", "inspect", "by-muelle"]),
        out(MUELLE, cfg, &["context", "inspect", "by-muelle"])
    );

    // Both CLIs list the same contexts in the same words; only the `default` context's
    // endpoint differs (each CLI's own default socket), and with it the table's widths.
    let normal = |s: String, default: &str| -> Vec<Vec<String>> {
        s.lines()
            .map(|l| {
                let l = if l.contains("default") {
                    l.replace(default, "DEFAULT")
                } else {
                    l.to_owned()
                };
                l.split_whitespace().map(str::to_owned).collect()
            })
            .collect()
    };
    for args in [
        &["context", "ls"][..],
        &["context", "ls", "--format", "json"],
        &["context", "ls", "-q"],
        &[
            "context",
            "ls",
            "--format",
            "{{.Name}} {{.Current}} {{.DockerEndpoint}}",
        ],
    ] {
        let env = [("DOCKER_CONTEXT", "by-docker")];
        let m = ok(cli(MUELLE, cfg, &env, args), "muelle context ls");
        let k = ok(cli(DOCKER28, cfg, &env, args), "docker context ls");
        // The default context is listed last here: its name sorts after by-*.
        let (m_last, k_last) = (
            m.lines().last().unwrap_or_default().to_owned(),
            k.lines().last().unwrap_or_default().to_owned(),
        );
        assert_eq!(
            normal(m, "unix:///run/muelle/muelle.sock"),
            normal(k, "unix:///var/run/docker.sock"),
            "{args:?}: {m_last} / {k_last}"
        );
    }
    let json = out(MUELLE, cfg, &["context", "ls", "--format", "json"]);
    assert!(
        json.lines()
            .any(|l| l.contains("\"Current\":true") && l.contains("\"Name\":\"by-muelle\"")),
        "{json}"
    );

    // DOCKER_CONTEXT and --context choose for one command; a host overrides the context.
    out(MUELLE, cfg, &["context", "use", "default"]);
    assert_eq!(out(DOCKER28, cfg, &["context", "show"]), "default\n");
    assert!(!std::fs::read_to_string(cfg.join("config.json"))
        .unwrap()
        .contains("currentContext"));
    assert_eq!(
        server_version(MUELLE, cfg, &[("DOCKER_CONTEXT", "by-docker")], &[]),
        want
    );
    assert_eq!(
        server_version(MUELLE, cfg, &[], &["--context", "by-docker"]),
        want
    );
    assert_eq!(server_version(MUELLE, cfg, &[], &["-c", "by-muelle"]), want);
    let shown = cli(
        MUELLE,
        cfg,
        &[
            ("DOCKER_CONTEXT", "by-docker"),
            ("DOCKER_HOST", "unix:///x.sock"),
        ],
        &["context", "show"],
    );
    assert_eq!(ok(shown, "context show"), "default\n");
    let bad = cli(MUELLE, cfg, &[], &["--context", "nope", "ps"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("context \"nope\": context not found"),
        "{}",
        text(&bad.stderr)
    );

    // Removal as docker words it.
    out(MUELLE, cfg, &["context", "use", "by-docker"]);
    for (args, code) in [
        (&["context", "rm", "default"][..], 1),
        (&["context", "rm", "nope"], 1),
        (&["context", "rm", "by-docker"], 1),
        (&["context", "create", "x", "--docker", "host=unix:///x"], 1),
        (
            &[
                "context",
                "create",
                "by-docker",
                "--docker",
                "host=unix:///x",
            ],
            1,
        ),
        (&["context", "create", "other", "--docker", "bogus=1"], 1),
    ] {
        let m = cli(MUELLE, cfg, &[], args);
        let k = cli(DOCKER28, cfg, &[], args);
        assert_eq!(text(&m.stderr), text(&k.stderr), "{args:?}");
        assert_eq!(
            (m.status.code(), k.status.code()),
            (Some(code), Some(code)),
            "{args:?}"
        );
    }
    assert_eq!(
        out(MUELLE, cfg, &["context", "rm", "-f", "by-docker"]),
        "by-docker\n"
    );
    assert_eq!(out(DOCKER28, cfg, &["context", "show"]), "default\n");
    assert_eq!(
        out(MUELLE, cfg, &["context", "rm", "by-muelle"]),
        "by-muelle\n"
    );
    assert_eq!(out(DOCKER28, cfg, &["context", "ls", "-q"]), "default\n");
}
