//! `ps` and its formats.

use super::*;

pub(crate) fn ps_formats(d: &Daemon) {
    let mut names = Names::new(d);
    let up = names.make("ps-up");
    let exited = names.make("ps-exit");
    let created = names.make("ps-new");
    ok(
        muelle(
            d,
            &[
                "run", "-d", "--name", &up, NONET, "-l", "a=b", "busybox", "sleep", "60",
            ],
        ),
        "run",
    );
    let _ = muelle(
        d,
        &[
            "run", "--name", &exited, NONET, "busybox", "sh", "-c", "exit 3",
        ],
    );
    ok(
        muelle(
            d,
            &[
                "create",
                "--name",
                &created,
                NONET,
                "busybox",
                "echo",
                "a very long command line here",
            ],
        ),
        "create",
    );
    let filter = format!("name=muelletest-ps-.*-{}-", std::process::id());
    // Columns and truncation; CREATED and STATUS tick, so the stable columns are compared
    // and the default table only by its layout.
    let t = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Ports}}\\t{{.Names}}\\t{{.State}}\\t{{.Labels}}\\t{{.Networks}}\\t{{.Mounts}}";
    for args in [
        &["ps", "-a", "--filter", filter.as_str(), "--format", t][..],
        &["ps", "-a", "--filter", &filter, "--no-trunc", "--format", t],
        &["ps", "-a", "-q", "--filter", &filter],
        &["ps", "-q", "--filter", &filter],
        &["ps", "-aq", "--no-trunc", "--filter", &filter],
        &[
            "container",
            "ls",
            "-a",
            "-n",
            "2",
            "-q",
            "--filter",
            &filter,
        ],
        &["ps", "-l", "-q", "--filter", &filter],
        &[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.Status}}",
        ],
    ] {
        let (m, k) = both_ok(d, args);
        assert_eq!(status_ages(&m), status_ages(&k), "{args:?}");
    }
    let (m, k) = both_ok(d, &["ps", "-a", "--filter", &filter, "--format", "json"]);
    let strip = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let o = v.as_object_mut().unwrap();
                o.remove("RunningFor");
                o.remove("Status");
                v
            })
            .collect()
    };
    assert_eq!(strip(&m), strip(&k));
    let keys: Vec<String> = serde_json::from_str::<serde_json::Value>(m.lines().next().unwrap())
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "Command",
            "CreatedAt",
            "ID",
            "Image",
            "Labels",
            "LocalVolumes",
            "Mounts",
            "Names",
            "Networks",
            "Ports",
            "RunningFor",
            "Size",
            "State",
            "Status"
        ]
    );
    let (m, k) = both_ok(d, &["ps", "-a", "--filter", &filter]);
    // Column widths follow the widest cell, and CREATED ("Less than a second ago", "1 second
    // ago") may tick between the two calls: the same columns always, the same spacing when
    // the rows are the same.
    let columns = |s: &str| -> Vec<String> {
        s.lines()
            .next()
            .unwrap_or("")
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(columns(&m), columns(&k), "header:\n{m}\n{k}");
    if m.lines().skip(1).eq(k.lines().skip(1)) {
        assert_eq!(m.lines().next(), k.lines().next(), "header:\n{m}\n{k}");
    }
    assert_eq!(m.lines().count(), 4);
    assert!(m.contains("\"echo 'a very long c…\""), "{m}");
    assert!(m.contains("Exited (3) "), "{m}");
    assert!(m.contains("   Created   "), "{m}");
    assert!(m.contains("   Up "), "{m}");
    let (m, _) = both_ok(d, &["ps", "-a", "-s", "--filter", &filter]);
    assert!(m.lines().next().unwrap().ends_with("   SIZE"), "{m}");
}

/// `Up 2 seconds` / `Exited (3) 1 second ago` without the age, which ticks between the two
/// clients' calls.
fn status_ages(out: &str) -> String {
    out.lines()
        .map(|l| {
            if let Some(i) = l.find(" Up ") {
                format!("{} Up", &l[..i])
            } else if let Some(i) = l.find(" Exited (") {
                let end = l[i..].find(')').map_or(l.len(), |j| i + j + 1);
                l[..end].to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
