//! Docker's system shapes as the Engine API sends them: `/version`, `/info`, `/events`,
//! `/auth`, `/system/df`, and the prune reports of resources that have no module of their own yet.

pub mod auth;
pub mod df;
pub mod event;
pub mod info;
pub mod prune;
pub mod version;

pub use auth::AuthResponse;
pub use df::{BuildCache, DiskUsage};
pub use event::{EventActor, EventMessage};
pub use info::{
    Commit, IndexInfo, Info, PeerNode, PluginsInfo, RegistryConfig, Runtime, SwarmInfo,
};
pub use prune::{BuildCachePruneReport, NetworksPruneReport};
pub use version::{ComponentVersion, Platform, Version};
