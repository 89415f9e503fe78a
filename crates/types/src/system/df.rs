//! `GET /system/df` (`docker system df`): moby's `types.DiskUsage`, each part present only
//! when its `type` was asked for (all of them when none was).

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Build cache records have no shape yet: muelle has none, and the list is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_cache: Option<Vec<Value>>,
}
