//! One step of `GET /images/{name}/history` (moby's `image.HistoryResponseItem`, in its
//! alphabetical field order).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    pub comment: String,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// The image ID on the newest step, `<missing>` on the steps below it.
    #[serde(rename = "Id")]
    pub id: String,
    pub size: u64,
    /// The image's names on the newest step; `null` on the others.
    pub tags: Option<Vec<String>>,
}
