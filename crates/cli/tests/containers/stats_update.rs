//! `stats --no-stream` (table, `--format`, `{{json .}}`) and `update` (limits, refusals).

use super::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stats_and_update(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("stats");
    ok(
        muelle(
            d,
            &["run", "-d", "--name", &n, NONET, "busybox", "sleep", "120"],
        ),
        "run -d",
    );
    let (m, k) = both_ok(
        d,
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}} {{.NetIO}}",
            &n,
        ],
    );
    assert_eq!(m, k);
    assert_eq!(m.trim(), format!("{n} 1 0B / 0B"));
    let (m, k) = both_ok(d, &["stats", "--no-stream", &n]);
    let head = |s: &str| s.lines().next().unwrap_or("").to_owned();
    assert_eq!(head(&m), head(&k));
    assert!(m.lines().nth(1).unwrap_or("").contains(&n), "{m}");
    let (m, k) = both_ok(d, &["stats", "--no-stream", "--format", "{{json .}}", &n]);
    let keys = |s: &str| {
        let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
        v.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(keys(&m), keys(&k));

    let (m, k) = both_ok(
        d,
        &["update", "--memory", "64m", "--memory-swap", "128m", &n],
    );
    assert_eq!((m.trim(), k.trim()), (n.as_str(), n.as_str()));
    let (m, k) = both_ok(d, &["inspect", "-f", "{{.HostConfig.Memory}}", &n]);
    assert_eq!((m.trim(), k.trim()), ("67108864", "67108864"));
    let (m, _) = both_ok(
        d,
        &["stats", "--no-stream", "--format", "{{.MemUsage}}", &n],
    );
    assert!(m.trim().ends_with("/ 64MiB"), "{m}");
    let (m, k) = both_ok(
        d,
        &[
            "update",
            "--cpus",
            "0.5",
            "--pids-limit",
            "50",
            "--restart",
            "on-failure:2",
            &n,
        ],
    );
    assert_eq!(m, k);
    let f = "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}";
    let (m, _) = both_ok(d, &["inspect", "-f", f, &n]);
    assert_eq!(m.trim(), "500000000 50 on-failure");

    let (m, k) = both(d, &["update", "--memory", "1k", &n]);
    assert_eq!(m.status.code(), k.status.code());
    assert!(
        stderr(&m).contains("Minimum memory limit allowed is 6MB"),
        "{}",
        stderr(&m)
    );
    assert!(
        stderr(&k).contains("Minimum memory limit allowed is 6MB"),
        "{}",
        stderr(&k)
    );
    let (m, k) = both(d, &["update", &n]);
    assert!(!m.status.success() && !k.status.success());
    assert!(
        stderr(&m).contains("You must provide one or more flags"),
        "{}",
        stderr(&m)
    );
    let (m, k) = both(d, &["stats", "--no-stream", "muelletest-nosuch"]);
    assert_eq!(m.status.code(), k.status.code());
    assert!(
        stderr(&m).contains("No such container: muelletest-nosuch"),
        "{}",
        stderr(&m)
    );
}
