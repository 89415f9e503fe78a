//! `system df` and the prune reports.

use super::*;

pub(crate) fn system_df_and_prune_report(d: &Daemon) {
    let (m, k) = both_ok(d, &["system", "df"]);
    if shared(d) {
        // The SIZE column is as wide as its widest value, which other tests change
        // meanwhile: the same columns, spacing aside.
        let columns = |s: &str| -> Vec<String> {
            let header = s.lines().next().unwrap_or("");
            header.split_whitespace().map(str::to_owned).collect()
        };
        assert_eq!(columns(&m), columns(&k));
    } else {
        assert_eq!(m.lines().next(), k.lines().next());
    }
    assert_eq!(m.lines().count(), 5);
    let (m, k) = both_ok(
        d,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.Size}} {{.Reclaimable}}",
        ],
    );
    if shared(d) {
        // Other tests create and remove images and containers in the shared dockerd between
        // the two calls, so sizes and shares may differ: the rows and their format must not.
        let shape = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    let n = f.len();
                    assert!(n >= 3, "{l}");
                    let size = |v: &str| {
                        assert!(
                            v.ends_with('B')
                                && v[..v.len() - 1]
                                    .trim_end_matches(char::is_alphabetic)
                                    .parse::<f64>()
                                    .is_ok(),
                            "not a size: {v:?} in {l:?}"
                        );
                    };
                    // "Images 1.986MB 0B (0%)": the share is a separate word.
                    let reclaim_at = if f[n - 1].starts_with('(') {
                        n - 2
                    } else {
                        n - 1
                    };
                    size(f[reclaim_at]);
                    size(f[reclaim_at - 1]);
                    f[..reclaim_at - 1].join(" ")
                })
                .collect()
        };
        assert_eq!(shape(&m), shape(&k));
    } else {
        // A private muelled only has what this test did: the image row is the same.
        assert_eq!(m.lines().next(), k.lines().next());
        // container prune with a filter nothing matches: docker's report with nothing
        // deleted. Never against the shared dockerd, where other tests' containers live.
        let (m, k) = both_ok(
            d,
            &[
                "container",
                "prune",
                "-f",
                "--filter",
                "label=muelletest-nothing-has-this",
            ],
        );
        assert_eq!(m, k);
        assert_eq!(m, "Total reclaimed space: 0B\n");
    }
}
