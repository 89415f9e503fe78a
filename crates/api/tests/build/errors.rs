//! Bad input: an unknown instruction, COPY of a path outside the context, a RUN that fails
//! (its output and exit code shown), a base image that is nowhere (named on a loopback
//! port where no registry listens: nothing leaves the machine). Each answers an
//! [`Outcome`]: whether the build failed, the CLI's error line (IDs masked), the phrases
//! of the scenario it showed, and whether the tag exists afterwards. On muelled, nothing
//! may be left behind: no container, no untagged image (`nothing_left`).

use regex::Regex;

use crate::side::{Side, Via};
use crate::support::both::unique;

#[derive(Debug)]
pub struct Outcome {
    pub failed: bool,
    pub message: String,
    pub says: Vec<String>,
    pub tagged: bool,
    /// Everything printed (not compared: progress differs by client).
    pub output: String,
}

impl PartialEq for Outcome {
    fn eq(&self, o: &Outcome) -> bool {
        (self.failed, &self.message, &self.says, self.tagged)
            == (o.failed, &o.message, &o.says, o.tagged)
    }
}

/// Builds `dockerfile` (with `files` in the context) expecting failure; `phrases` are what
/// the output should show.
fn refused(
    side: &Side,
    via: Via,
    dockerfile: &str,
    files: &[(&str, &str)],
    phrases: &[&str],
) -> Outcome {
    let ctx = tempfile::Builder::new()
        .prefix("muelle-build-bad-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let inner = ctx.path().join("ctx");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(inner.join("Dockerfile"), dockerfile).unwrap();
    // A file beside the context, which `COPY ../outside.txt` must not reach.
    std::fs::write(ctx.path().join("outside.txt"), "outside\n").unwrap();
    for (name, text) in files {
        std::fs::write(inner.join(name), text).unwrap();
    }
    let tag = side.tag("bad");
    let r = side.build(via, &inner, &["-t", &tag]);
    let output = format!("{}\n{}", r.out, r.err);
    let ids = Regex::new(r"\b[0-9a-f]{12}\b").unwrap();
    let message = r
        .err
        .lines()
        .rev()
        .find(|l| {
            let l = l.trim();
            !l.is_empty()
                && !l.starts_with("DEPRECATED")
                && !l.starts_with("BuildKit is currently disabled")
                && !l.starts_with("environment-variable")
                && !l.starts_with("Install the buildx")
                && !l.starts_with("https://docs.docker.com")
        })
        .map(|l| ids.replace_all(l.trim(), "<id>").into_owned())
        .unwrap_or_default();
    let says = phrases
        .iter()
        .filter(|p| output.contains(*p))
        .map(|p| p.to_string())
        .collect();
    let tagged = side.docker(&["image", "inspect", &tag]).code == 0;
    Outcome {
        failed: r.code != 0,
        message,
        says,
        tagged,
        output,
    }
}

pub fn bad_unknown_instruction(side: &Side, via: Via) -> Outcome {
    let o = refused(
        side,
        via,
        "FROM busybox:latest\nRUN true\nFROBNICATE the thing\n",
        &[],
        &["unknown instruction", "FROBNICATE"],
    );
    assert!(o.failed && o.says.len() == 2, "{}: {o:#?}", side.what());
    o
}

pub fn bad_copy_outside_context(side: &Side, via: Via) -> Outcome {
    let o = refused(
        side,
        via,
        "FROM busybox:latest\nCOPY ../outside.txt /x\n",
        &[],
        &["outside the build context", "../outside.txt"],
    );
    assert!(o.failed && !o.says.is_empty(), "{}: {o:#?}", side.what());
    o
}

pub fn bad_failing_run(side: &Side, via: Via) -> Outcome {
    let o = refused(
        side,
        via,
        // The ENV value is the test's own: its image is no other test's to share (see
        // corpus::own_cache_context).
        &format!(
            "FROM busybox:latest\nENV X={}\n\
             RUN echo output-before-failure && echo to-stderr >&2 && exit 7\nRUN echo never\n",
            unique("x")
        ),
        &[],
        &["output-before-failure", "to-stderr", "non-zero code: 7"],
    );
    assert!(o.failed && !o.tagged, "{}: {o:#?}", side.what());
    assert!(
        !o.output.contains("\nnever"),
        "{}: the step after ran",
        side.what()
    );
    o
}

pub fn bad_missing_base_image(side: &Side, via: Via) -> Outcome {
    // 127.0.0.1:9 (discard) has no registry: the daemon's pull fails at once, on loopback.
    let image = format!("127.0.0.1:9/{}:latest", unique("muelle-no-such-image"));
    let o = refused(
        side,
        via,
        &format!("FROM {image}\nRUN true\n"),
        &[],
        &["muelle-no-such-image"],
    );
    assert!(o.failed && !o.tagged, "{}: {o:#?}", side.what());
    // The pull error's wording (the transport's) is not the builder's: the phrases are.
    Outcome {
        message: "<pull error>".into(),
        ..o
    }
}

/// A failed build on muelled left no container and no untagged image.
pub fn nothing_left(side: &Side) {
    let ps = side.ok(&["ps", "-a", "-q"]);
    assert_eq!(
        ps.trim(),
        "",
        "containers left:\n{}",
        side.ok(&["ps", "-a"])
    );
    let images = side.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        !images.lines().any(|l| l.contains("<none>")),
        "untagged images left:\n{images}"
    );
}
