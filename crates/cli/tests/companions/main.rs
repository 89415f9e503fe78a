//! The CLI's everyday companions beside docker 28's CLI (/usr/local/bin/docker): usage errors
//! for flags a command does not know, shell completion, contexts shared with the docker CLI's
//! own store, `top` with ps options, and the run/create flags that end in the container's
//! /etc files or in the API body. Daemon checks run against dockerd and a private muelled
//! through the `against!` harness; the others need no daemon.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Until the daemon checks of this binary use `against!`.
#[allow(unused_macros, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod completion;
mod context;
mod usage;

use common::*;

/// The docker CLI 28 (the 20.10 one at /usr/bin/docker predates contexts' JSON format and
/// words usage errors otherwise).
pub const DOCKER28: &str = "/usr/local/bin/docker";

pub fn require_docker28() {
    assert!(
        std::path::Path::new(DOCKER28).exists(),
        "{DOCKER28} (the docker CLI 28) is not installed"
    );
}
