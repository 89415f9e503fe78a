//! `docker push`: layers (skipping what the registry has, mounting what it has elsewhere),
//! then the config, then the manifest exactly as stored, so its digest is the one pulled.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::{ImageError, ImageService, Result, LABEL_SOURCE_PREFIX};
use crate::digest::Digest;
use crate::distribution::{BlobOutcome, Credentials, Progress, RegistryError};
use crate::manifest::{media_type, Descriptor};
use crate::reference::Reference;

/// Layers uploaded at once: Docker's default `max-concurrent-uploads` is 5.
const CONCURRENT_UPLOADS: usize = 5;

/// What a push reports. Layers are named by their blob digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushEvent {
    /// The layer is queued.
    Preparing { layer: Digest, size: u64 },
    /// `done` of `total` bytes are sent.
    Pushing {
        layer: Digest,
        done: u64,
        total: u64,
    },
    /// The layer was uploaded.
    Pushed { layer: Digest },
    /// The repository had it already.
    AlreadyExists { layer: Digest },
    /// The registry mounted it from another of its repositories.
    Mounted { layer: Digest, from: String },
    /// The manifest is in: the push is done.
    ManifestPushed {
        tag: String,
        digest: Digest,
        size: u64,
    },
}

/// Receives push progress, in order, from the pushing task; it must not block.
pub trait PushProgress: Send + Sync {
    fn event(&self, event: PushEvent);
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPushProgress;

impl PushProgress for NoPushProgress {
    fn event(&self, _: PushEvent) {}
}

/// What was pushed: the manifest's digest and size, under which tag (or digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    pub size: u64,
}

enum Msg {
    Update(Digest, u64, u64),
    Finished(
        Digest,
        std::result::Result<BlobOutcome, RegistryError>,
        Option<String>,
    ),
}

struct ChannelProgress(mpsc::UnboundedSender<Msg>);

impl Progress for ChannelProgress {
    fn update(&self, digest: &Digest, done: u64, total: u64) {
        let _ = self.0.send(Msg::Update(digest.clone(), done, total));
    }

    fn finished(&self, _: &Digest, _: BlobOutcome) {}
}

impl ImageService {
    /// Pushes the image named `reference` (it must be a local name, as in Docker) to the
    /// registry and repository that name says, authenticating with `credentials` or the
    /// configured source. Only the platform manifest this store holds is pushed: an image
    /// pulled from a multi-platform index has only that platform's content here.
    pub async fn push(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        let name = reference.to_string();
        let img = self.image(&name)?;
        if !img.repo_tags.contains(&name) && !img.repo_digests.contains(&name) {
            // An ID or another name resolved: Docker pushes names only.
            return Err(ImageError::NotFound { name });
        }
        let registry = self.registry_for(reference, credentials);
        let host = reference.registry_host().to_string();
        let repository = reference.path().to_string();
        let reg_err = |source: RegistryError| ImageError::Registry {
            reference: name.clone(),
            source: Box::new(source),
        };
        let bytes = self.read_doc(&name, &img.manifest)?;
        let manifest = match super::parse_doc(&name, &img.manifest, &bytes, None)? {
            crate::manifest::Parsed::Manifest { manifest, .. } => manifest,
            crate::manifest::Parsed::Index { media_type, .. } => {
                return Err(ImageError::NotAnImage {
                    reference: name,
                    digest: img.manifest,
                    media_type: media_type.to_string(),
                })
            }
        };

        let semaphore = Arc::new(Semaphore::new(CONCURRENT_UPLOADS));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let mut seen = std::collections::BTreeSet::new();
        let blobs: Vec<&Descriptor> = manifest
            .layers
            .iter()
            .chain(std::iter::once(&manifest.config))
            .collect();
        for desc in blobs {
            if !seen.insert(desc.digest.clone()) {
                continue;
            }
            let is_layer = desc.digest != manifest.config.digest;
            if is_layer {
                progress.event(PushEvent::Preparing {
                    layer: desc.digest.clone(),
                    size: desc.size,
                });
            }
            let mount_from = self.mount_source(&desc.digest, &host, &repository)?;
            let path = self.store.blob_path(&desc.digest);
            if !self.store.exists(&desc.digest)? {
                return Err(ImageError::Store(crate::store::StoreError::NotFound {
                    digest: desc.digest.clone(),
                }));
            }
            let (registry, sem, tx) = (registry.clone(), semaphore.clone(), tx.clone());
            let (host, repository) = (host.clone(), repository.clone());
            let (digest, size) = (desc.digest.clone(), desc.size);
            tasks.spawn(async move {
                let Ok(_permit) = sem.acquire_owned().await else {
                    return;
                };
                let result = match tokio::fs::File::open(&path).await {
                    Ok(file) => {
                        let p = ChannelProgress(tx.clone());
                        registry
                            .push_blob(
                                &host,
                                &repository,
                                &digest,
                                size,
                                tokio::io::BufReader::with_capacity(1 << 20, file),
                                mount_from.as_deref(),
                                &p,
                            )
                            .await
                    }
                    Err(source) => Err(RegistryError::Read {
                        host: host.clone(),
                        repository: repository.clone(),
                        digest: digest.clone(),
                        source,
                    }),
                };
                let _ = tx.send(Msg::Finished(digest, result, mount_from));
            });
        }
        drop(tx);
        let mut failure = None;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Update(layer, done, total) if layer != manifest.config.digest => {
                    progress.event(PushEvent::Pushing { layer, done, total })
                }
                Msg::Update(..) => {}
                Msg::Finished(layer, Ok(outcome), from) => {
                    if layer == manifest.config.digest {
                        continue;
                    }
                    progress.event(match outcome {
                        BlobOutcome::AlreadyExists => PushEvent::AlreadyExists { layer },
                        BlobOutcome::Mounted => PushEvent::Mounted {
                            layer,
                            from: from.unwrap_or_default(),
                        },
                        _ => PushEvent::Pushed { layer },
                    });
                }
                Msg::Finished(_, Err(e), _) => {
                    failure = Some(reg_err(e));
                    tasks.abort_all();
                    break;
                }
            }
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                if failure.is_none() && !e.is_cancelled() {
                    failure = Some(ImageError::Task {
                        what: "uploading a layer",
                        reason: e.to_string(),
                    });
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let tag = reference.manifest_ref();
        let mt = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string());
        let digest = registry
            .put_manifest(&host, &repository, &tag, &bytes, &mt)
            .await
            .map_err(reg_err)?;
        let size = bytes.len() as u64;
        progress.event(PushEvent::ManifestPushed {
            tag: tag.clone(),
            digest: digest.clone(),
            size,
        });
        // The registry now has this content too: a later push elsewhere there can mount it.
        for l in &manifest.layers {
            let _ = self.add_source(&l.digest, &host, &repository);
        }
        Ok(Pushed { tag, digest, size })
    }

    /// A repository on `host` other than `repository` that this blob came from, if any.
    fn mount_source(
        &self,
        digest: &Digest,
        host: &str,
        repository: &str,
    ) -> Result<Option<String>> {
        let record = self.meta.get_content(digest)?;
        Ok(record.and_then(|r| {
            r.labels
                .get(&format!("{LABEL_SOURCE_PREFIX}{host}"))
                .and_then(|repos| {
                    repos
                        .split(',')
                        .find(|r| !r.is_empty() && *r != repository)
                        .map(str::to_string)
                })
        }))
    }

    /// Records that `repository` on `host` has the blob `digest`.
    pub(super) fn add_source(&self, digest: &Digest, host: &str, repository: &str) -> Result<()> {
        let key = format!("{LABEL_SOURCE_PREFIX}{host}");
        let mut labels = self
            .meta
            .get_content(digest)?
            .map(|r| r.labels)
            .unwrap_or_default();
        let repos = labels.entry(key).or_default();
        if repos.split(',').any(|r| r == repository) {
            return Ok(());
        }
        if !repos.is_empty() {
            repos.push(',');
        }
        repos.push_str(repository);
        self.meta.set_content_labels(digest, labels)?;
        Ok(())
    }
}
