//! `docker pull`: resolve, fetch (bounded concurrency, resumable), unpack, record.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::{
    check_layer_count, parse_doc, record_labels, summary, ImageError, ImageService, ImageSummary,
    LayerStep, Resolved, Result, MAX_CONFIG_SIZE,
};
use crate::digest::Digest;
use crate::distribution::{
    self, BlobOutcome, Credentials, Progress, RegistryClient, RegistryError, MANIFEST_MEDIA_TYPES,
};
use crate::manifest::{self, media_type, Descriptor, ImageConfig, Manifest, Parsed, Platform};
use crate::meta::{ImageRecord, LeaseResource};
use crate::reference::Reference;

/// Layers downloaded at once, as Docker's default `max-concurrent-downloads` is 3.
const CONCURRENT_DOWNLOADS: usize = 3;

/// What a pull reports. Layers are named by their blob digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PullEvent {
    /// Asking the registry what the reference names.
    Resolving { reference: String },
    /// The reference names this index or manifest.
    Resolved { reference: String, digest: Digest },
    /// The layer will be downloaded when a download slot is free.
    Waiting { layer: Digest, size: u64 },
    /// `done` of `total` bytes are in (a resumed download starts above 0).
    Downloading {
        layer: Digest,
        done: u64,
        total: u64,
    },
    /// All bytes are in; the store is checking size and digest.
    Verifying { layer: Digest },
    /// The layer blob is in the store.
    DownloadComplete { layer: Digest },
    /// The layer is being unpacked into its snapshot.
    Extracting { layer: Digest },
    /// Blob and snapshot were already there: nothing downloaded or unpacked.
    AlreadyExists { layer: Digest },
    /// The layer is downloaded and unpacked.
    Done { layer: Digest },
}

/// Receives pull progress. Called from the task running the pull, in order; it must not
/// block. The library never prints: the CLI draws bars from these.
pub trait PullProgress: Send + Sync {
    fn event(&self, event: PullEvent);
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPullProgress;

impl PullProgress for NoPullProgress {
    fn event(&self, _: PullEvent) {}
}

/// What download tasks send to the pull's own task, which alone talks to the caller's
/// (non-`'static`) progress.
enum Msg {
    Started(Digest, u64),
    Update(Digest, u64, u64),
    Finished(Digest, Result<(), RegistryError>),
    Unpack(LayerStep),
}

struct ChannelProgress(mpsc::UnboundedSender<Msg>);

impl Progress for ChannelProgress {
    fn update(&self, digest: &Digest, done: u64, total: u64) {
        // The receiver only goes away when the pull is over; progress is then moot.
        let _ = self.0.send(Msg::Update(digest.clone(), done, total));
    }

    fn finished(&self, _: &Digest, _: BlobOutcome) {}
}

/// Where a pull fetches from.
struct Source<'a> {
    registry: RegistryClient,
    host: &'a str,
    repository: &'a str,
    /// The reference as given, for messages.
    reference: String,
}

impl ImageService {
    /// Pulls `reference` (tag or digest) for `platform` (the host's if `None`), unpacks its
    /// layers and records it; see the module documentation of [`crate::images`].
    pub async fn pull(
        &self,
        reference: &Reference,
        platform: Option<Platform>,
        progress: &dyn PullProgress,
    ) -> Result<ImageSummary> {
        self.pull_with(reference, platform, None, progress).await
    }

    /// [`pull`](Self::pull) authenticating with `credentials` instead of the configured
    /// source (the daemon passes what a client sent in `X-Registry-Auth`).
    pub async fn pull_with(
        &self,
        reference: &Reference,
        platform: Option<Platform>,
        credentials: Option<Credentials>,
        progress: &dyn PullProgress,
    ) -> Result<ImageSummary> {
        let registry = self.registry_for(reference, credentials);
        let lease = self.new_lease("pull")?;
        let result = self
            .pull_leased(&registry, &lease, reference, platform, progress)
            .await;
        match &result {
            Ok(_) => {
                // The image is recorded; a lease left behind only delays GC until it expires.
                let _ = self.meta.delete_lease(&lease);
            }
            Err(_) => {
                // Keep what was fetched for a retry until the lease expires, unless nothing
                // was: then the lease is just clutter.
                if let Ok(Some(l)) = self.meta.get_lease(&lease) {
                    if l.content.is_empty() && l.snapshots.is_empty() {
                        let _ = self.meta.delete_lease(&lease);
                    }
                }
            }
        }
        result
    }

    async fn pull_leased(
        &self,
        registry: &RegistryClient,
        lease: &str,
        reference: &Reference,
        platform: Option<Platform>,
        progress: &dyn PullProgress,
    ) -> Result<ImageSummary> {
        let src = Source {
            registry: registry.clone(),
            host: reference.registry_host(),
            repository: reference.path(),
            reference: reference.to_string(),
        };
        // A digest wins over a tag given with it, as in Docker: it is what was asked for.
        let wanted_ref = reference.manifest_ref();
        progress.event(PullEvent::Resolving {
            reference: src.reference.clone(),
        });
        let top = self.fetch_manifest(&src, &wanted_ref).await?;
        progress.event(PullEvent::Resolved {
            reference: src.reference.clone(),
            digest: top.digest.clone(),
        });
        let top_parsed = parse_doc(
            &src.reference,
            &top.digest,
            &top.bytes,
            Some(&top.content_type),
        )?;
        let target = Descriptor::new(
            top_parsed.media_type(),
            top.digest.clone(),
            top.bytes.len() as u64,
        );
        self.put_blob(lease, &top.digest, &top.bytes)?;

        let (manifest_digest, manifest) = match top_parsed {
            Parsed::Manifest { manifest, .. } => (top.digest.clone(), manifest),
            Parsed::Index { index, .. } => {
                let wanted = platform.clone().unwrap_or_else(Platform::host);
                let desc = manifest::select_platform(&index, &wanted).map_err(|source| {
                    ImageError::Platform {
                        reference: src.reference.clone(),
                        source,
                    }
                })?;
                let fetched = self.fetch_manifest(&src, &desc.digest.to_string()).await?;
                if fetched.bytes.len() as u64 != desc.size {
                    return Err(ImageError::SizeMismatch {
                        reference: src.reference.clone(),
                        digest: desc.digest.clone(),
                        expected: desc.size,
                        actual: fetched.bytes.len() as u64,
                    });
                }
                let parsed = parse_doc(
                    &src.reference,
                    &desc.digest,
                    &fetched.bytes,
                    Some(&fetched.content_type),
                )?;
                let Parsed::Manifest { manifest, .. } = parsed else {
                    return Err(ImageError::NotAnImage {
                        reference: src.reference.clone(),
                        digest: desc.digest.clone(),
                        media_type: parsed.media_type().to_string(),
                    });
                };
                self.put_blob(lease, &desc.digest, &fetched.bytes)?;
                (desc.digest.clone(), manifest)
            }
        };

        let config = self.fetch_config(lease, &src, &manifest).await?;
        check_layer_count(&src.reference, &manifest.layers, &config)?;
        if let Some(wanted) = &platform {
            let found = config.platform();
            // Only a config that says what it is can contradict the request.
            if !found.os.is_empty() && !found.architecture.is_empty() && !found.matches(wanted) {
                return Err(ImageError::PlatformMismatch {
                    reference: src.reference.clone(),
                    wanted: wanted.to_string(),
                    found: found.to_string(),
                });
            }
        }

        self.fetch_and_unpack(lease, &src, &manifest.layers, &config, progress)
            .await?;

        // The names, last and together: before this nothing visible has changed.
        let labels = record_labels(&manifest_digest, &manifest.config.digest);
        let mut names = Vec::new();
        if reference.digest().is_none() {
            names.push(reference.to_string());
        }
        names.push(reference.with_digest(top.digest.clone()).to_string());
        let records: Vec<ImageRecord> = self.meta.write(|tx| {
            names
                .iter()
                .map(|n| tx.put_image(n, target.clone(), labels.clone()))
                .collect()
        })?;
        // Remember where the layers live, so a push to another repository there mounts them.
        for l in &manifest.layers {
            let _ = self.add_source(&l.digest, src.host, src.repository);
        }
        let resolved = Resolved {
            manifest_digest,
            config_digest: manifest.config.digest.clone(),
            manifest,
            config,
        };
        // Other names of the same image belong in the summary too.
        let mut all = records;
        for r in self.meta.list_images()? {
            if !names.contains(&r.name)
                && r.labels.get(super::LABEL_CONFIG) == Some(&resolved.config_digest.to_string())
            {
                all.push(r);
            }
        }
        Ok(summary(&resolved, &all))
    }

    async fn fetch_manifest(
        &self,
        src: &Source<'_>,
        reference: &str,
    ) -> Result<distribution::FetchedManifest> {
        src.registry
            .get_manifest(src.host, src.repository, reference, MANIFEST_MEDIA_TYPES)
            .await
            .map_err(|source| ImageError::Registry {
                reference: src.reference.clone(),
                source: Box::new(source),
            })
    }

    /// Fetches the config into the store (it is small, and its DiffIDs decide which layers
    /// need fetching at all) and parses it.
    async fn fetch_config(
        &self,
        lease: &str,
        src: &Source<'_>,
        manifest: &Manifest,
    ) -> Result<ImageConfig> {
        let desc = &manifest.config;
        if !media_type::is_image_config(&desc.media_type) {
            return Err(ImageError::NotAnImage {
                reference: src.reference.clone(),
                digest: desc.digest.clone(),
                media_type: desc.media_type.clone(),
            });
        }
        if desc.size > MAX_CONFIG_SIZE {
            return Err(ImageError::TooLarge {
                reference: src.reference.clone(),
                digest: desc.digest.clone(),
                size: desc.size,
                limit: MAX_CONFIG_SIZE,
            });
        }
        self.meta
            .add_lease_resource(lease, LeaseResource::Content(desc.digest.clone()))?;
        src.registry
            .fetch_blob(
                src.host,
                src.repository,
                &desc.digest,
                desc.size,
                &self.store,
                &distribution::NoProgress,
            )
            .await
            .map_err(|source| ImageError::Registry {
                reference: src.reference.clone(),
                source: Box::new(source),
            })?;
        self.read_config(&src.reference, desc)
    }

    /// Downloads the layers missing from the store, [`CONCURRENT_DOWNLOADS`] at a time,
    /// while a blocking task unpacks them bottom first, each as soon as its blob is in (so
    /// the first layer unpacks while later ones still download, as the chain allows). A
    /// layer whose blob is stored and whose chain is unpacked is reported as already there.
    /// The first failure cancels the rest; downloaded bytes stay in resumable ingests and
    /// unpacked layers stay committed under the lease, for a retry.
    async fn fetch_and_unpack(
        &self,
        lease: &str,
        src: &Source<'_>,
        layers: &[Descriptor],
        config: &ImageConfig,
        progress: &dyn PullProgress,
    ) -> Result<()> {
        let chain_ids = config.chain_ids();
        // Every blob joins the lease before it can be committed, in one transaction.
        self.meta.write(|tx| {
            for l in layers {
                tx.add_lease_resource(lease, LeaseResource::Content(l.digest.clone()))?;
            }
            Ok(())
        })?;
        let semaphore = Arc::new(Semaphore::new(CONCURRENT_DOWNLOADS));
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Blobs now in the store, for the unpacker; dropped when no more can come.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Digest>();
        let mut ready_tx = Some(ready_tx);
        let mut tasks = JoinSet::new();
        let mut queued = BTreeSet::new();
        let mut present = BTreeSet::new();
        for (layer, chain) in layers.iter().zip(&chain_ids) {
            if self.store.exists(&layer.digest)? {
                if self.committed(&chain.to_string())? && present.insert(layer.digest.clone()) {
                    progress.event(PullEvent::AlreadyExists {
                        layer: layer.digest.clone(),
                    });
                }
                if let Some(r) = &ready_tx {
                    let _ = r.send(layer.digest.clone());
                }
                continue;
            }
            if !queued.insert(layer.digest.clone()) {
                continue; // The same blob twice in one image: one download.
            }
            progress.event(PullEvent::Waiting {
                layer: layer.digest.clone(),
                size: layer.size,
            });
            let (registry, store, sem, tx) = (
                src.registry.clone(),
                self.store.clone(),
                semaphore.clone(),
                tx.clone(),
            );
            let (host, repository) = (src.host.to_string(), src.repository.to_string());
            let (digest, size) = (layer.digest.clone(), layer.size);
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                let Ok(_permit) = sem.acquire_owned().await else {
                    return;
                };
                let _ = tx.send(Msg::Started(digest.clone(), size));
                let p = ChannelProgress(tx.clone());
                let r = registry
                    .fetch_blob(&host, &repository, &digest, size, &store, &p)
                    .await;
                let _ = tx.send(Msg::Finished(digest, r));
            });
        }
        if queued.is_empty() {
            ready_tx = None;
        }
        let unpacker = {
            let this = self.clone_handles();
            let (lease, reference) = (lease.to_string(), src.reference.clone());
            let (layers, config) = (layers.to_vec(), config.clone());
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let mut ready = BTreeSet::new();
                this.unpack_all_waiting(
                    &lease,
                    &reference,
                    &layers,
                    &config,
                    &mut |d| {
                        while !ready.contains(d) {
                            match ready_rx.recv() {
                                Ok(got) => {
                                    ready.insert(got);
                                }
                                Err(_) => return false,
                            }
                        }
                        true
                    },
                    &mut |step| {
                        let _ = tx.send(Msg::Unpack(step));
                    },
                )
            })
        };
        // The tasks and the unpacker hold the only senders now: the channel closes when
        // the last of them ends.
        drop(tx);
        let mut verifying = BTreeSet::new();
        let mut done = 0usize;
        let mut failure = None;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Started(layer, total) => progress.event(PullEvent::Downloading {
                    layer,
                    done: 0,
                    total,
                }),
                Msg::Update(layer, got, total) => {
                    progress.event(PullEvent::Downloading {
                        layer: layer.clone(),
                        done: got,
                        total,
                    });
                    if got >= total && verifying.insert(layer.clone()) {
                        progress.event(PullEvent::Verifying { layer });
                    }
                }
                Msg::Finished(layer, Ok(())) => {
                    done += 1;
                    progress.event(PullEvent::DownloadComplete {
                        layer: layer.clone(),
                    });
                    if let Some(r) = &ready_tx {
                        let _ = r.send(layer);
                    }
                    if done == queued.len() {
                        ready_tx = None;
                    }
                }
                Msg::Finished(_, Err(source)) => {
                    failure = Some(ImageError::Registry {
                        reference: src.reference.clone(),
                        source: Box::new(source),
                    });
                    tasks.abort_all();
                    // The unpacker stops at the first layer it can no longer get.
                    ready_tx = None;
                    break;
                }
                // Unpacked before: done, unless the loop above said it was all there.
                Msg::Unpack(LayerStep::Present(i)) => {
                    if let Some(l) = layers.get(i).filter(|l| !present.contains(&l.digest)) {
                        progress.event(PullEvent::Done {
                            layer: l.digest.clone(),
                        });
                    }
                }
                Msg::Unpack(LayerStep::Extracting(i)) => {
                    if let Some(l) = layers.get(i) {
                        progress.event(PullEvent::Extracting {
                            layer: l.digest.clone(),
                        });
                    }
                }
                Msg::Unpack(LayerStep::Extracted(i)) => {
                    if let Some(l) = layers.get(i) {
                        progress.event(PullEvent::Done {
                            layer: l.digest.clone(),
                        });
                    }
                }
            }
        }
        drop(ready_tx);
        // Wait for aborted tasks to be gone, and notice any that panicked.
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                if failure.is_none() && !e.is_cancelled() {
                    failure = Some(ImageError::Task {
                        what: "downloading a layer",
                        reason: e.to_string(),
                    });
                }
            }
        }
        let unpacked = unpacker.await.map_err(|e| ImageError::Task {
            what: "unpacking layers",
            reason: e.to_string(),
        });
        // A download failure is the cause; the unpacker's "not downloaded" only follows it.
        if let Some(e) = failure {
            return Err(e);
        }
        unpacked??;
        if done != queued.len() {
            return Err(ImageError::Task {
                what: "downloading layers",
                reason: format!("{} of {} downloads finished", done, queued.len()),
            });
        }
        Ok(())
    }

    /// A second handle on the same store, database, snapshotter and client, for blocking
    /// tasks (which need `'static` values).
    pub(super) fn clone_handles(&self) -> ImageService {
        ImageService {
            root: self.root.clone(),
            store: self.store.clone(),
            meta: self.meta.clone(),
            snapshotter: self.snapshotter.clone(),
            registry: self.registry.clone(),
            resolved: self.resolved.clone(),
        }
    }
}
