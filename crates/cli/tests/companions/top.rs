//! `top CONTAINER [ps OPTIONS]`: the daemon runs the host's ps with the options and keeps the
//! container's processes; the same columns and commands from dockerd and muelled, through
//! muelle and the docker CLI; ps options the daemon refuses, and ps's own errors, as dockerd
//! words them.

use super::*;

/// Cells of each line, split on runs of spaces (the table pads to 20 columns).
fn table(s: &str) -> Vec<Vec<String>> {
    s.lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

pub(crate) fn top_with_ps_options(d: &Daemon) {
    let name = format!("muelletest-top-{}", muelle_test_support::proc::unique());
    let _rm = Removal::new(d, &name);
    ok(
        docker(
            d,
            &[
                "run",
                "-d",
                NONET,
                "--name",
                &name,
                "busybox",
                "sh",
                "-c",
                "sleep 100 & sleep 101",
            ],
        ),
        "run",
    );
    let cases: &[(&[&str], &[&str], usize)] = &[
        (
            &[],
            &["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            7,
        ),
        (&["-o", "pid,comm"], &["PID", "COMMAND"], 1),
        (
            &["aux"],
            &[
                "USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME",
                "COMMAND",
            ],
            10,
        ),
        (&["-L", "-o", "pid,lwp,comm"], &["PID", "LWP", "COMMAND"], 2),
        (&["axf"], &["PID", "TTY", "STAT", "TIME", "COMMAND"], 4),
    ];
    for (opts, titles, cmd_col) in cases {
        for bin in [MUELLE, DOCKER] {
            let mut args = vec!["top", name.as_str()];
            args.extend(opts.iter());
            let out = run(std::process::Command::new(bin)
                .args(["-H", &d.host])
                .args(&args));
            let t = table(&ok(out, &format!("{bin} {args:?}")));
            assert_eq!(t[0], *titles, "{bin} {args:?}");
            let mut cmds: Vec<&str> = t[1..].iter().map(|r| r[*cmd_col].as_str()).collect();
            cmds.sort_unstable();
            let want: &[&str] = if opts.iter().any(|o| o.contains("comm")) {
                &["sleep", "sleep"]
            } else if opts.contains(&"axf") {
                &["\\_ sleep 100", "\\_ sleep 101"]
            } else {
                &["sleep 100", "sleep 101"]
            };
            assert_eq!(cmds, want, "{bin} {args:?}: {t:?}");
        }
    }
    for (opts, message) in [
        (
            &["-o", "uid=PID"][..],
            "Error response from daemon: specifying \"uid=PID\" is not allowed",
        ),
        (
            &["--bogus"],
            "Error response from daemon: ps: error: unknown gnu long option",
        ),
    ] {
        let mut args = vec!["top", name.as_str()];
        args.extend(opts.iter());
        let out = muelle(d, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    ok(docker(d, &["stop", "-t", "0", &name]), "stop");
    let out = muelle(d, &["top", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not running"),
        "{}",
        text(&out.stderr)
    );
}
