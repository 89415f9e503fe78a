//! Prune reports of resources without a module of their own yet (networks, the build
//! cache), answered so that `docker system prune` completes.

use serde::{Deserialize, Serialize};

/// `POST /networks/prune`'s answer; `null` when nothing went.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworksPruneReport {
    pub networks_deleted: Option<Vec<String>>,
}

/// `POST /build/prune`'s answer; `null` when nothing went.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildCachePruneReport {
    pub caches_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}
