//! muelle's builder core, what `docker build` needs before anything runs: the Dockerfile
//! parser (`dockerfile`: directives, continuations, heredocs, exec and shell forms, variable
//! substitution), the build context (`context`: .dockerignore, the context tar on both
//! sides, COPY/ADD source selection with the content hashes the cache keys on, the tar a
//! COPY extracts, ADD of URLs), and `dispatch`: how each instruction changes a stage's
//! image config and history, and what the executor must do for it.
//!
//! It must not touch containers, the engine, tokio or HTTP: the engine's `builds` module
//! runs the steps (containers for RUN, snapshots and commits for everything). Everything
//! here works on untrusted input (Dockerfiles, context tars, build args) and answers a bad
//! one with a typed error naming what is wrong.

#![forbid(unsafe_code)]

pub mod context;
pub mod dispatch;
pub mod dockerfile;
