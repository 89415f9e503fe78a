//! What the builder needs of the image service: images derived from another by a config
//! change alone (a build step that writes no files), and the build cache — each step's
//! image recorded under the step's cache key, found again by it, and dropped by
//! `docker builder prune`.

use std::time::SystemTime;

use super::history::rfc3339;
use super::import::RecordName;
use super::{
    is_cache_record, summary, ImageError, ImageService, ImageSummary, Result, BUILD_CACHE_PREFIX,
};
use crate::manifest::{ContainerConfig, History, ImageConfig, Platform, RootFs};
use crate::Digest;

/// A build step that changes only the config: the new image's `config`, the history
/// entry's `created_by` (none when empty) and the image's author (MAINTAINER).
#[derive(Debug, Clone, Default)]
pub struct ConfigStep {
    pub config: ContainerConfig,
    pub created_by: String,
    pub author: Option<String>,
    /// Top-level config fields to set besides the standard ones.
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One entry of the build cache.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub key: String,
    pub image: ImageSummary,
    /// What the step added: its layer's stored size (0 for a config-only step).
    pub own_size: u64,
    /// The step's history entry: `created_by` and when.
    pub created_by: String,
    pub created: Option<String>,
}

impl ImageService {
    /// The image `parent` (an ID or name; `None`: scratch, an image with no layers for the
    /// host's platform) with `step`'s config and one more history entry, an empty layer.
    /// Recorded as the build-cache entry `cache_key`, or as `<none>` without one.
    pub fn derive_image(
        &self,
        parent: Option<&str>,
        step: &ConfigStep,
        cache_key: Option<&str>,
    ) -> Result<ImageSummary> {
        let (mut config, layers) = match parent {
            Some(p) => {
                let groups = self.groups()?;
                let id = self.find_id(p, &groups)?;
                let Some((resolved, _)) = groups.get(&id) else {
                    return Err(ImageError::NotFound {
                        name: p.to_string(),
                    });
                };
                (resolved.config.clone(), resolved.manifest.layers.clone())
            }
            None => (scratch_config(), Vec::new()),
        };
        let now = rfc3339(SystemTime::now());
        config.created = Some(now.clone());
        config.config = Some(step.config.clone());
        if step.author.is_some() {
            config.author = step.author.clone();
        }
        // A null removes the field (the parent's value must not carry over).
        for (k, v) in &step.extra {
            if v.is_null() {
                config.extra.remove(k);
            } else {
                config.extra.insert(k.clone(), v.clone());
            }
        }
        // The builder's empty base for steps on `scratch` has no history of its own.
        if !step.created_by.is_empty() {
            config.history.push(History {
                created: Some(now),
                created_by: Some(step.created_by.clone()),
                author: step.author.clone(),
                empty_layer: Some(true),
                ..History::default()
            });
        }
        let lease = self.new_lease("build")?;
        let record = match cache_key {
            Some(key) => RecordName::Cache(key),
            None => RecordName::Untagged,
        };
        let result = self.store_image_as(&lease, "build step", config, layers, record);
        let _ = self.meta.delete_lease(&lease);
        result
    }

    /// The image a build step of key `key` made, if the cache still has it.
    pub fn build_cache_get(&self, key: &str) -> Result<Option<ImageSummary>> {
        let Some(record) = self.meta.get_image(&format!("{BUILD_CACHE_PREFIX}{key}"))? else {
            return Ok(None);
        };
        match self.resolve(&record) {
            Ok(resolved) => Ok(Some(summary(&resolved, &[record]))),
            // Its documents went (a crash between record and content): not a hit.
            Err(ImageError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every build-cache entry.
    pub fn build_cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let mut out = Vec::new();
        for record in self.meta.list_images()? {
            let Some(key) = record.name.strip_prefix(BUILD_CACHE_PREFIX) else {
                continue;
            };
            let key = key.to_string();
            if let Ok(resolved) = self.resolve(&record) {
                let last = resolved.config.history.last().cloned().unwrap_or_default();
                let own_size = match last.empty_layer {
                    Some(true) => 0,
                    _ => resolved.manifest.layers.last().map_or(0, |l| l.size),
                };
                out.push(CacheEntry {
                    key,
                    image: summary(&resolved, &[record]),
                    own_size,
                    created_by: last.created_by.unwrap_or_default(),
                    created: last.created,
                });
            }
        }
        Ok(out)
    }

    /// Drops every build-cache entry (their content goes at the next GC unless an image
    /// still uses it); returns the keys dropped.
    pub fn build_cache_clear(&self) -> Result<Vec<String>> {
        let names: Vec<String> = self
            .meta
            .list_images()?
            .into_iter()
            .map(|r| r.name)
            .filter(|n| is_cache_record(n))
            .collect();
        self.meta.write(|tx| {
            for name in &names {
                tx.delete_image(name)?;
            }
            Ok(())
        })?;
        Ok(names
            .iter()
            .filter_map(|n| n.strip_prefix(BUILD_CACHE_PREFIX))
            .map(str::to_string)
            .collect())
    }

    /// Names `id` `<none>` unless something else already names it (the result of a build
    /// without `-t`, which Docker lists as a dangling image).
    pub fn keep_untagged(&self, id: &Digest) -> Result<()> {
        let groups = self.groups()?;
        let Some((_, records)) = groups.get(id) else {
            return Err(ImageError::NotFound {
                name: id.to_string(),
            });
        };
        if records.iter().any(|r| !is_cache_record(&r.name)) {
            return Ok(());
        }
        let Some(from) = records.first() else {
            return Ok(());
        };
        self.meta.put_image(
            &format!("{}{id}", super::UNTAGGED_PREFIX),
            from.target.clone(),
            from.labels.clone(),
        )?;
        Ok(())
    }
}

impl ImageService {
    /// `docker build --cache-from source`, as the legacy builder does it: when `source`'s
    /// history continues `parent`'s (the same layers and history entries so far) with an
    /// entry made by `step.created_by`, the step's result is `parent` plus that entry and
    /// its layer (if it has one), with `step`'s config. Recorded as the cache entry
    /// `cache_key`. `None` when `source` holds no such step.
    pub fn restore_cached(
        &self,
        parent: Option<&str>,
        source: &str,
        step: &ConfigStep,
        cache_key: &str,
    ) -> Result<Option<ImageSummary>> {
        let groups = self.groups()?;
        let resolved = |name: &str| -> Result<super::Resolved> {
            let id = self.find_id(name, &groups)?;
            groups
                .get(&id)
                .map(|(r, _)| (**r).clone())
                .ok_or_else(|| ImageError::NotFound {
                    name: name.to_string(),
                })
        };
        let src = resolved(source)?;
        let (mut config, mut layers) = match parent {
            Some(p) => {
                let p = resolved(p)?;
                (p.config, p.manifest.layers)
            }
            None => (scratch_config(), Vec::new()),
        };
        let n = config.history.len();
        let k = config.rootfs.diff_ids.len();
        let same = |a: &History, b: &History| {
            a.created_by == b.created_by
                && a.empty_layer.unwrap_or(false) == b.empty_layer.unwrap_or(false)
        };
        let Some(next) = src.config.history.get(n) else {
            return Ok(None);
        };
        let continues = src.config.history.len() > n
            && config
                .history
                .iter()
                .zip(&src.config.history)
                .all(|(a, b)| same(a, b))
            && src.config.rootfs.diff_ids.get(..k) == Some(&config.rootfs.diff_ids[..])
            && next.created_by.as_deref() == Some(step.created_by.as_str());
        if !continues {
            return Ok(None);
        }
        if !next.empty_layer.unwrap_or(false) {
            let (Some(diff_id), Some(layer)) = (
                src.config.rootfs.diff_ids.get(k),
                src.manifest.layers.get(k),
            ) else {
                return Ok(None);
            };
            config.rootfs.diff_ids.push(diff_id.clone());
            layers.push(layer.clone());
        }
        config.history.push(next.clone());
        config.created = next.created.clone();
        config.config = Some(step.config.clone());
        if step.author.is_some() {
            config.author = step.author.clone();
        }
        let lease = self.new_lease("build")?;
        let result = self.store_image_as(
            &lease,
            "build cache",
            config,
            layers,
            RecordName::Cache(cache_key),
        );
        let _ = self.meta.delete_lease(&lease);
        result.map(Some)
    }
}

/// The config of `scratch`: no layers, the host's platform.
fn scratch_config() -> ImageConfig {
    let host = Platform::host();
    ImageConfig {
        architecture: host.architecture,
        os: host.os,
        rootfs: RootFs {
            kind: "layers".into(),
            ..RootFs::default()
        },
        ..ImageConfig::default()
    }
}
