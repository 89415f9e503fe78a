//! Watching containers: `events`, `top`, `port`.

use super::*;

pub(crate) fn events_top_port(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("ev");
    let since = ok(run(Command::new("date").arg("+%s")), "date")
        .trim()
        .to_owned();
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "run -d",
    );
    let (m, k) = both_ok(d, &["top", &n]);
    let head = |s: &str| s.lines().next().unwrap_or("").to_owned();
    assert_eq!(head(&m), head(&k));
    assert!(m.contains("sleep 60"), "{m}");
    let (m, k) = both(d, &["port", &n]);
    assert_eq!((m.status.code(), m.stdout), (k.status.code(), k.stdout));
    ok(muelle(d, &["rm", "-f", &n]), "rm");
    std::thread::sleep(Duration::from_millis(1100));
    let until = ok(run(Command::new("date").arg("+%s")), "date")
        .trim()
        .to_owned();
    let filter = format!("container={n}");
    for args in [
        &[
            "events",
            "--since",
            since.as_str(),
            "--until",
            &until,
            "--filter",
            &filter,
        ][..],
        &[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ],
        &[
            "system",
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--filter",
            "event=die",
            "--format",
            "json",
        ],
    ] {
        let (m, k) = both_ok(d, args);
        assert_eq!(m, k, "{args:?}");
        assert!(!m.is_empty(), "{args:?}");
    }
    let (m, _) = both_ok(
        d,
        &[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &filter,
            "--format",
            "{{.Action}}",
        ],
    );
    // One `top` from each CLI.
    assert_eq!(m, "create\nstart\ntop\ntop\nkill\ndie\ndestroy\n");
}
