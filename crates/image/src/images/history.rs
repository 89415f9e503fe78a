//! `docker history`: an image's build steps from its config, with the size of each layer.

use std::time::SystemTime;

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
                .map_or(0, |u| u.bytes)
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
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
