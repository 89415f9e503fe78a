//! A container's filesystem: `diff`, `export`, `commit`.

use super::*;

pub(crate) fn diff_export_commit(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("dec");
    ok(
        muelle(
            d,
            &[
                "run",
                "--name",
                &n,
                NONET,
                "busybox",
                "sh",
                "-c",
                "echo marker > /marker; mkdir /newdir; rm /etc/hostname 2>/dev/null; true",
            ],
        ),
        "run",
    );
    let (m, k) = both_ok(d, &["diff", &n]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&m), sorted(&k));
    assert!(
        m.contains("A /marker\n") && m.contains("A /newdir\n"),
        "{m}"
    );

    let dir = tempfile::tempdir().unwrap();
    let tarf = dir.path().join("x.tar");
    ok(
        muelle(d, &["export", "-o", tarf.to_str().unwrap(), &n]),
        "export -o",
    );
    let listed = ok(run(Command::new("tar").arg("tf").arg(&tarf)), "tar t");
    assert!(listed.lines().any(|l| l == "marker"), "{listed}");
    assert!(listed.lines().any(|l| l == "bin/busybox"), "{listed}");
    let piped = muelle(d, &["export", &n]);
    assert!(piped.status.success());
    assert_eq!(
        piped.stdout.len() as u64,
        std::fs::metadata(&tarf).unwrap().len()
    );

    let image = format!("muelletest/commit-{}:v1", std::process::id());
    let _untag = Untag::new(d, &image);
    let id = ok(
        muelle(
            d,
            &[
                "commit",
                "-m",
                "a message",
                "-a",
                "someone",
                "-c",
                "CMD [\"cat\", \"/marker\"]",
                &n,
                &image,
            ],
        ),
        "commit",
    );
    assert!(id.starts_with("sha256:"), "{id}");
    let (m, k) = both_ok(
        d,
        &[
            "image",
            "inspect",
            "-f",
            "{{.Comment}}|{{.Author}}|{{.Config.Cmd}}",
            &image,
        ],
    );
    assert_eq!(m, "a message|someone|[cat /marker]\n");
    assert_eq!(m, k);
    let (m, k) = both_ok(d, &["run", "--rm", NONET, "--pull", "never", &image]);
    assert_eq!((m.as_str(), k.as_str()), ("marker\n", "marker\n"));
}
