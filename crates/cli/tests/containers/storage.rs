//! The storage flags of `run`/`create` and `cp -a` through muelle and the docker CLI against
//! the same daemon: `--volumes-from` (with `:ro`), `--mount type=tmpfs` with size and mode,
//! `--mount` errors the CLI itself reports, `--volume-driver` with an unknown driver, `cp -a`
//! into a container with a user; and `--use-api-socket` (newer than the 20.10 CLI, so
//! muelle's alone): the daemon's socket and the user's registry credentials in the container.

use super::*;

/// The message after the program's own prefix (`docker: ` / `muelle: `), first line.
fn message(o: &std::process::Output) -> String {
    let err = text(&o.stderr);
    let line = err.lines().next().unwrap_or_default();
    line.split_once(": ")
        .filter(|(p, _)| *p == "docker" || *p == "muelle")
        .map_or(line, |(_, m)| m)
        .to_owned()
}

pub(crate) fn storage_flags(d: &Daemon) {
    let mut names = Names::new(d);
    let vol = names.make("stvol");
    let src = names.make("stsrc");
    ok(docker(d, &["volume", "create", &vol]), "volume create");
    ok(
        docker(
            d,
            &[
                "create",
                "--name",
                &src,
                NONET,
                "-v",
                &format!("{vol}:/va"),
                "busybox",
                "true",
            ],
        ),
        "create the source",
    );
    ok(
        docker(
            d,
            &[
                "run",
                "--rm",
                NONET,
                "-v",
                &format!("{vol}:/va"),
                "busybox",
                "sh",
                "-c",
                "echo shared > /va/f",
            ],
        ),
        "write the volume",
    );
    let script = "cat /va/f; touch /va/g 2>/dev/null && echo rw || echo ro";
    for (from, want) in [
        (src.clone(), "shared\nrw\n"),
        (format!("{src}:ro"), "shared\nro\n"),
    ] {
        let (m, k) = both_ok(
            d,
            &[
                "run",
                "--rm",
                NONET,
                "--volumes-from",
                &from,
                "busybox",
                "sh",
                "-c",
                script,
            ],
        );
        assert_eq!(m, want, "{from}");
        assert_eq!(m, k, "{from}");
    }
    let (m, k) = both_ok(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--mount",
            "type=tmpfs,destination=/t,tmpfs-size=2m,tmpfs-mode=1777",
            "busybox",
            "sh",
            "-c",
            "df -k /t | tail -1 | awk '{print $2}'; stat -c %a /t",
        ],
    );
    assert_eq!(m, "2048\n1777\n");
    assert_eq!(m, k);
    for bad in [
        "type=bind,dst=/x,bogus",
        "type=bind,src=/tmp",
        "type=tmpfs,dst=/x,volume-nocopy",
        "type=bind,dst=/x,x=1",
    ] {
        let (m, k) = both(
            d,
            &["run", "--rm", NONET, "--mount", bad, "busybox", "true"],
        );
        assert!(!m.status.success() && !k.status.success(), "{bad}");
        let (mm, km) = (message(&m), message(&k));
        // docker wraps the reason in `invalid argument "..." for "--mount" flag: `.
        assert!(km.ends_with(&mm), "{bad}: muelle {mm:?} vs docker {km:?}");
    }
    let (m, k) = both(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--mount",
            "type=bind,src=/nonexistent-muelle,dst=/x",
            "busybox",
            "true",
        ],
    );
    // The 20.10 CLI ends a daemon's error of `run` with a period.
    assert_eq!(message(&m), message(&k).trim_end_matches('.'));
    assert!(message(&m).contains("bind source path does not exist"));
    // cp -a into a container with a user: that user owns what is copied.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "x").unwrap();
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    let mut seen = Vec::new();
    for cli in [muelle, docker] {
        let n = names.make("stcp");
        ok(
            cli(
                d,
                &[
                    "create", "--name", &n, NONET, "-u", "nobody", "busybox", "sleep", "60",
                ],
            ),
            "create",
        );
        ok(
            cli(d, &["cp", f.to_str().unwrap(), &format!("{n}:/plain")]),
            "cp",
        );
        ok(
            cli(d, &["cp", "-a", f.to_str().unwrap(), &format!("{n}:/arch")]),
            "cp -a",
        );
        ok(cli(d, &["start", &n]), "start");
        seen.push(ok(
            cli(
                d,
                &["exec", &n, "stat", "-c", "%n %u:%g", "/plain", "/arch"],
            ),
            "stat",
        ));
    }
    assert_eq!(seen[0], "/plain 1234:5678\n/arch 65534:65534\n");
    assert_eq!(seen[0], seen[1]);
    ok(docker(d, &["rm", "-f", &src]), "rm");
    ok(docker(d, &["volume", "rm", &vol]), "volume rm");
}

pub(crate) fn use_api_socket(d: &Daemon) {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        r#"{"auths":{"registry.example:5000":{"auth":"dXNlcjpwYXNz"}}}"#,
    )
    .unwrap();
    let out = ok(
        run(Command::new(MUELLE)
            .env("DOCKER_CONFIG", config.path())
            .args(["-H", &d.host])
            .args([
                "run",
                "--rm",
                NONET,
                "--use-api-socket",
                "busybox",
                "sh",
                "-c",
            ])
            .arg(
                "test -S /var/run/docker.sock && echo socket; echo $DOCKER_CONFIG; \
                  stat -c %a /run/secrets/docker/config.json; cat /run/secrets/docker/config.json",
            )),
        "run --use-api-socket",
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("socket"), "{out}");
    assert_eq!(lines.next(), Some("/run/secrets/docker"), "{out}");
    assert_eq!(lines.next(), Some("600"), "{out}");
    let rest: String = lines.collect::<Vec<_>>().join("\n");
    let v: serde_json::Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"auths": {"registry.example:5000": {"auth": "dXNlcjpwYXNz"}}})
    );
    // Without credentials: the socket alone, no DOCKER_CONFIG.
    let empty = tempfile::tempdir().unwrap();
    let out = ok(
        run(Command::new(MUELLE)
            .env("DOCKER_CONFIG", empty.path())
            .args(["-H", &d.host])
            .args([
                "run",
                "--rm",
                NONET,
                "--use-api-socket",
                "busybox",
                "sh",
                "-c",
            ])
            .arg("test -S /var/run/docker.sock && echo socket; echo \"[$DOCKER_CONFIG]\"")),
        "run --use-api-socket without credentials",
    );
    assert_eq!(out, "socket\n[]\n");
}
