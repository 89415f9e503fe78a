//! How each Dockerfile instruction changes a stage, as dockerd 20.10's legacy builder
//! (`DOCKER_BUILDKIT=0`) does it: the image config (`ContainerConfig`), the history entry's
//! `created_by`, the author, and what the executor must do (`Step`). Pure: no files, no
//! containers.
//!
//! The executor starts a stage with `resolve_from` (FROM's reference with the `meta_args`)
//! and `StageState::new` on the base image's config, dispatches `onbuild_triggers` of the
//! base, then each instruction; `unused` lists the build args nobody declared.
//!
//! Files: `state` (the stage, `Step`, dispatch), `args` (build/meta args, their scoping),
//! `config` (ENV ARG LABEL USER WORKDIR VOLUME STOPSIGNAL SHELL CMD ENTRYPOINT MAINTAINER
//! ONBUILD), `ports` (EXPOSE), `health` (HEALTHCHECK), `run` and `mounts` (RUN and its
//! `--mount`s), `copy` (COPY/ADD), `onbuild` (the base's triggers), `history` and `gofmt`
//! (dockerd's spellings), `expand` (variable substitution), `check` (dockerd's parse-time refusals), `error`.

mod args;
mod check;
mod config;
mod copy;
mod error;
mod expand;
mod gofmt;
mod health;
mod history;
mod mounts;
mod onbuild;
mod ports;
mod run;
mod state;

#[cfg(test)]
mod tests;

pub use args::{meta_args, resolve_from, BuildArgs, PREDEFINED_ARGS};
pub use check::precheck;
pub use error::DispatchError;
pub use mounts::RunMount;
pub use onbuild::onbuild_triggers;
pub use state::{StageState, Step, DEFAULT_PATH};
