//! The health-check flags of `create` and `run` (`--health-*`, `--no-healthcheck`): the
//! `Healthcheck` each CLI sends, their refusals, and what `inspect` and `ps` then show.

use std::process::Output;

use super::*;

/// The first line of a refusal without the CLI's name in front (and the full stop the
/// docker CLI adds to the errors of its option checks).
fn refusal(o: &Output) -> (Option<i32>, String) {
    let e = text(&o.stderr);
    let first = e.lines().next().unwrap_or("").to_string();
    let first = first
        .strip_prefix("muelle: ")
        .or_else(|| first.strip_prefix("docker: "))
        .unwrap_or(&first)
        .trim_end_matches('.')
        .to_string();
    (o.status.code(), first)
}

fn check_of(d: &Daemon, name: &str) -> String {
    ok(
        docker(d, &["inspect", "-f", "{{json .Config.Healthcheck}}", name]),
        "inspect",
    )
}

pub(crate) fn health_flags(d: &Daemon) {
    let mut names = Names::new(d);
    for bad in [
        &["--health-interval", "1"][..],
        &["--health-timeout", "5x"],
        &["--no-healthcheck", "--health-retries", "1"],
    ] {
        let mut args = vec!["create", NONET];
        args.extend_from_slice(bad);
        args.push("busybox");
        let (m, k) = both(d, &args);
        assert_eq!(refusal(&m), refusal(&k), "{bad:?}");
        assert_eq!(m.status.code(), Some(125), "{bad:?}");
    }
    // (The 20.10 CLI here has no --health-start-interval; the unit tests cover it.)
    let flags: &[&[&str]] = &[
        &[
            "--health-cmd",
            "echo ok",
            "--health-interval",
            "1s",
            "--health-timeout",
            "500ms",
            "--health-retries",
            "2",
            "--health-start-period",
            "1m30s",
        ],
        &["--no-healthcheck"],
        &["--health-retries", "4"],
    ];
    for f in flags {
        let (mine, theirs) = (names.make("hc-m"), names.make("hc-d"));
        for (cli, name) in [("muelle", &mine), ("docker", &theirs)] {
            let mut args = vec!["create", "--name", name.as_str(), NONET];
            args.extend_from_slice(f);
            args.extend_from_slice(&["busybox", "sleep", "60"]);
            let o = if cli == "muelle" {
                muelle(d, &args)
            } else {
                docker(d, &args)
            };
            ok(o, &format!("{cli} create {f:?}"));
        }
        assert_eq!(check_of(d, &mine), check_of(d, &theirs), "{f:?}");
    }

    let up = names.make("hc-up");
    let off = names.make("hc-off");
    ok(
        muelle(
            d,
            &[
                "run",
                "-d",
                "--name",
                &up,
                NONET,
                "--health-cmd",
                "echo ok",
                "--health-interval",
                "1s",
                "busybox",
                "sleep",
                "60",
            ],
        ),
        "run",
    );
    ok(
        muelle(
            d,
            &[
                "run",
                "-d",
                "--name",
                &off,
                NONET,
                "--no-healthcheck",
                "busybox",
                "sleep",
                "60",
            ],
        ),
        "run",
    );
    let t0 = Instant::now();
    loop {
        let s = ok(
            muelle(d, &["inspect", "-f", "{{.State.Health.Status}}", &up]),
            "inspect",
        );
        if s.trim() == "healthy" {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "{up} never became healthy: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (m, k) = both_ok(
        d,
        &[
            "ps",
            "--filter",
            &format!("name={up}"),
            "--filter",
            "health=healthy",
            "--format",
            "{{.Names}}",
        ],
    );
    assert_eq!((m.trim(), k.trim()), (up.as_str(), up.as_str()));
    let status = ok(
        muelle(
            d,
            &[
                "ps",
                "--filter",
                &format!("name={up}"),
                "--format",
                "{{.Status}}",
            ],
        ),
        "ps",
    );
    assert!(status.trim().ends_with("(healthy)"), "{status}");
    let (m, k) = both_ok(d, &["inspect", "-f", "{{json .State.Health}}", &off]);
    assert_eq!((m.trim(), k.trim()), ("null", "null"));
}
