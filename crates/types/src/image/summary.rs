//! One image of `GET /images/json` (moby's `image.Summary`, whose fields the API sends in
//! alphabetical order).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// Always -1: counting the containers of each image is not asked for.
    pub containers: i64,
    /// Unix seconds.
    pub created: i64,
    #[serde(rename = "Id")]
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub parent_id: String,
    pub repo_digests: Vec<String>,
    pub repo_tags: Vec<String>,
    /// Always -1: shared sizes are not computed.
    pub shared_size: i64,
    pub size: u64,
    /// Gone from API 1.44.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
}
