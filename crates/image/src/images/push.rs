//! `docker push`: layers (skipping what the registry has, mounting what it has elsewhere),
//! then the config, then the manifest. Layers stored compressed are pushed as they are;
//! layers stored uncompressed are pushed compressed (gzip unless asked otherwise, as Docker
//! does), from the compressed form kept in the store or made now (see `compressed`), and
//! the manifest then names them. A manifest with nothing to compress is pushed exactly as
//! stored, so its digest is the one pulled.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::compressed::Compressed;
use super::{ImageError, ImageService, Result, LABEL_SOURCE_PREFIX};
use crate::compress::{self, Compression};
use crate::digest::Digest;
use crate::distribution::{BlobOutcome, Credentials, Progress, RegistryError};
use crate::manifest::{media_type, Descriptor};
use crate::reference::Reference;

/// Layers uploaded at once: Docker's default `max-concurrent-uploads` is 5.
const CONCURRENT_UPLOADS: usize = 5;

/// Layers compressed at once. Each compression already uses every core, so one at a time
/// lets the first layer upload while the next compresses.
const CONCURRENT_COMPRESSIONS: usize = 1;

/// Read buffer of one upload: reads stay large while memory per upload stays small.
const UPLOAD_BUFFER: usize = 256 << 10;

/// How a push treats layers stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushOptions {
    pub compression: Compression,
    /// Threads of one layer's compression.
    pub threads: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            compression: Compression::Gzip,
            threads: compress::default_threads(),
        }
    }
}

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

/// Why one blob's upload failed.
enum Failure {
    Registry(RegistryError),
    Image(ImageError),
}

/// A blob's upload, done: its outcome, the repository it was mounted from, and the
/// descriptor the manifest names (the compressed one for a compressed layer).
type Done = std::result::Result<(BlobOutcome, Option<String>, Descriptor), Failure>;

enum Msg {
    Update(Digest, u64, u64),
    /// Keyed by the digest the stored manifest names.
    Finished(Digest, Box<Done>),
}

/// Reports an upload under the digest the stored manifest names, whatever is sent, so a
/// layer keeps one progress line from "Preparing" to "Pushed".
struct ChannelProgress(mpsc::UnboundedSender<Msg>, Digest);

impl Progress for ChannelProgress {
    fn update(&self, _: &Digest, done: u64, total: u64) {
        let _ = self.0.send(Msg::Update(self.1.clone(), done, total));
    }

    fn finished(&self, _: &Digest, _: BlobOutcome) {}
}

/// Runs `f` off the runtime; a panic there fails the blob as a task error.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> std::result::Result<T, Failure> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Image(e)),
        Err(e) => Err(Failure::Image(ImageError::Task {
            what,
            reason: e.to_string(),
        })),
    }
}

impl ImageService {
    /// Pushes the image named `reference` (it must be a local name, as in Docker) to the
    /// registry and repository that name says, authenticating with `credentials` or the
    /// configured source, with layers stored uncompressed pushed as gzip. Only the platform
    /// manifest this store holds is pushed: an image pulled from a multi-platform index has
    /// only that platform's content here.
    pub async fn push(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        self.push_with(reference, credentials, PushOptions::default(), progress)
            .await
    }

    /// [`Self::push`], compressing layers stored uncompressed as `options` says.
    pub async fn push_with(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
        options: PushOptions,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        let name = reference.to_string();
        let img = self.image(&name)?;
        if !img.repo_tags.contains(&name) && !img.repo_digests.contains(&name) {
            // An ID or another name resolved: Docker pushes names only.
            return Err(ImageError::NotFound { name });
        }
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
        // The compressed blobs made or reused here are held by this lease until their links
        // (or the images) hold them.
        let lease = self.new_lease("push")?;
        let result = self
            .push_leased(
                &lease,
                reference,
                credentials,
                options,
                &bytes,
                &manifest,
                progress,
            )
            .await;
        let _ = self.meta.delete_lease(&lease);
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn push_leased(
        &self,
        lease: &str,
        reference: &Reference,
        credentials: Option<Credentials>,
        options: PushOptions,
        bytes: &[u8],
        manifest: &crate::manifest::Manifest,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        let name = reference.to_string();
        let registry = self.registry_for(reference, credentials);
        let host = reference.registry_host().to_string();
        let repository = reference.path().to_string();
        let reg_err = |source: RegistryError| ImageError::Registry {
            reference: name.clone(),
            source: Box::new(source),
        };
        let semaphore = Arc::new(Semaphore::new(CONCURRENT_UPLOADS));
        let compressions = Arc::new(Semaphore::new(CONCURRENT_COMPRESSIONS));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        let mut seen = std::collections::BTreeSet::new();
        let this = Arc::new(self.clone_handles());
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
            if !self.store.exists(&desc.digest)? {
                return Err(ImageError::Store(crate::store::StoreError::NotFound {
                    digest: desc.digest.clone(),
                }));
            }
            let compress_as = is_layer
                .then(|| options.compression.media_type_for(&desc.media_type))
                .flatten();
            let this = this.clone();
            let (registry, sem, tx) = (registry.clone(), semaphore.clone(), tx.clone());
            let compressions = compressions.clone();
            let (host, repository) = (host.clone(), repository.clone());
            let (desc, lease) = (desc.clone(), lease.to_string());
            tasks.spawn(async move {
                let original = desc.digest.clone();
                let done = async {
                    let desc = match compress_as {
                        None => desc,
                        Some(mt) => {
                            let Ok(_slot) = compressions.acquire_owned().await else {
                                return Err(Failure::Image(ImageError::Task {
                                    what: "compressing a layer",
                                    reason: "the push was stopped".into(),
                                }));
                            };
                            let (layer, how) = (desc.clone(), options.compression);
                            let service = this.clone();
                            let made = blocking("compressing a layer", move || {
                                service.compress_layer(&lease, &layer, how, mt, options.threads)
                            })
                            .await?;
                            // The next layer compresses while this one is synced to disk.
                            drop(_slot);
                            match made {
                                Compressed::Stored(d) => d,
                                Compressed::Made(pending) => {
                                    let service = this.clone();
                                    blocking("storing a compressed layer", move || {
                                        service.commit_compressed(pending)
                                    })
                                    .await?
                                }
                            }
                        }
                    };
                    let Ok(_permit) = sem.acquire_owned().await else {
                        return Err(Failure::Image(ImageError::Task {
                            what: "uploading a layer",
                            reason: "the push was stopped".into(),
                        }));
                    };
                    let p = ChannelProgress(tx.clone(), original.clone());
                    this.upload(&registry, &host, &repository, desc, p).await
                };
                let done = done.await;
                let _ = tx.send(Msg::Finished(original, Box::new(done)));
            });
        }
        drop(tx);
        let mut failure = None;
        let mut pushed: std::collections::BTreeMap<Digest, Descriptor> = Default::default();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Update(layer, done, total) if layer != manifest.config.digest => {
                    progress.event(PushEvent::Pushing { layer, done, total })
                }
                Msg::Update(..) => {}
                Msg::Finished(layer, done) => match *done {
                    Ok((outcome, from, desc)) => {
                        pushed.insert(layer.clone(), desc);
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
                    Err(e) => {
                        failure = Some(match e {
                            Failure::Registry(e) => reg_err(e),
                            Failure::Image(e) => e,
                        });
                        tasks.abort_all();
                        break;
                    }
                },
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
        let layers: Vec<Descriptor> = manifest
            .layers
            .iter()
            .map(|l| pushed.get(&l.digest).cloned().unwrap_or_else(|| l.clone()))
            .collect();
        let rewritten = super::push_manifest::rewrite(bytes, manifest, &layers).map_err(|e| {
            ImageError::Task {
                what: "writing the pushed manifest",
                reason: e.to_string(),
            }
        })?;
        let (bytes, mt) = match &rewritten {
            Some((b, mt)) => (b.as_slice(), mt.clone()),
            None => (
                bytes,
                manifest
                    .media_type
                    .clone()
                    .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string()),
            ),
        };
        let tag = reference.manifest_ref();
        let digest = registry
            .put_manifest(&host, &repository, &tag, bytes, &mt)
            .await
            .map_err(reg_err)?;
        let size = bytes.len() as u64;
        progress.event(PushEvent::ManifestPushed {
            tag: tag.clone(),
            digest: digest.clone(),
            size,
        });
        // The registry now has this content too: a later push elsewhere there can mount it.
        for l in &layers {
            let _ = self.add_source(&l.digest, &host, &repository);
        }
        Ok(Pushed { tag, digest, size })
    }

    /// Uploads one blob from the store, mounting it from another repository of the registry
    /// when the store knows the registry has it there.
    async fn upload(
        &self,
        registry: &crate::distribution::RegistryClient,
        host: &str,
        repository: &str,
        desc: Descriptor,
        progress: ChannelProgress,
    ) -> Done {
        let mount_from = self
            .mount_source(&desc.digest, host, repository)
            .map_err(Failure::Image)?;
        let file = tokio::fs::File::open(self.store.blob_path(&desc.digest))
            .await
            .map_err(|source| {
                Failure::Registry(RegistryError::Read {
                    host: host.to_string(),
                    repository: repository.to_string(),
                    digest: desc.digest.clone(),
                    source,
                })
            })?;
        let outcome = registry
            .push_blob(
                host,
                repository,
                &desc.digest,
                desc.size,
                tokio::io::BufReader::with_capacity(UPLOAD_BUFFER, file),
                mount_from.as_deref(),
                &progress,
            )
            .await
            .map_err(Failure::Registry)?;
        Ok((outcome, mount_from, desc))
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
