//! The per-container verbs: stop, kill, restart, rm, pause, rename, wait ….

use super::*;

pub(crate) fn lifecycle_verbs(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("life");
    ok(
        muelle(
            d,
            &["create", "--name", &n, NONET, "busybox", "sleep", "60"],
        ),
        "create",
    );
    assert_eq!(ok(muelle(d, &["start", &n]), "start"), format!("{n}\n"));
    // pause/unpause print the names; ps shows the pause.
    assert_eq!(ok(muelle(d, &["pause", &n]), "pause"), format!("{n}\n"));
    let (m, k) = both_ok(
        d,
        &["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", &n],
    );
    assert_eq!((m.as_str(), k.as_str()), ("paused true\n", "paused true\n"));
    assert_eq!(ok(muelle(d, &["unpause", &n]), "unpause"), format!("{n}\n"));

    // rename, then the new name works and the old one is gone.
    let renamed = names.make("life-renamed");
    assert_eq!(ok(muelle(d, &["rename", &n, &renamed]), "rename"), "");
    let (m, k) = both(d, &["rename", &n, "x"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(text(&m.stderr).lines().count(), 2, "{}", text(&m.stderr));

    // stop -t 1: sleep as pid 1 ignores SIGTERM, so the stop takes the full second and the
    // process is killed (137).
    let t0 = Instant::now();
    assert_eq!(
        ok(muelle(d, &["stop", "-t", "1", &renamed]), "stop"),
        format!("{renamed}\n")
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let (m, k) = both_ok(d, &["inspect", "-f", "{{.State.ExitCode}}", &renamed]);
    assert_eq!((m.as_str(), k.as_str()), ("137\n", "137\n"));
    let (m, k) = both_ok(d, &["wait", &renamed]);
    assert_eq!(m, k);

    // restart, kill with a signal, rm -f of a running container.
    assert_eq!(
        ok(muelle(d, &["restart", "-t", "0", &renamed]), "restart"),
        format!("{renamed}\n")
    );
    // As pid 1, sleep has no handler for USR1, so the kernel ignores it; KILL is the default.
    assert_eq!(
        ok(muelle(d, &["kill", "-s", "USR1", &renamed]), "kill -s"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(d, &["inspect", "-f", "{{.State.Running}}", &renamed]);
    assert_eq!(m, "true\n");
    assert_eq!(
        ok(muelle(d, &["kill", &renamed]), "kill"),
        format!("{renamed}\n")
    );
    let (m, _) = both_ok(
        d,
        &[
            "inspect",
            "-f",
            "{{.State.Running}} {{.State.ExitCode}}",
            &renamed,
        ],
    );
    assert_eq!(m, "false 137\n");
    ok(muelle(d, &["start", &renamed]), "start again");
    let r = muelle(d, &["rm", &renamed]);
    assert_eq!(r.status.code(), Some(1), "a running container needs -f");
    assert_eq!(
        ok(muelle(d, &["rm", "-f", &renamed]), "rm -f"),
        format!("{renamed}\n")
    );
    assert!(!docker(d, &["inspect", &renamed]).status.success());

    // Errors in docker's words, with our prefix; the exit status is docker's.
    for args in [
        &["rm", "muelle-no-such-ctr"][..],
        &["stop", "muelle-no-such-ctr"],
        &["kill", "muelle-no-such-ctr"],
        &["wait", "muelle-no-such-ctr"],
        &["pause", "muelle-no-such-ctr"],
        &["port", "muelle-no-such-ctr"],
        &["container", "inspect", "muelle-no-such-ctr"],
        &["inspect", "muelle-no-such-ctr"],
        &["start", "muelle-no-such-ctr"],
    ] {
        let (m, k) = both(d, args);
        assert_eq!(m.status.code(), k.status.code(), "{args:?}");
        let want: String = text(&k.stderr)
            .lines()
            .map(|l| format!("muelle: {l}\n"))
            .collect();
        assert_eq!(text(&m.stderr), want, "{args:?}");
        assert_eq!(m.stdout, k.stdout, "{args:?}");
    }
}
