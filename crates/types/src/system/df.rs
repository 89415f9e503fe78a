//! `GET /system/df` (`docker system df`): moby's `types.DiskUsage`, each part present only
//! when its `type` was asked for (all of them when none was).

use serde::{Deserialize, Serialize};

use crate::container::ContainerSummary;
use crate::image::ImageSummary;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ImageSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<ContainerSummary>>,
    /// Volumes with their `UsageData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<crate::volume::Volume>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_cache: Option<Vec<BuildCache>>,
}

/// One build-cache record (moby's `types.BuildCache`); muelled's records are the legacy
/// builder's cached steps, each of type `regular`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildCache {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    #[serde(rename = "Type")]
    pub kind: String,
    pub description: String,
    pub in_use: bool,
    pub shared: bool,
    pub size: i64,
    /// RFC 3339 (Go's zero time when unknown).
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub usage_count: i64,
}
