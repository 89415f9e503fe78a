//! The builder end to end: the corpus (corpus/<case>/) built by dockerd 20.10's legacy
//! builder (`DOCKER_BUILDKIT=0 docker build`, docker CLI 28) and by a private muelled
//! through the same CLI and through `muelle build`, compared by image config (field by
//! field), history and filesystem content; the layer cache (what a rebuild, a changed file,
//! an unrelated change and a changed build arg rebuild); bad input; `--target` and skipped
//! stages; and the two clients no one here wrote, docker-py and docker-compose.
//!
//! Naming as elsewhere: `..._needs_dockerd` compares with the shared dockerd;
//! `on_dockerd_needs_dockerd` runs a scenario on dockerd alone (the scenario itself is
//! right there). Nothing is pulled; every image a test tags has a name of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod cache;
mod clients;
mod corpus;
mod errors;
mod progress;
mod side;
mod snapshot;
mod stages;

use side::Via;

macro_rules! corpus {
    // `case => "dir" [#[attr]...]`: the attributes go on the muelle CLI's test alone.
    ($($m:ident => $case:literal $([$(#[$a:meta])*])?),* $(,)?) => {
        $(
            mod $m {
                use crate::side::Via;

                #[test]
                fn on_dockerd_needs_dockerd() {
                    crate::corpus::on_dockerd($case);
                }

                #[test]
                fn docker_cli_on_muelled_needs_dockerd() {
                    crate::corpus::compared($case, Via::Legacy);
                }

                $($(#[$a])*)?
                #[test]
                fn muelle_cli_on_muelled_needs_dockerd() {
                    crate::corpus::compared($case, Via::Muelle);
                }
            }
        )*
    };
}

corpus! {
    corpus_instructions => "instructions",
    corpus_copy => "copy",
    corpus_multistage => "multistage",
    corpus_onbuild => "onbuild-child",
    corpus_c_program => "c-program",
    corpus_debian_steps => "debian-steps",
}

/// The legacy stream's step lines, the same on both daemons (a case with ARGs before FROM).
#[test]
fn steps_announced_docker_cli_on_muelled_needs_dockerd() {
    corpus::steps_announced("instructions");
}

/// The legacy builder's bookkeeping in the image config (the parent image, the last step's
/// container and its config, the daemon version), apart from the corpus comparison: a
/// busybox-based and a scratch-based result.
#[test]
fn bookkeeping_copy_docker_cli_on_muelled_needs_dockerd() {
    corpus::bookkeeping("copy", Via::Legacy);
}

#[test]
fn bookkeeping_multistage_docker_cli_on_muelled_needs_dockerd() {
    corpus::bookkeeping("multistage", Via::Legacy);
}

/// The cache scenarios (cache.rs), each on dockerd alone and compared.
macro_rules! cached {
    ($($s:ident),* $(,)?) => {
        $(
            mod $s {
                use crate::side::{Side, Via};

                #[test]
                fn on_dockerd_needs_dockerd() {
                    let seen = crate::cache::$s(&Side::dockerd(), Via::Legacy);
                    println!("{seen:#?}");
                }

                #[test]
                fn docker_cli_on_muelled_needs_dockerd() {
                    let want = crate::cache::$s(&Side::dockerd(), Via::Legacy);
                    let ours = Side::muelled();
                    let got = crate::cache::$s(&ours, Via::Legacy);
                    assert_eq!(got, want, "muelled (left) vs dockerd (right)\n{}", ours.log());
                }

                #[test]
                fn muelle_cli_on_muelled_needs_dockerd() {
                    // BuildKit-style progress shows the steps that make a layer (RUN, COPY,
                    // ADD); the others are compared through the docker CLI above.
                    let layers = |v: Vec<String>| -> Vec<String> {
                        v.into_iter()
                            .filter(|l| !crate::progress::is_meta(l))
                            .collect()
                    };
                    let want = layers(crate::cache::$s(&Side::dockerd(), Via::Legacy));
                    let ours = Side::muelled();
                    let got = layers(crate::cache::$s(&ours, Via::Muelle));
                    assert_eq!(got, want, "muelle build (left) vs dockerd (right)\n{}", ours.log());
                }
            }
        )*
    };
}

cached! {
    cache_rebuild_is_all_cached,
    cache_changed_copy_rebuilds_from_it,
    cache_unrelated_change_rebuilds_nothing,
    cache_changed_build_arg_rebuilds_its_step_on,
    cache_no_cache_rebuilds_all,
}

/// Bad input (errors.rs): each scenario on dockerd, and muelled through the docker CLI must
/// answer the same (message, no image, nothing left behind).
macro_rules! refused {
    ($($s:ident),* $(,)?) => {
        $(
            mod $s {
                use crate::side::{Side, Via};

                #[test]
                fn on_dockerd_needs_dockerd() {
                    let seen = crate::errors::$s(&Side::dockerd(), Via::Legacy);
                    println!("{seen:#?}");
                }

                #[test]
                fn docker_cli_on_muelled_needs_dockerd() {
                    let want = crate::errors::$s(&Side::dockerd(), Via::Legacy);
                    let ours = Side::muelled();
                    let got = crate::errors::$s(&ours, Via::Legacy);
                    assert_eq!(got, want, "muelled (left) vs dockerd (right)\n{}", ours.log());
                    crate::errors::nothing_left(&ours);
                }

                #[test]
                fn muelle_cli_on_muelled_needs_dockerd() {
                    let want = crate::errors::$s(&Side::dockerd(), Via::Legacy);
                    let ours = Side::muelled();
                    let got = crate::errors::$s(&ours, Via::Muelle);
                    assert_eq!(got.failed, want.failed, "{}", ours.log());
                    for w in &want.says {
                        assert!(
                            got.output.contains(w.as_str()),
                            "muelle build should say {w:?}: {}\n{}",
                            got.output,
                            ours.log()
                        );
                    }
                    crate::errors::nothing_left(&ours);
                }
            }
        )*
    };
}

refused! {
    bad_unknown_instruction,
    bad_copy_outside_context,
    bad_failing_run,
    bad_missing_base_image,
}

/// `--target` skips the stages the target does not need: compared with dockerd's BuildKit
/// (the legacy builder builds every stage before the target, and fails on the one that
/// must be skipped: `target_legacy_builds_every_stage_on_dockerd_needs_dockerd` shows it).
#[test]
fn target_legacy_builds_every_stage_on_dockerd_needs_dockerd() {
    stages::legacy_runs_unneeded_stages(&side::Side::dockerd());
}

#[test]
fn target_on_dockerd_buildkit_needs_dockerd() {
    let s = side::Side::dockerd();
    println!("{:?}", stages::target(&s, Via::BuildKit));
}

#[test]
fn target_docker_cli_on_muelled_needs_dockerd() {
    let want = stages::target(&side::Side::dockerd(), Via::BuildKit);
    let ours = side::Side::muelled();
    let got = stages::target(&ours, Via::Legacy);
    snapshot::assert_same_lines("--target", &got, &want, &ours.log());
}

#[test]
fn target_muelle_cli_on_muelled_needs_dockerd() {
    let want = stages::target(&side::Side::dockerd(), Via::BuildKit);
    let ours = side::Side::muelled();
    let got = stages::target(&ours, Via::Muelle);
    snapshot::assert_same_lines("--target", &got, &want, &ours.log());
}

/// `COPY --chmod` (BuildKit's in dockerd 20.10; the legacy builder refuses it): the
/// filesystem and config compared with dockerd's BuildKit.
#[test]
fn chmod_on_dockerd_buildkit_needs_dockerd() {
    let s = side::Side::dockerd();
    println!("{:#?}", stages::chmod(&s, Via::BuildKit));
}

#[test]
fn chmod_docker_cli_on_muelled_needs_dockerd() {
    let want = stages::chmod(&side::Side::dockerd(), Via::BuildKit);
    let ours = side::Side::muelled();
    let got = stages::chmod(&ours, Via::Legacy);
    snapshot::assert_same_lines("--chmod", &got, &want, &ours.log());
}

#[test]
fn chmod_muelle_cli_on_muelled_needs_dockerd() {
    let want = stages::chmod(&side::Side::dockerd(), Via::BuildKit);
    let ours = side::Side::muelled();
    let got = stages::chmod(&ours, Via::Muelle);
    snapshot::assert_same_lines("--chmod", &got, &want, &ours.log());
}

/// Heredocs: no peer here parses them (dockerd 20.10's builders need a `# syntax=` frontend
/// image from a registry), so the expectations are the Dockerfile reference's, written down.
#[test]
fn heredocs_docker_cli_on_muelled_needs_dockerd() {
    stages::heredocs(&side::Side::muelled(), Via::Legacy);
}

#[test]
fn heredocs_muelle_cli_on_muelled_needs_dockerd() {
    stages::heredocs(&side::Side::muelled(), Via::Muelle);
}

#[test]
fn unterminated_heredoc_is_refused_needs_dockerd() {
    stages::unterminated_heredoc(&side::Side::muelled());
}

#[test]
fn dockerpy_build_on_dockerd_needs_dockerd_dockerpy() {
    println!("{}", clients::dockerpy_build(&side::Side::dockerd()));
}

#[test]
fn dockerpy_build_muelled_as_dockerd_needs_dockerd_dockerpy() {
    let want = clients::dockerpy_build(&side::Side::dockerd());
    let ours = side::Side::muelled();
    let got = clients::dockerpy_build(&ours);
    assert_eq!(
        got,
        want,
        "muelled (left) vs dockerd (right)\n{}",
        ours.log()
    );
}

#[test]
fn compose_build_on_dockerd_needs_dockerd_compose() {
    println!("{}", clients::compose_build(&side::Side::dockerd()));
}

#[test]
fn compose_build_muelled_as_dockerd_needs_dockerd_compose() {
    let want = clients::compose_build(&side::Side::dockerd());
    let ours = side::Side::muelled();
    let got = clients::compose_build(&ours);
    assert_eq!(
        got,
        want,
        "muelled (left) vs dockerd (right)\n{}",
        ours.log()
    );
}

/// The harness itself, without the builder: the base images (dockerd's busybox and the
/// Debian base, loaded into muelled from dockerd's `docker save`) snapshot the same on both
/// sides, so any difference the corpus tests show comes from the builds.
#[test]
fn base_images_snapshot_the_same_needs_dockerd() {
    let theirs = side::Side::dockerd();
    let ours = side::Side::muelled();
    theirs.with_debian();
    ours.with_debian();
    for image in ["busybox:latest", side::DEBIAN] {
        // No build: every file's mtime is compared.
        let t = i64::MAX / 2;
        let want = snapshot::snapshot(&theirs, image, t);
        let got = snapshot::snapshot(&ours, image, t);
        let log = ours.log();
        snapshot::assert_same_lines(
            &format!("{image}: config"),
            &snapshot::config_lines(&got.config),
            &snapshot::config_lines(&want.config),
            &log,
        );
        snapshot::assert_same_lines(&format!("{image}: filesystem"), &got.fs, &want.fs, &log);
        assert!(want.fs.len() > 100, "{image}: {} entries", want.fs.len());
    }
}
