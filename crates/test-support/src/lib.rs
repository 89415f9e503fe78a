//! What the integration tests of several crates repeat, kept once: the shared busybox
//! rootfs and image layout (`fixtures`), processes with timeouts and polling (`proc`),
//! cgroup and mount clean-up after a failed test (`host`), the test daemons' network
//! namespaces (`netns`), and a real docker-registry with its ports (`registry`).
//!
//! A dev-dependency only: no crate's library or binary may depend on it. Its helpers panic
//! on failure, as test code does: a fixture that cannot be built fails the test, never
//! passes it.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod host;
pub mod netns;
pub mod proc;
pub mod registry;

/// The workspace's top directory (scripts/ lives there).
pub fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `muelle-init` a test daemon gives `--init` containers (`MUELLE_INIT`): the static one
/// of scripts/build.sh (which scripts/test.sh runs before the tests); without it, the
/// debug build's, which muelled refuses for `--init` with a message saying to build it.
pub fn static_init() -> std::path::PathBuf {
    let release = workspace().join("target/x86_64-unknown-linux-gnu/release/muelle-init");
    if release.is_file() {
        return release;
    }
    workspace().join("target/debug/muelle-init")
}
