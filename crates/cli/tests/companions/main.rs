//! The CLI's everyday companions beside docker 28's CLI (/usr/local/bin/docker): usage errors
//! for flags a command does not know, shell completion, contexts shared with the docker CLI's
//! own store, `top` with ps options, and the run/create flags that end in the container's
//! /etc files or in the API body. Daemon checks run against dockerd and a private muelled
//! through the `against!` harness; the others need no daemon.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod completion;
mod context;
mod run_flags;
mod top;
mod usage;

use common::*;
use run_flags::{client_side_flags, etc_files_from_flags, network_flags_answered_as_dockerd};
use top::top_with_ps_options;

/// The docker CLI 28 (the 20.10 one at /usr/bin/docker predates contexts' JSON format and
/// words usage errors otherwise).
pub const DOCKER28: &str = "/usr/local/bin/docker";

pub fn require_docker28() {
    assert!(
        std::path::Path::new(DOCKER28).exists(),
        "{DOCKER28} (the docker CLI 28) is not installed"
    );
}

/// A private muelled seeded with scripts/busybox-image.sh's image.
fn muelled() -> Daemon {
    start_muelled(Seed::OciTar)
}

const NONET: &str = "--network=none";

/// Removes a container on drop, also when the test fails half-way.
pub struct Removal {
    host: String,
    name: String,
}

impl Removal {
    pub fn new(d: &Daemon, name: &str) -> Removal {
        Removal {
            host: d.host.clone(),
            name: name.to_owned(),
        }
    }
}

impl Drop for Removal {
    fn drop(&mut self) {
        let _ = docker_at(&self.host, &["rm", "-f", &self.name]);
    }
}

against!(
    top_with_ps_options,
    etc_files_from_flags,
    network_flags_answered_as_dockerd,
    client_side_flags,
);
