//! The corpus (corpus/<case>/: a Dockerfile and its context) built on each side and
//! compared: the image config field by field and the filesystem entry by entry, after the
//! masking of snapshot.rs. Each case also states a few facts of its own (what the Dockerfile
//! reference says the image holds), checked on whichever side built it, so that a case that
//! builds the wrong thing on both sides still fails.

use std::path::Path;

use crate::progress::legacy_steps;
use crate::side::{Side, Via, DEBIAN};
use crate::snapshot::{config_lines, diff_lines, now, snapshot, tail, Snapshot};
use muelle_test_support::proc::run_cmd;

/// A private copy of corpus/<case> (modes and symlinks kept): both sides build the same
/// files with the same mtimes, and a test may change them.
pub fn context(case: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/build/corpus")
        .join(case);
    assert!(src.is_dir(), "no corpus case {}", src.display());
    let dir = tempfile::Builder::new()
        .prefix("muelle-build-ctx-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let mut c = std::process::Command::new("cp");
    c.arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path());
    run_cmd(c, std::time::Duration::from_secs(60)).ok();
    dir
}

/// corpus/cache with its first step (`ENV STAGE=cache`) made the test's own, and that
/// token, which outputs print and callers mask: tests building it at once on the shared
/// dockerd would otherwise share the first step's image, which one test's clean-up can
/// remove while another builds on it.
pub fn own_cache_context() -> (tempfile::TempDir, String) {
    let ctx = context("cache");
    let token = crate::support::both::unique("stage").replace('-', "x");
    let file = ctx.path().join("Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("ENV STAGE=cache\n"),
        "corpus/cache changed: {text}"
    );
    std::fs::write(
        &file,
        text.replace("ENV STAGE=cache\n", &format!("ENV STAGE={token}\n")),
    )
    .unwrap();
    (ctx, token)
}

/// What one side built for a case: the snapshot of its image and the build's output.
pub struct Built {
    pub image: String,
    pub snap: Snapshot,
    pub out: String,
    /// What running the image printed, for the cases whose result is a program.
    pub ran: Option<String>,
}

/// Builds `case` from `ctx` on `side` with `via` and snapshots the result. The ONBUILD child
/// builds its base first (from corpus/onbuild-base); the Debian cases load the Debian base.
pub fn build_case(side: &Side, via: Via, case: &str, ctx: &Path) -> Built {
    let started = now();
    let image = side.tag(case);
    let mut args: Vec<String> = vec!["-t".into(), image.clone()];
    // The shared dockerd may hold an earlier run's steps in its cache, whose files carry
    // that run's times; a private muelled starts empty.
    let fresh: &[&str] = if side.is_muelled() {
        &[]
    } else {
        &["--no-cache"]
    };
    args.extend(fresh.iter().map(|a| a.to_string()));
    match case {
        "instructions" => args.extend(["--build-arg".into(), "FROM_CLI=given".into()]),
        "onbuild-child" => {
            let base_ctx = context("onbuild-base");
            let base = side.tag("onbuild-base");
            let mut a = vec!["-t", base.as_str()];
            a.extend_from_slice(fresh);
            side.build_ok(via, base_ctx.path(), &a);
            args.extend(["--build-arg".into(), format!("BASE={base}")]);
        }
        "c-program" | "debian-steps" => {
            side.with_debian();
            args.extend(["--build-arg".into(), format!("DEBIAN={DEBIAN}")]);
        }
        _ => {}
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = side.build_ok(via, ctx, &a);
    let snap = snapshot(side, &image, started);
    let ran = match case {
        "c-program" | "multistage" | "debian-steps" => {
            let mut run = vec!["run", "--rm", "--pull=never", "--network", "none", &image];
            if case == "c-program" {
                run.extend(["one", "two"]);
            }
            Some(side.ok(&run))
        }
        _ => None,
    };
    Built {
        image,
        snap,
        out: r.out,
        ran,
    }
}

/// The facts of a case, checked on one side's result: lines (or parts of lines) its
/// filesystem listing must have, paths it must not have, and files' contents.
pub fn check_facts(side: &Side, case: &str, b: &Built) {
    let has = |needle: &str| {
        assert!(
            b.snap.fs.iter().any(|l| l.contains(needle)),
            "{} {case}: no entry like {needle:?} in\n{}",
            side.what(),
            b.snap.fs.join("\n")
        );
    };
    let lacks = |path: &str| {
        assert!(
            !b.snap.fs.iter().any(|l| l.starts_with(&format!("{path} "))),
            "{} {case}: {path} should not be there",
            side.what()
        );
    };
    let cat = |path: &str| -> String {
        if case == "multistage" || case == "c-program" {
            return String::new();
        }
        side.ok(&[
            "run",
            "--rm",
            "--pull=never",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            &b.image,
            path,
        ])
    };
    let cfg = &b.snap.config["config"];
    match case {
        "instructions" => {
            assert_eq!(cat("/where"), "/srv/app/sub\n");
            assert_eq!(
                cat("/env.txt"),
                "1|two words|hello-world|given||hello|given\n"
            );
            assert_eq!(cat("/exec.txt"), "exec form\n");
            assert_eq!(cat("/shell.txt"), "shell changed: /bin/sh\n");
            assert!(cat("/tmp/id-as-nobody.txt").starts_with("uid=65534(nobody)"));
            assert!(cat("/tmp/id-numeric.txt").starts_with("uid=1(daemon) gid=1(daemon)"));
            assert_eq!(cfg["WorkingDir"], "/srv/app/sub");
            assert_eq!(cfg["User"], "root");
            assert_eq!(cfg["StopSignal"], "SIGUSR1");
            assert_eq!(cfg["Labels"]["three"], "hello");
            assert_eq!(cfg["Healthcheck"]["Retries"], 4);
            assert_eq!(
                b.snap.config["author"],
                "muelle tests <tests@example.invalid>"
            );
            for v in ["/data", "/cache", "/json-volume"] {
                assert!(cfg["Volumes"].get(v).is_some(), "volume {v}: {cfg}");
            }
            for p in ["80/tcp", "443/tcp", "53/udp", "8080/tcp"] {
                assert!(cfg["ExposedPorts"].get(p).is_some(), "port {p}: {cfg}");
            }
        }
        "copy" => {
            has("one/a.txt 0644 0:0 file size=7");
            has("globbed/a.txt ");
            has("globbed/b.txt ");
            has("several/c.md ");
            has("dircontents/x ");
            has("dircontents/sub/y ");
            has("dircontents/link-to-x 0777 0:0 symlink -> x");
            has("dircontents2/.hidden ");
            has("renamed-y 0644 0:0 file");
            has("owned/numeric 0644 1234:5678 file");
            has("owned/byname 0755 65534:65534 dir");
            has("owned/byname/x 0644 65534:65534 file");
            has("owned/useronly 0644 1:1 file");
            has("extracted/inner.txt 0644 0:0 file size=11");
            has("extracted/nested/n.txt ");
            has("added.txt ");
            has("from-image/busybox 0755 0:0 file");
            has("all/c.md ");
            has("all/secret-keep ");
            has("all/Dockerfile ");
            has("all/.dockerignore ");
            has("all/data.tar.gz ");
            for p in [
                "dircontents/dir",
                "all/notes.md",
                "all/secret1",
                "all/ignored",
                "globbed/notes.md",
            ] {
                lacks(p);
            }
        }
        "multistage" => {
            has("out/artifact 0644 0:0 file size=13");
            has("out/alias 0777 0:0 symlink -> artifact");
            has("busybox 0755 0:0 file");
            assert_eq!(b.ran.as_deref(), Some("built\nsecond\n"));
            assert!(
                !b.snap.fs.iter().any(|l| l.starts_with("bin")),
                "scratch has no /bin"
            );
        }
        "onbuild-child" => {
            assert_eq!(cat("/seen"), "copied by a trigger\ntrigger ran\nyes\n");
            assert_eq!(cfg["Env"][1], "TRIGGERED=yes");
            assert!(cfg["OnBuild"].is_null() || cfg["OnBuild"] == serde_json::json!([]));
        }
        "c-program" => {
            assert_eq!(b.snap.fs.len(), 1, "only /hello: {:?}", b.snap.fs);
            has("hello 0755 0:0 file");
            assert_eq!(
                b.ran.as_deref(),
                Some("hello from a static C program (3 args)\n")
            );
        }
        "debian-steps" => {
            assert_eq!(b.ran.as_deref(), Some("app says: hello\n"));
            assert_eq!(cat("/opt/app/data.txt"), "line 1\nline two\nline 3\n");
            assert_eq!(cat("/home/daemon-home/made-by.txt"), "made by daemon\n");
            has("home/daemon-home/config.ini 0644 1:1 file");
            has("usr/local/bin/app 0777 0:0 symlink -> /opt/app/bin/app");
            lacks("etc/debian_chroot");
        }
        _ => {}
    }
}

/// The case on dockerd alone (legacy builder): it builds and its facts hold there.
pub fn on_dockerd(case: &str) {
    let ctx = context(case);
    let side = Side::dockerd();
    let b = build_case(&side, Via::Legacy, case, ctx.path());
    check_facts(&side, case, &b);
    println!("{}", config_lines(&b.snap.config).join("\n"));
    println!("{}", b.snap.fs.join("\n"));
}

/// The case on dockerd (legacy builder) and on a private muelled through `via`; the configs
/// and filesystems must match, and for the docker CLI the steps it announced too.
pub fn compared(case: &str, via: Via) {
    let ctx = context(case);
    let theirs = Side::dockerd();
    let want = build_case(&theirs, Via::Legacy, case, ctx.path());
    check_facts(&theirs, case, &want);
    let ours = Side::muelled();
    let got = build_case(&ours, via, case, ctx.path());
    // Both differences at once: a config difference alone hides what the files say.
    let diffs: Vec<String> = [
        diff_lines(
            &format!("{case}: image config"),
            &without_bookkeeping(config_lines(&got.snap.config)),
            &without_bookkeeping(config_lines(&want.snap.config)),
        ),
        diff_lines(&format!("{case}: filesystem"), &got.snap.fs, &want.snap.fs),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        diffs.is_empty(),
        "{}\nmuelled log (tail):\n{}",
        diffs.join("\n"),
        tail(&ours.log(), 80)
    );
    assert_eq!(got.ran, want.ran, "{case}: what the image ran");
    check_facts(&ours, case, &got);
    let left = ours.ok(&["ps", "-a", "-q"]);
    assert_eq!(
        left.trim(),
        "",
        "{case}: the build left containers on muelled"
    );
}

/// The fields of an image config that record how the legacy builder worked rather than
/// what the image is: the parent image (`config.Image`), the last step's container
/// (`container`, `container_config`) and the daemon's version. [`bookkeeping`] compares
/// them on their own.
const BOOKKEEPING: &[&str] = &[
    ".config.Image ",
    ".container ",
    ".container_config",
    ".docker_version ",
];

fn is_bookkeeping(line: &str) -> bool {
    BOOKKEEPING.iter().any(|p| {
        line.starts_with(p.trim_end()) && line[p.trim_end().len()..].starts_with([' ', '.', '['])
    })
}

fn without_bookkeeping(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().filter(|l| !is_bookkeeping(l)).collect()
}

/// The legacy builder's bookkeeping fields (see [`BOOKKEEPING`]) of `case` built on dockerd
/// and on muelled through `via`, compared (masked as the rest).
pub fn bookkeeping(case: &str, via: Via) {
    let ctx = context(case);
    let theirs = Side::dockerd();
    let want = build_case(&theirs, Via::Legacy, case, ctx.path());
    let ours = Side::muelled();
    let got = build_case(&ours, via, case, ctx.path());
    let pick = |b: &Built| -> Vec<String> {
        config_lines(&b.snap.config)
            .into_iter()
            .filter(|l| is_bookkeeping(l))
            .collect()
    };
    if let Some(d) = diff_lines(&format!("{case}: bookkeeping"), &pick(&got), &pick(&want)) {
        panic!("{d}\nmuelled log (tail):\n{}", tail(&ours.log(), 40));
    }
}

/// The steps the legacy stream announces (`Step N/M : TEXT`) for `case`, through the docker
/// CLI on dockerd and on muelled: the same texts, the same count (ARGs before the first
/// FROM are steps too).
pub fn steps_announced(case: &str) {
    let ctx = context(case);
    let want = build_case(&Side::dockerd(), Via::Legacy, case, ctx.path());
    let ours = Side::muelled();
    let got = build_case(&ours, Via::Legacy, case, ctx.path());
    let texts = |o: &str| -> Vec<String> {
        let steps = legacy_steps(o);
        let n = steps.len();
        steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| format!("Step {}/{n} : {}", i + 1, s.text))
            .collect()
    };
    if let Some(d) = diff_lines(
        &format!("{case}: the steps announced"),
        &texts(&got.out),
        &texts(&want.out),
    ) {
        panic!("{d}\nmuelled log (tail):\n{}", tail(&ours.log(), 40));
    }
}
