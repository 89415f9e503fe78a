//! `docker history`: an image's build steps from its config, with the size of each layer.

use super::{ImageService, Result};
use crate::digest::Digest;

/// One step of an image's history, newest first as Docker lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The image ID on the newest step; older steps have no image of their own here
    /// (Docker prints `<missing>`).
    pub id: Option<Digest>,
    /// RFC 3339 as the config has it.
    pub created: Option<String>,
    pub created_by: String,
    pub comment: String,
    /// Names of the image, on the newest step only.
    pub tags: Vec<String>,
    /// Bytes the step's layer takes unpacked; 0 for a step that made no layer.
    pub size: u64,
    pub empty_layer: bool,
}

impl ImageService {
    /// The history of the image `name` names, newest step first. An image whose config
    /// has no history gets one step per layer.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let img = self.image(name)?;
        let chain = img.chain_ids.clone();
        let layer_size = |i: usize| -> u64 {
            chain
                .get(i)
                .and_then(|c| self.snapshotter.usage(&c.to_string()).ok())
                .map_or(0, |u| u.content_bytes)
        };
        let mut out = Vec::new();
        let mut layer = 0usize;
        if img.config.history.is_empty() {
            for i in 0..chain.len() {
                out.push(HistoryEntry {
                    id: None,
                    created: img.config.created.clone(),
                    created_by: String::new(),
                    comment: String::new(),
                    tags: Vec::new(),
                    size: layer_size(i),
                    empty_layer: false,
                });
            }
        } else {
            for h in &img.config.history {
                let empty = h.empty_layer.unwrap_or(false);
                let size = if empty {
                    0
                } else {
                    layer += 1;
                    layer_size(layer - 1)
                };
                out.push(HistoryEntry {
                    id: None,
                    created: h.created.clone(),
                    created_by: h.created_by.clone().unwrap_or_default(),
                    comment: h.comment.clone().unwrap_or_default(),
                    tags: Vec::new(),
                    size,
                    empty_layer: empty,
                });
            }
        }
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = Some(img.id.clone());
            top.tags = img.repo_tags.clone();
        }
        Ok(out)
    }
}

/// `2026-11-23T10:04:05.123456789Z`: the form image configs use for `created`.
pub(crate) use muelle_types::time::rfc3339_nanos as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000000Z"
        );
        // 2000-02-29 (a leap day in a century leap year) 12:34:56.5
        let t = SystemTime::UNIX_EPOCH + Duration::new(951_827_696, 500_000_000);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56.500000000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_392_000);
        assert_eq!(rfc3339(t), "2026-11-23T00:00:00.000000000Z");
    }
}
