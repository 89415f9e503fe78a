//! The layer cache, on corpus/cache (ENV, COPY app.txt, RUN, COPY other.txt, ARG FLAVOUR,
//! RUN using it, RUN): which steps a second build takes from the cache after nothing, one
//! copied file, an unrelated file or the build arg changed, and with `--no-cache`. Each
//! scenario answers the second build's pattern (`COPY: cached`, `RUN: built`, ... for the
//! steps after FROM), which must be the same on dockerd and muelled. The copied files get
//! contents of the test's own first, so that no earlier build on the shared dockerd answers
//! the first build from its cache.

use std::path::Path;

use crate::corpus::own_cache_context;
use crate::progress::{cache_pattern, legacy_steps, muelle_steps};
use crate::side::{Side, Via};
use crate::support::both::unique;

/// The cache pattern of one build's output.
fn pattern(via: Via, out: &str, err: &str) -> Vec<String> {
    let steps = match via {
        Via::Muelle => muelle_steps(&format!("{out}\n{err}")),
        _ => legacy_steps(out),
    };
    assert!(!steps.is_empty(), "no steps seen in:\n{out}\n{err}");
    cache_pattern(&steps)
}

/// A fresh context of the cache case, its copied files made unique, and a first build.
fn first_build(side: &Side, via: Via, args: &[&str]) -> (tempfile::TempDir, String) {
    let (ctx, _) = own_cache_context();
    let u = unique("cache");
    for f in ["app.txt", "other.txt", "unrelated.txt"] {
        std::fs::write(ctx.path().join(f), format!("{f} {u}\n")).unwrap();
    }
    let tag = side.tag("cache");
    let mut a = vec!["-t", tag.as_str()];
    a.extend_from_slice(args);
    side.build_ok(via, ctx.path(), &a);
    (ctx, tag)
}

fn again(side: &Side, via: Via, ctx: &Path, tag: &str, args: &[&str]) -> Vec<String> {
    let mut a = vec!["-t", tag];
    a.extend_from_slice(args);
    let r = side.build_ok(via, ctx, &a);
    pattern(via, &r.out, &r.err)
}

pub fn cache_rebuild_is_all_cached(side: &Side, via: Via) -> Vec<String> {
    let (ctx, tag) = first_build(side, via, &[]);
    let p = again(side, via, ctx.path(), &tag, &[]);
    assert!(
        p.iter().all(|l| l.ends_with("cached")),
        "{}: a rebuild of the same context should be all cached: {p:?}",
        side.what()
    );
    p
}

pub fn cache_changed_copy_rebuilds_from_it(side: &Side, via: Via) -> Vec<String> {
    let (ctx, tag) = first_build(side, via, &[]);
    std::fs::write(
        ctx.path().join("other.txt"),
        format!("changed {}\n", unique("o")),
    )
    .unwrap();
    again(side, via, ctx.path(), &tag, &[])
}

pub fn cache_unrelated_change_rebuilds_nothing(side: &Side, via: Via) -> Vec<String> {
    let (ctx, tag) = first_build(side, via, &[]);
    std::fs::write(
        ctx.path().join("unrelated.txt"),
        format!("changed {}\n", unique("u")),
    )
    .unwrap();
    std::fs::write(ctx.path().join("new-file.txt"), "new\n").unwrap();
    let p = again(side, via, ctx.path(), &tag, &[]);
    assert!(
        p.iter().all(|l| l.ends_with("cached")),
        "{}: files no step copies changed nothing: {p:?}",
        side.what()
    );
    p
}

pub fn cache_changed_build_arg_rebuilds_its_step_on(side: &Side, via: Via) -> Vec<String> {
    let (ctx, tag) = first_build(side, via, &["--build-arg", "FLAVOUR=first"]);
    let mut p = again(
        side,
        via,
        ctx.path(),
        &tag,
        &["--build-arg", "FLAVOUR=second"],
    );
    let img = side.ok(&["run", "--rm", "--pull=never", "--network", "none", &tag]);
    p.push(format!("ran: {}", img.trim()));
    p
}

pub fn cache_no_cache_rebuilds_all(side: &Side, via: Via) -> Vec<String> {
    let (ctx, tag) = first_build(side, via, &[]);
    let p = again(side, via, ctx.path(), &tag, &["--no-cache"]);
    assert!(
        p.iter().all(|l| l.ends_with("built")),
        "{}: --no-cache takes nothing from the cache: {p:?}",
        side.what()
    );
    p
}
