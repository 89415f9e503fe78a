//! Log options through both CLIs: a container rotated at a small `max-size` has its last
//! lines read back alike (`logs`, `--tail` reaching into a rotated file), and `--log-opt`
//! with the `none` driver is the docker CLI's own error before any request.

use super::*;

fn numbers(out: &str) -> Vec<u32> {
    out.lines()
        .map(|l| l.trim_start_matches("line-").parse().unwrap())
        .collect()
}

pub(crate) fn rotated_logs_read_alike(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("rotlogs");
    ok(
        muelle(
            d,
            &[
                "run",
                "-d",
                "--name",
                &n,
                NONET,
                "--log-opt",
                "max-size=1k",
                "--log-opt",
                "max-file=3",
                "busybox",
                "sh",
                "-c",
                "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done",
            ],
        ),
        "run -d",
    );
    let (m, k) = both_ok(d, &["wait", &n]);
    assert_eq!((m.as_str(), k.as_str()), ("0\n", "0\n"));
    let (m, k) = both_ok(d, &["logs", &n]);
    assert_eq!(m, k);
    let all = numbers(&m);
    assert_eq!(*all.last().unwrap(), 299, "{m}");
    // Three files of at most 1000 bytes (about 12 entries each) hold fewer than 300 lines.
    assert!(all.len() < 300, "{m}");
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "{m}");
    // More than the current file holds: muelled reads on into the rotated files; dockerd
    // 20.10 stops at the current file's start.
    let (m, k) = both_ok(d, &["logs", "--tail", "20", &n]);
    assert_eq!(m, k);
    let tail = numbers(&m);
    if shared(d) {
        assert!(all.ends_with(&tail), "{m}");
    } else {
        assert_eq!(tail, (280..300).collect::<Vec<_>>());
    }
    let (m, k) = both_ok(
        d,
        &[
            "inspect",
            "--format",
            "{{index .HostConfig.LogConfig.Config \"max-size\"}} {{index .HostConfig.LogConfig.Config \"max-file\"}}",
            &n,
        ],
    );
    assert_eq!((m.as_str(), k.as_str()), ("1k 3\n", "1k 3\n"));

    let args = [
        "run",
        "--rm",
        NONET,
        "--log-driver",
        "none",
        "--log-opt",
        "max-size=1k",
        "busybox",
        "true",
    ];
    let (m, k) = both(d, &args);
    assert_eq!((m.status.code(), k.status.code()), (Some(125), Some(125)));
    for o in [&m, &k] {
        assert!(
            text(&o.stderr).contains("invalid logging opts for driver none"),
            "{}",
            text(&o.stderr)
        );
    }
}
