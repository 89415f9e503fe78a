//! Prune reports of resources without a module of their own yet (the build cache),
//! answered so that `docker system prune` completes; the networks' is `network`'s.

use serde::{Deserialize, Serialize};

pub use crate::network::NetworksPruneReport;

/// `POST /build/prune`'s answer; `null` when nothing went.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildCachePruneReport {
    pub caches_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}
