//! `volume create/ls/inspect/rm` printed by muelle as by the docker CLI against the same
//! daemon; `volume prune` only on a private muelled (the shared dockerd's volumes are never
//! pruned).

use super::*;

pub(crate) fn check_volumes(d: &Daemon) {
    let v = unique("vol").replace('/', "-");
    let out = ok(
        muelle(
            d,
            &[
                "volume",
                "create",
                "--label",
                "k=v",
                "-o",
                "type=tmpfs",
                "-o",
                "device=tmpfs",
                &v,
            ],
        ),
        "volume create",
    );
    assert_eq!(out, format!("{v}\n"));
    let filter = format!("name={v}");
    for args in [
        &["volume", "ls", "--filter", filter.as_str()][..],
        &["volume", "ls", "-q", "--filter", filter.as_str()],
        &[
            "volume",
            "ls",
            "--filter",
            filter.as_str(),
            "--format",
            "table {{.Name}}\t{{.Labels}}\t{{.Scope}}",
        ],
        &[
            "volume",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}} {{.Labels}} {{.Options}} {{.Scope}}",
            v.as_str(),
        ],
    ] {
        let (m, k) = both_ok(d, args);
        assert_eq!(m, k, "{args:?}");
    }
    // The docker CLI here (20.10) predates the cluster volume fields docker 28 shows.
    let (m, k) = both_ok(
        d,
        &["volume", "ls", "--filter", &filter, "--format", "json"],
    );
    let cluster = ["Availability", "Group", "Status"];
    assert_eq!(json_lines(&m, &cluster), json_lines(&k, &cluster));
    let m: serde_json::Value =
        serde_json::from_str(&ok(muelle(d, &["volume", "inspect", &v]), "inspect")).unwrap();
    let k: serde_json::Value =
        serde_json::from_str(&ok(docker(d, &["volume", "inspect", &v]), "inspect")).unwrap();
    assert_eq!(m, k);
    let (m, k) = both(d, &["volume", "inspect", "nonexistent-volume-x"]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    let (m, k) = both(d, &["volume", "create", "a/b"]);
    assert_eq!(m.status.code(), k.status.code());
    assert!(
        text(&m.stderr).contains("includes invalid characters"),
        "{}",
        text(&m.stderr)
    );
    assert_eq!(
        ok(muelle(d, &["volume", "rm", &v]), "volume rm"),
        format!("{v}\n")
    );
    let (m, k) = both(d, &["volume", "rm", &v]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
    assert_eq!(
        ok(muelle(d, &["volume", "rm", "-f", &v]), "rm -f"),
        ok(docker(d, &["volume", "rm", "-f", &v]), "rm -f")
    );
    if !shared(d) {
        let named = format!("{v}-named");
        ok(muelle(d, &["volume", "create", &named]), "create");
        let anon = ok(muelle(d, &["volume", "create"]), "create")
            .trim()
            .to_string();
        let out = ok(muelle(d, &["volume", "prune", "-f"]), "prune");
        assert_eq!(
            out,
            format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n")
        );
        let out = ok(muelle(d, &["volume", "prune", "-a", "-f"]), "prune -a");
        assert_eq!(
            out,
            format!("Deleted Volumes:\n{named}\n\nTotal reclaimed space: 0B\n")
        );
    }
}
