//! Stages and what only one peer has: `--target` (the stages it does not need are skipped:
//! compared with dockerd's BuildKit, since the legacy builder runs them all), `COPY
//! --chmod` (BuildKit's in dockerd 20.10), and heredocs (`RUN <<EOT`, `COPY <<EOT`), which
//! no builder here parses without a frontend image: those are checked against what the
//! Dockerfile reference says.

use crate::corpus::context;
use crate::side::{Side, Via};
use crate::snapshot::{filesystem, now};

/// corpus/target with `--target wanted`: the image's filesystem and the config's Cmd.
pub fn target(side: &Side, via: Via) -> Vec<String> {
    let ctx = context("target");
    let tag = side.tag("target");
    let started = now();
    let r = side.build_ok(via, ctx.path(), &["--target", "wanted", "-t", &tag]);
    assert!(
        !format!("{}{}", r.out, r.err).contains("this stage must be skipped\n"),
        "{}: the unneeded stage ran",
        side.what()
    );
    let mut fs = filesystem(side, &tag, started);
    assert!(fs.iter().any(|l| l.starts_with("wanted ")), "{fs:?}");
    assert!(fs.iter().any(|l| l.starts_with("base ")), "{fs:?}");
    fs.push(format!(
        "Cmd: {}",
        side.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", &tag])
            .trim()
    ));
    fs
}

/// The legacy builder (dockerd 20.10) builds every stage before the target: the one whose
/// RUN fails stops it. What muelle does instead is BuildKit's.
pub fn legacy_runs_unneeded_stages(side: &Side) {
    let ctx = context("target");
    let tag = side.tag("target");
    let r = side.build(Via::Legacy, ctx.path(), &["--target", "wanted", "-t", &tag]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.err.contains("returned a non-zero code: 3"), "{r:?}");
}

/// corpus/chmod: the filesystem and what `ls -ln` saw in the image's last RUN.
pub fn chmod(side: &Side, via: Via) -> Vec<String> {
    let ctx = context("chmod");
    let tag = side.tag("chmod");
    let started = now();
    side.build_ok(via, ctx.path(), &["-t", &tag]);
    let mut fs = filesystem(side, &tag, started);
    assert!(
        fs.iter().any(|l| l.starts_with("f600 0600 0:0 file")),
        "{fs:?}"
    );
    assert!(
        fs.iter().any(|l| l.starts_with("d755/g.txt 0755 1:1 file")),
        "{fs:?}"
    );
    let listing = side.ok(&[
        "run",
        "--rm",
        "--pull=never",
        "--network",
        "none",
        &tag,
        "cat",
        "/listing",
    ]);
    fs.extend(listing.lines().map(|l| {
        l.split_whitespace()
            .filter(|w| !w.contains(':'))
            .collect::<Vec<_>>()
            .join(" ")
    }));
    fs
}

/// corpus/heredoc: the files its heredocs made, as the reference says.
pub fn heredocs(side: &Side, via: Via) {
    let ctx = context("heredoc");
    let tag = side.tag("heredoc");
    side.build_ok(via, ctx.path(), &["-t", &tag]);
    let cat = |p: &str| {
        side.ok(&[
            "run",
            "--rm",
            "--pull=never",
            "--network",
            "none",
            &tag,
            "cat",
            p,
        ])
    };
    assert_eq!(cat("/greeting"), "hello world\nsecond line\n");
    assert_eq!(cat("/stripped"), "tab-stripped\n");
    assert_eq!(cat("/copied.txt"), "literal world\n");
    assert_eq!(cat("/quoted.txt"), "not expanded ${WHO}\n");
    let mode = side.ok(&[
        "run",
        "--rm",
        "--pull=never",
        "--network",
        "none",
        &tag,
        "stat",
        "-c",
        "%a %u:%g",
        "/copied.txt",
    ]);
    assert_eq!(mode.trim(), "644 0:0");
}

/// A heredoc whose terminator never comes: refused by both clients, saying so,
/// nothing tagged or left behind.
pub fn unterminated_heredoc(side: &Side) {
    for via in [Via::Legacy, Via::Muelle] {
        let ctx = tempfile::Builder::new()
            .prefix("muelle-build-bad-")
            .tempdir_in("/var/tmp")
            .unwrap();
        std::fs::write(
            ctx.path().join("Dockerfile"),
            "FROM busybox:latest\nRUN <<EOT\necho never terminated\n",
        )
        .unwrap();
        let tag = side.tag("heredoc-bad");
        let r = side.build(via, ctx.path(), &["-t", &tag]);
        assert_ne!(r.code, 0, "{via:?}: {r:?}");
        let all = format!("{}{}", r.out, r.err).to_ascii_lowercase();
        assert!(
            all.contains("heredoc") && all.contains("eot"),
            "{via:?}: {r:?}"
        );
        assert_ne!(
            side.docker(&["image", "inspect", &tag]).code,
            0,
            "{via:?}: tagged"
        );
        crate::errors::nothing_left(side);
    }
}
