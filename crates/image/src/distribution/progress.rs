//! Transfer progress, reported to the caller (the CLI draws bars from it; the library never
//! prints).

use crate::digest::Digest;

/// How a blob transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Downloaded into the content store (possibly resuming an earlier ingest).
    Fetched,
    /// Uploaded to the registry.
    Pushed,
    /// Mounted from another repository of the same registry: no bytes sent.
    Mounted,
    /// Already there (in the store for a fetch, in the repository for a push).
    AlreadyExists,
}

/// Receives progress for blob transfers. Called from the task doing the transfer, so it must
/// be cheap and must not block.
pub trait Progress: Send + Sync {
    /// `done` of `total` bytes of `digest` have been transferred (including bytes a resumed
    /// download already had).
    fn update(&self, digest: &Digest, done: u64, total: u64);

    /// The transfer of `digest` finished.
    fn finished(&self, digest: &Digest, outcome: BlobOutcome) {
        let _ = (digest, outcome);
    }
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _: &Digest, _: u64, _: u64) {}
}
