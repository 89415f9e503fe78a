//! Image operations that change state: each is the image service's method plus the rules
//! Docker attaches to it (events, freeing content after a removal, what prune removes).

use std::collections::BTreeMap;
use std::time::SystemTime;

use std::io::{Read, Write};

use muelle_image::distribution::Credentials;
use muelle_image::images::{
    ImportOptions, LoadedImage, PushOptions, PushProgress, Pushed, Removed,
};
use muelle_image::manifest::Platform;
use muelle_image::reference::Reference;
use muelle_image::{Digest, ImageSummary, PullProgress};

use muelle_types::time::parse_rfc3339;

use crate::events::{Actor, Event, EventKind};
use crate::labels::has_label;
use crate::{Engine, EngineError, Result};

/// Which images `prune` removes. Labels are `(key, value)`; a `None` value matches any value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneFilter {
    /// Remove every image no container uses, not only untagged ones (`dangling=false`).
    pub all: bool,
    /// Only images created before this.
    pub until: Option<SystemTime>,
    /// Only images carrying all of these labels.
    pub labels: Vec<(String, Option<String>)>,
    /// Only images carrying none of these labels.
    pub labels_not: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<Removed>,
    /// Bytes of content freed.
    pub space_reclaimed: u64,
}

/// Docker's short form of a stored full name (`docker.io/library/busybox:latest` →
/// `busybox:latest`); names that do not parse are shown as stored.
pub fn familiar(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| name.to_string())
}

/// When an image was built, from its config's RFC 3339 `created` (None if absent or bad).
pub fn created(image: &ImageSummary) -> Option<SystemTime> {
    image.config.created.as_deref().and_then(parse_rfc3339)
}

/// The labels of an image's config (none when it has no config section).
pub fn image_labels(image: &ImageSummary) -> BTreeMap<String, String> {
    image
        .config
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

impl PruneFilter {
    fn selects(&self, image: &ImageSummary) -> bool {
        if !self.all && !image.repo_tags.is_empty() {
            return false;
        }
        if let Some(until) = self.until {
            match created(image) {
                Some(c) if c < until => {}
                _ => return false,
            }
        }
        let labels = image_labels(image);
        let has = |(k, v): &(String, Option<String>)| has_label(&labels, k, v.as_deref());
        self.labels.iter().all(has) && !self.labels_not.iter().any(has)
    }
}

impl Engine {
    /// `docker pull`, authenticating with `credentials` when given; announces `pull` when
    /// the image is recorded.
    pub async fn pull(
        &self,
        reference: &Reference,
        platform: Option<Platform>,
        credentials: Option<Credentials>,
        progress: &dyn PullProgress,
    ) -> Result<ImageSummary> {
        let summary = self
            .images
            .pull_with(reference, platform, credentials, progress)
            .await?;
        self.events.publish(Event::new(
            EventKind::Image,
            "pull",
            Actor::named(reference.familiar(), reference.familiar_name()),
        ));
        Ok(summary)
    }

    /// `docker push`; announces `push` when the manifest is in.
    pub async fn push(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        self.push_with(reference, credentials, PushOptions::default(), progress)
            .await
    }

    /// [`Self::push`] with a choice of compression for layers stored uncompressed.
    pub async fn push_with(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
        options: PushOptions,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        let pushed = self
            .images
            .push_with(reference, credentials, options, progress)
            .await?;
        // As in Docker, the pushed manifest's digest becomes one of the image's RepoDigests.
        if reference.digest().is_none() {
            let digest_name = reference.with_digest(pushed.digest.clone());
            if let Err(e) = self.images.tag(&reference.to_string(), &digest_name) {
                tracing::warn!(name = %digest_name, error = %e, "could not record the pushed digest");
            }
        }
        self.events.publish(Event::new(
            EventKind::Image,
            "push",
            Actor::named(reference.familiar(), reference.familiar_name()),
        ));
        Ok(pushed)
    }

    /// `docker tag`; announces `tag` with the new name.
    pub fn tag(&self, source: &str, target: &Reference) -> Result<ImageSummary> {
        let summary = self.images.tag(source, target)?;
        self.events.publish(Event::new(
            EventKind::Image,
            "tag",
            Actor::named(summary.id.to_string(), target.familiar()),
        ));
        Ok(summary)
    }

    /// `docker load`; announces `load` for each image.
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let loaded = self.images.load(input)?;
        for image in &loaded {
            let name = image
                .names
                .first()
                .map(|n| familiar(n))
                .unwrap_or_else(|| image.id.to_string());
            self.events.publish(Event::new(
                EventKind::Image,
                "load",
                Actor::named(image.id.to_string(), name),
            ));
        }
        Ok(loaded)
    }

    /// `docker save`; announces `save` for each image named.
    pub fn save(&self, names: &[String], out: &mut dyn Write) -> Result<()> {
        self.images.save(names, out)?;
        for name in names {
            if let Ok(image) = self.images.image(name) {
                self.events.publish(Event::new(
                    EventKind::Image,
                    "save",
                    Actor::named(image.id.to_string(), name.clone()),
                ));
            }
        }
        Ok(())
    }

    /// `docker import`; announces `import`.
    pub fn import(&self, input: &mut dyn Read, opts: &ImportOptions) -> Result<ImageSummary> {
        let summary = self.images.import(input, opts)?;
        let name = opts
            .reference
            .as_ref()
            .map(|r| r.familiar())
            .unwrap_or_else(|| summary.id.to_string());
        self.events.publish(Event::new(
            EventKind::Image,
            "import",
            Actor::named(summary.id.to_string(), name),
        ));
        Ok(summary)
    }

    /// `docker rmi`: untags (and deletes when the last tag goes), announcing each step; then,
    /// unless `noprune`, frees the content nothing uses any more, as Docker frees layers.
    pub fn remove_image(&self, name: &str, force: bool, noprune: bool) -> Result<Vec<Removed>> {
        let image = self.images.image(name)?;
        let id = image.id.clone();
        // Docker refuses to take the last name of an image a container uses, unless forced.
        let last_name = is_single_reference(&image.repo_tags, &image.repo_digests)
            || id.to_string().contains(name.trim_start_matches("sha256:"));
        if !force && last_name {
            if let Some((container, running)) = self.containers.user_of_image(&id.to_string()) {
                return Err(EngineError::ImageInUse {
                    reference: name.to_string(),
                    container: container.get(..12).unwrap_or(&container).to_string(),
                    image: id.hex().get(..12).unwrap_or(id.hex()).to_string(),
                    running,
                });
            }
        }
        let removed = self.images.remove(name, force)?;
        self.announce_removal(&id, &removed);
        if !noprune && removed.iter().any(|r| matches!(r, Removed::Deleted(_))) {
            self.collect_garbage()?;
        }
        Ok(removed)
    }

    fn announce_removal(&self, id: &Digest, removed: &[Removed]) {
        for r in removed {
            let event = match r {
                Removed::Untagged(name) => Event::new(
                    EventKind::Image,
                    "untag",
                    Actor::named(id.to_string(), familiar(name)),
                ),
                Removed::Deleted(d) => Event::new(
                    EventKind::Image,
                    "delete",
                    Actor::named(d.to_string(), d.to_string()),
                ),
            };
            self.events.publish(event);
        }
    }

    /// Deletes the blobs and snapshots nothing references; returns the bytes of content freed.
    pub fn collect_garbage(&self) -> Result<u64> {
        let store = self.images.store();
        // Sizes are taken before: afterwards the blobs are gone. A blob whose size cannot be
        // read counts as 0 rather than failing the collection.
        let sizes: BTreeMap<Digest, u64> = store
            .list()
            .map_err(muelle_image::ImageError::from)?
            .into_iter()
            .map(|d| {
                let size = store.size(&d).unwrap_or(0);
                (d, size)
            })
            .collect();
        let report = self.images.prune()?;
        for (key, err) in &report.snapshot_errors {
            tracing::warn!(snapshot = %key, error = %err, "could not remove a snapshot; the next prune retries");
        }
        Ok(report
            .removed_blobs
            .iter()
            .filter_map(|d| sizes.get(d))
            .sum())
    }

    /// `docker image prune`: removes the images `filter` selects (untagged ones unless
    /// `all`), then collects garbage.
    pub fn prune_images(&self, filter: &PruneFilter) -> Result<PruneReport> {
        let mut removed = Vec::new();
        for image in self.images.list()? {
            if !filter.selects(&image) {
                continue;
            }
            let id = image.id.to_string();
            // By ID with force: every name of the image goes, whatever repositories they span.
            match self.images.remove(&id, true) {
                Ok(r) => {
                    self.announce_removal(&image.id, &r);
                    removed.extend(r);
                }
                // Removed meanwhile by another request: nothing left to do for it.
                Err(muelle_image::ImageError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let space_reclaimed = self.collect_garbage()?;
        self.events.publish(Event::new(
            EventKind::Image,
            "prune",
            Actor {
                id: String::new(),
                attributes: BTreeMap::from([(
                    "reclaimed".to_string(),
                    space_reclaimed.to_string(),
                )]),
            },
        ));
        Ok(PruneReport {
            removed,
            space_reclaimed,
        })
    }
}

/// Docker's `isSingleReference`: the names are all of one repository with at most one tag,
/// so removing a tag would leave the image nameless (its digest names go with the tag).
fn is_single_reference(tags: &[String], digests: &[String]) -> bool {
    if tags.len() + digests.len() <= 1 {
        return tags.len() + digests.len() == 1;
    }
    if tags.len() > 1 {
        return false;
    }
    let repo = |n: &String| {
        Reference::parse(n)
            .map(|r| r.repository())
            .unwrap_or_else(|_| n.clone())
    };
    let repos: std::collections::BTreeSet<String> = tags.iter().chain(digests).map(repo).collect();
    repos.len() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_reference_is_one_repository_with_one_tag() {
        let v = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = "@sha256:0123456789012345678901234567890123456789012345678901234567890123";
        assert!(!is_single_reference(&[], &[]));
        assert!(is_single_reference(&v(&["docker.io/library/a:1"]), &[]));
        assert!(is_single_reference(
            &v(&["docker.io/library/a:1"]),
            &v(&[&format!("docker.io/library/a{d}")])
        ));
        assert!(!is_single_reference(
            &v(&["docker.io/library/a:1"]),
            &v(&[&format!("docker.io/library/b{d}")])
        ));
        assert!(!is_single_reference(
            &v(&["docker.io/library/a:1", "docker.io/library/a:2"]),
            &[]
        ));
    }

    #[test]
    fn familiar_names() {
        assert_eq!(
            familiar("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b:1");
        assert_eq!(familiar("not a name"), "not a name");
    }
}
