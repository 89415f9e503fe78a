//! What `DELETE /images/{name}` and `POST /images/prune` report.

use serde::{Deserialize, Serialize};

/// One line of a removal: a name that went, or an image that went
/// (moby's `image.DeleteResponse`, `{"Untagged": …}` or `{"Deleted": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageDeleteItem {
    Untagged(String),
    Deleted(String),
}

/// `POST /images/prune`'s answer; `ImagesDeleted` is `null` when nothing went.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesPruneReport {
    pub images_deleted: Option<Vec<ImageDeleteItem>>,
    pub space_reclaimed: u64,
}
