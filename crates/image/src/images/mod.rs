//! The image service: images as the rest of muelle sees them, on top of the content store,
//! the metadata database, a snapshotter and the registry client.
//!
//! [`ImageService`] owns one muelle root laid out as DESIGN.md says:
//!
//! ```text
//! <root>/content/blobs/<alg>/<hex>   blobs (index, manifests, configs, layers) as received
//! <root>/meta.db                     image names, leases, snapshot records
//! <root>/snapshots/                  the snapshotter (overlayfs, or native as a fallback)
//! ```
//!
//! An image is one or more names in [`MetaDb`] pointing at the index or manifest they were
//! pulled or loaded as; its ID is the digest of its config, as in Docker. A name pulled by tag
//! also gets a digest name (`repo@sha256:…`, Docker's RepoDigests). Layers are unpacked into
//! committed snapshots keyed by chain ID, shared by every image whose chain passes through them.
//!
//! What makes a pull or load all-or-nothing:
//! - every blob and snapshot it touches is first added to a lease (an expiring one), so a GC
//!   running meanwhile keeps it;
//! - the image names are written last, in one transaction; until then nothing the user sees
//!   has changed. A failed pull keeps its lease until it expires, so a retry resumes
//!   downloads and reuses unpacked layers instead of starting again.
//!
//! Snapshot records: the snapshotter keeps its own index; [`MetaDb`] keeps a record of every
//! committed layer and container snapshot made here, because GC walks [`MetaDb`]. A snapshot
//! record is written after the snapshotter commits it (under the lease), and GC removes the
//! data through the snapshotter before the record.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use thiserror::Error;

use crate::digest::Digest;
use crate::distribution::{
    CredentialSource, Credentials, RegistryClient, RegistryError, RegistryOptions,
};
use crate::manifest::{
    self, media_type, Descriptor, ImageConfig, Manifest, ManifestError, Parsed, Platform,
};
use crate::meta::{
    BoxError, GcReport, ImageRecord, LeaseResource, MetaDb, MetaError, SnapshotKind,
    SnapshotRecord, GC_ROOT_LABEL, META_DB_FILE,
};
use crate::reference::{Reference, ReferenceError};
use crate::snapshot::{self, MountSpec, SnapshotError, Snapshotter};
use crate::store::{ContentStore, StoreError};

mod archive;
mod build_cache;
mod changes;
mod compressed;
mod cp;
mod healthcheck;
mod history;
mod import;
mod layout;
mod pull;
mod push;
mod push_manifest;
mod resolved_cache;
mod tree;

pub use archive::LoadedImage;
pub use build_cache::{CacheEntry, ConfigStep};
pub use changes::{Change, ChangeKind, CommitOptions};
pub use compressed::{Compressed, PendingCompressed, LABEL_COMPRESSED_PREFIX, LABEL_UNCOMPRESSED};
pub use cp::{
    archive_from_root, extract_into_root, extract_into_root_as, go_file_mode, stat_in_root,
    PathStat,
};
pub use history::HistoryEntry;
pub use import::{parse_change, ImportOptions};
pub use pull::{NoPullProgress, PullEvent, PullProgress};
pub use push::{NoPushProgress, PushEvent, PushOptions, PushProgress, Pushed};
/// `docker export` of a container: its rootfs, mounted by the engine (see
/// [`ImageService::rootfs_mounts`]), archived as it is seen.
pub use tree::write_tree_tar;

/// Label on an image record: the digest of the manifest chosen from its target (the target
/// itself for a single manifest). Kept so an index pulled for another platform still
/// resolves to the manifest that was pulled, not to the host's.
pub const LABEL_MANIFEST: &str = "muelle.io/image.manifest";
/// Label on an image record: the config digest, i.e. the image ID.
pub const LABEL_CONFIG: &str = "muelle.io/image.config";
/// Content label naming the repositories a blob was pulled from on a host (containerd's
/// convention: `containerd.io/distribution.source.<host>` = `repo[,repo…]`), so a push to
/// another repository there can mount it instead of uploading it.
pub const LABEL_SOURCE_PREFIX: &str = "containerd.io/distribution.source.";
/// The record name of an image that has no name (a `docker load` of an untagged image, an
/// untagged import): `<none>@` and the image ID. Never shown as a tag or digest name.
const UNTAGGED_PREFIX: &str = "<none>@";

/// The name prefix of build-cache records: an image a build step made, named by the step's
/// cache key. Such records keep the image's content and snapshots (they are GC roots like
/// any name) but are not names: lists, tags, digests and removal ignore them, and only
/// `docker builder prune` deletes them.
const BUILD_CACHE_PREFIX: &str = "<build-cache>@";

/// Whether a record is a name a user gave or sees (not a build-cache entry).
fn is_cache_record(name: &str) -> bool {
    name.starts_with(BUILD_CACHE_PREFIX)
}
/// Label on a container rootfs snapshot record: the ID (config digest) of the image it was
/// prepared from, the parent of a `commit`.
pub const LABEL_ROOTFS_IMAGE: &str = "muelle.io/rootfs.image";
/// Label on a container rootfs snapshot record: the manifest of that image, whose layers a
/// `commit` keeps under its new one.
pub const LABEL_ROOTFS_MANIFEST: &str = "muelle.io/rootfs.manifest";
/// Label value of [`GC_ROOT_LABEL`] on container rootfs snapshots.
const CONTAINER_ROOTFS: &str = "container-rootfs";

/// How long a pull or load lease protects what it fetched if the pull never finishes: long
/// enough for a retry to resume, short enough that abandoned downloads are reclaimed.
const LEASE_TTL: Duration = Duration::from_secs(60 * 60);

/// Image configs are read whole; bigger than this is not a config.
const MAX_CONFIG_SIZE: u64 = 64 << 20;

/// Errors of the image service, each naming the image, blob, snapshot or path concerned.
#[derive(Debug, Error)]
pub enum ImageError {
    #[error("image root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("content store: {0}")]
    Store(#[from] StoreError),
    #[error("image metadata: {0}")]
    Meta(#[from] MetaError),
    #[error("snapshot {key}: {source}")]
    Snapshot {
        key: String,
        source: Box<SnapshotError>,
    },
    #[error("{reference}: {source}")]
    Registry {
        reference: String,
        source: Box<RegistryError>,
    },
    #[error("{reference}: document {digest}: {source}")]
    Document {
        reference: String,
        digest: Digest,
        source: ManifestError,
    },
    #[error("{reference}: {source}")]
    Platform {
        reference: String,
        source: ManifestError,
    },
    #[error("{reference}: the image is for {found}, not {wanted}")]
    PlatformMismatch {
        reference: String,
        wanted: String,
        found: String,
    },
    #[error("{reference}: {digest} is a {media_type}, not an image manifest or index")]
    NotAnImage {
        reference: String,
        digest: Digest,
        media_type: String,
    },
    #[error("{reference}: blob {digest} is {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        reference: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{reference}: blob {digest} is {size} bytes, more than the {limit} allowed")]
    TooLarge {
        reference: String,
        digest: Digest,
        size: u64,
        limit: u64,
    },
    #[error(
        "{reference}: the manifest lists {layers} layer(s) but the config has {diff_ids} diff_id(s)"
    )]
    LayerCount {
        reference: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("{reference}: layer {layer}: {source}")]
    Unpack {
        reference: String,
        layer: Digest,
        source: Box<SnapshotError>,
    },
    #[error("no such image: {name}")]
    NotFound { name: String },
    #[error("image ID prefix {prefix} is ambiguous: {}", ids.join(", "))]
    Ambiguous { prefix: String, ids: Vec<String> },
    #[error(
        "image {id} is referenced in multiple repositories ({}): remove it by name, or force",
        names.join(", ")
    )]
    MultipleRepositories { id: Digest, names: Vec<String> },
    #[error("snapshot {key} already exists")]
    SnapshotExists { key: String },
    #[error("invalid image name {name:?}: {source}")]
    Reference {
        name: String,
        source: ReferenceError,
    },
    #[error("OCI layout {path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    #[error("OCI layout {path}: {source}")]
    LayoutIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("archive: {reason}")]
    Archive { reason: String },
    #[error("import: {reason}")]
    Import { reason: String },
    #[error("{what}: background task failed: {reason}")]
    Task { what: &'static str, reason: String },
    /// `docker cp`: the path does not exist in the container.
    #[error("could not find the file {path} in the container")]
    PathNotFound { path: String },
    /// `docker cp`: the destination of an extraction is not a directory.
    #[error("{path} is not a directory in the container")]
    NotADirectory { path: String },
    /// A file operation inside a container rootfs failed.
    #[error("{path}: {source}")]
    RootfsIo {
        path: String,
        source: std::io::Error,
    },
    /// `docker cp` into a container: the archive is invalid, or an entry was refused.
    #[error("extracting into {path}: {source}")]
    Extract {
        path: String,
        source: Box<crate::unpack::UnpackError>,
    },
    /// The container snapshot cannot be used for what was asked (not a container rootfs,
    /// no record of its image, a snapshotter that cannot do it).
    #[error("container rootfs {key}: {reason}")]
    Rootfs { key: String, reason: String },
}

impl ImageError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        use muelle_types::ErrorKind as K;
        use ImageError as I;
        match self {
            I::NotFound { .. } | I::Platform { .. } | I::PathNotFound { .. } => K::NotFound,
            I::MultipleRepositories { .. } => K::Conflict,
            I::Reference { .. }
            | I::Ambiguous { .. }
            | I::PlatformMismatch { .. }
            | I::NotADirectory { .. } => K::InvalidParameter,
            I::Registry { source, .. } => source.kind(),
            I::Extract { source, .. } => source.kind(),
            _ => K::System,
        }
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

fn snap_err(key: impl Into<String>) -> impl FnOnce(SnapshotError) -> ImageError {
    let key = key.into();
    move |source| ImageError::Snapshot {
        key,
        source: Box::new(source),
    }
}

/// One image as `docker images` / `docker inspect` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    /// The config digest.
    pub id: Digest,
    /// Full normalised names with a tag (`docker.io/library/busybox:latest`), sorted.
    pub repo_tags: Vec<String>,
    /// Full names with a digest (`docker.io/library/busybox@sha256:…`), sorted.
    pub repo_digests: Vec<String>,
    /// What the first name points at: the index or manifest as pulled or loaded.
    pub target: Descriptor,
    /// The manifest of this platform (the target itself when it is a manifest).
    pub manifest: Digest,
    pub platform: Platform,
    /// Bytes of content: the config and the layers as stored (compressed).
    pub size: u64,
    /// The layers' chain IDs, bottom first: the keys of their snapshots.
    pub chain_ids: Vec<Digest>,
    pub config: ImageConfig,
}

/// What [`ImageService::remove`] did, in order (Docker's `Untagged:`/`Deleted:` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Untagged(String),
    /// The last name of the image went: its ID. Content goes at the next prune.
    Deleted(Digest),
}

/// Every image record grouped by image ID, with the documents the group stands for.
type Groups = BTreeMap<Digest, (Arc<Resolved>, Vec<ImageRecord>)>;

/// An image record's manifest and config, read from the store.
#[derive(Debug, Clone)]
struct Resolved {
    manifest_digest: Digest,
    manifest: Manifest,
    config_digest: Digest,
    config: ImageConfig,
}

/// The image service of one muelle root. All methods take `&self`; it is `Sync`.
pub struct ImageService {
    root: PathBuf,
    store: ContentStore,
    meta: Arc<MetaDb>,
    snapshotter: Arc<dyn Snapshotter>,
    registry: RegistryClient,
    /// Shared with the handles `clone_handles` makes.
    resolved: Arc<resolved_cache::ResolvedCache<Resolved>>,
}

impl std::fmt::Debug for ImageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageService")
            .field("root", &self.root)
            .field("snapshotter", &self.snapshotter.name())
            .finish_non_exhaustive()
    }
}

impl ImageService {
    /// Opens (creating if needed) the image side of a muelle root such as /var/lib/muelle.
    /// The metadata database is locked by this process while the service lives.
    pub fn open(root: impl Into<PathBuf>, registry: RegistryOptions) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| ImageError::Root {
            path: root.clone(),
            source,
        })?;
        let store = ContentStore::open(root.join("content"))?;
        let meta = Arc::new(MetaDb::open(root.join(META_DB_FILE))?);
        let snapshotter: Arc<dyn Snapshotter> =
            Arc::from(snapshot::open(&root.join("snapshots")).map_err(snap_err("(open)"))?);
        let registry = RegistryClient::new(registry).map_err(|source| ImageError::Registry {
            reference: "registry client".into(),
            source: Box::new(source),
        })?;
        let service = ImageService {
            root,
            store,
            meta,
            snapshotter,
            registry,
            resolved: Default::default(),
        };
        // Best effort: a leftover ingest only costs disk until the next prune.
        let _ = service.remove_abandoned_compressions();
        Ok(service)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store(&self) -> &ContentStore {
        &self.store
    }

    pub fn meta(&self) -> &MetaDb {
        &self.meta
    }

    pub fn snapshotter(&self) -> &dyn Snapshotter {
        &*self.snapshotter
    }

    pub fn registry(&self) -> &RegistryClient {
        &self.registry
    }

    /// The client to reach `reference`'s registry with: the configured one, or one that
    /// authenticates with `credentials` there.
    fn registry_for(
        &self,
        reference: &Reference,
        credentials: Option<Credentials>,
    ) -> RegistryClient {
        match credentials {
            None => self.registry.clone(),
            Some(c) => self.registry.with_credentials(CredentialSource::Static(
                std::collections::HashMap::from([(reference.registry_host().to_string(), c)]),
            )),
        }
    }

    /// `docker tag SOURCE TARGET`: `target` (a tag or digest name) now names the image
    /// `source` names (a name or an ID). A name that named another image moves.
    pub fn tag(&self, source: &str, target: &Reference) -> Result<ImageSummary> {
        let groups = self.groups()?;
        let id = self.find_id(source, &groups)?;
        let Some((resolved, records)) = groups.get(&id) else {
            return Err(ImageError::NotFound {
                name: source.to_string(),
            });
        };
        let Some(from) = records.first() else {
            return Err(ImageError::NotFound {
                name: source.to_string(),
            });
        };
        let name = target.to_string();
        let untagged = format!("{UNTAGGED_PREFIX}{id}");
        let record = self.meta.write(|tx| {
            let record = tx.put_image(&name, from.target.clone(), from.labels.clone())?;
            if tx.get_image(&untagged)?.is_some() {
                tx.delete_image(&untagged)?;
            }
            Ok(record)
        })?;
        let mut all: Vec<ImageRecord> = records
            .iter()
            .filter(|r| r.name != name && r.name != untagged)
            .cloned()
            .collect();
        all.push(record);
        Ok(summary(resolved, &all))
    }

    // Queries.

    /// The image named `name_or_id`: a reference (`busybox`, `host/repo:tag`, `repo@digest`),
    /// an ID (`sha256:<hex>`), or an unambiguous prefix of an ID's hex.
    pub fn image(&self, name_or_id: &str) -> Result<ImageSummary> {
        let groups = self.groups()?;
        let id = self.find_id(name_or_id, &groups)?;
        let (resolved, records) = groups.get(&id).ok_or_else(|| ImageError::NotFound {
            name: name_or_id.to_string(),
        })?;
        Ok(summary(resolved, records))
    }

    /// Every image, one entry per ID, sorted by ID.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        Ok(self
            .groups()?
            .values()
            .filter(|(_, records)| records.iter().any(|r| !is_cache_record(&r.name)))
            .map(|(resolved, records)| summary(resolved, records))
            .collect())
    }

    /// Every record, grouped by image ID.
    fn groups(&self) -> Result<Groups> {
        let mut groups: Groups = BTreeMap::new();
        let mut live = std::collections::HashSet::new();
        for record in self.meta.list_images()? {
            live.insert(resolve_key(&record));
            let resolved = self.resolve(&record)?;
            groups
                .entry(resolved.config_digest.clone())
                .or_insert_with(|| (resolved, Vec::new()))
                .1
                .push(record);
        }
        self.resolved.retain(&live);
        Ok(groups)
    }

    /// The ID `name_or_id` names, trying a name first (as Docker does).
    fn find_id(&self, name_or_id: &str, groups: &Groups) -> Result<Digest> {
        if let Ok(reference) = Reference::parse(name_or_id) {
            let name = reference.to_string();
            for (id, (_, records)) in groups {
                if records.iter().any(|r| r.name == name) {
                    return Ok(id.clone());
                }
            }
        }
        let not_found = || ImageError::NotFound {
            name: name_or_id.to_string(),
        };
        let prefix = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let matches: Vec<&Digest> = groups
            .keys()
            .filter(|id| id.hex().starts_with(prefix))
            .collect();
        match matches.as_slice() {
            [] => Err(not_found()),
            [one] => Ok((*one).clone()),
            many => Err(ImageError::Ambiguous {
                prefix: name_or_id.to_string(),
                ids: many.iter().map(|d| d.to_string()).collect(),
            }),
        }
    }

    /// The manifest and config an image record stands for, read once.
    fn resolve(&self, record: &ImageRecord) -> Result<Arc<Resolved>> {
        self.resolved
            .get_or_read(resolve_key(record), || self.read_resolved(record))
    }

    /// Reads the manifest and config an image record stands for.
    fn read_resolved(&self, record: &ImageRecord) -> Result<Resolved> {
        let name = record.name.as_str();
        let target = &record.target;
        let labelled = record
            .labels
            .get(LABEL_MANIFEST)
            .and_then(|d| Digest::parse(d).ok());
        let manifest_digest = match labelled {
            Some(d) => d,
            None if media_type::is_index(&target.media_type) => {
                // A record made elsewhere, without our label: the host's platform.
                let bytes = self.read_doc(name, &target.digest)?;
                match parse_doc(name, &target.digest, &bytes, None)? {
                    Parsed::Index { index, .. } => {
                        manifest::select_platform(&index, &Platform::host())
                            .map_err(|source| ImageError::Platform {
                                reference: name.to_string(),
                                source,
                            })?
                            .digest
                            .clone()
                    }
                    Parsed::Manifest { .. } => target.digest.clone(),
                }
            }
            None => target.digest.clone(),
        };
        let bytes = self.read_doc(name, &manifest_digest)?;
        let manifest = match parse_doc(name, &manifest_digest, &bytes, None)? {
            Parsed::Manifest { manifest, .. } => manifest,
            Parsed::Index { media_type, .. } => {
                return Err(ImageError::NotAnImage {
                    reference: name.to_string(),
                    digest: manifest_digest,
                    media_type: media_type.to_string(),
                })
            }
        };
        let config_digest = manifest.config.digest.clone();
        let config = self.read_config(name, &manifest.config)?;
        Ok(Resolved {
            manifest_digest,
            manifest,
            config_digest,
            config,
        })
    }

    fn read_doc(&self, reference: &str, digest: &Digest) -> Result<Vec<u8>> {
        read_blob(
            &self.store,
            reference,
            digest,
            manifest::MAX_MANIFEST_SIZE as u64,
        )
    }

    fn read_config(&self, reference: &str, desc: &Descriptor) -> Result<ImageConfig> {
        if !media_type::is_image_config(&desc.media_type) {
            return Err(ImageError::NotAnImage {
                reference: reference.to_string(),
                digest: desc.digest.clone(),
                media_type: desc.media_type.clone(),
            });
        }
        let bytes = read_blob(&self.store, reference, &desc.digest, MAX_CONFIG_SIZE)?;
        ImageConfig::from_slice(&bytes).map_err(|source| ImageError::Document {
            reference: reference.to_string(),
            digest: desc.digest.clone(),
            source,
        })
    }

    // Removal and GC.

    /// `docker rmi`. A name untags that name; when no tag of the image remains, its digest
    /// names go too and the image is deleted. An ID removes every name of the image, which
    /// needs `force` when the names span several repositories. Content and snapshots stay
    /// until [`prune`](Self::prune).
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Vec<Removed>> {
        let groups = self.groups()?;
        let id = self.find_id(name_or_id, &groups)?;
        let Some((_, records)) = groups.get(&id) else {
            return Err(ImageError::NotFound {
                name: name_or_id.to_string(),
            });
        };
        let records: Vec<&ImageRecord> = records
            .iter()
            .filter(|r| !is_cache_record(&r.name))
            .collect();
        if records.is_empty() {
            return Err(ImageError::NotFound {
                name: name_or_id.to_string(),
            });
        }
        let by_name = Reference::parse(name_or_id)
            .ok()
            .map(|r| r.to_string())
            .filter(|n| records.iter().any(|r| &r.name == n));
        let doomed: Vec<String> = match by_name {
            Some(name) => {
                let mut doomed = vec![name.clone()];
                // Docker's rule: when a repository's last tag goes, its digest names
                // (`repo@sha256:…`, from a pull or a push) go too instead of staying as
                // `<none>` rows. Other repositories' names keep the image.
                if !is_digest_name(&name) {
                    let repo = repository_of(&name);
                    let of_repo =
                        |r: &&&ImageRecord| r.name != name && repository_of(&r.name) == repo;
                    let tag_left = records
                        .iter()
                        .filter(of_repo)
                        .any(|r| !is_digest_name(&r.name));
                    if !tag_left {
                        doomed.extend(
                            records
                                .iter()
                                .filter(of_repo)
                                .filter(|r| is_digest_name(&r.name))
                                .map(|r| r.name.clone()),
                        );
                    }
                }
                doomed
            }
            None => {
                let repos: BTreeSet<String> =
                    records.iter().map(|r| repository_of(&r.name)).collect();
                if repos.len() > 1 && !force {
                    return Err(ImageError::MultipleRepositories {
                        id,
                        names: records.iter().map(|r| r.name.clone()).collect(),
                    });
                }
                records.iter().map(|r| r.name.clone()).collect()
            }
        };
        self.meta.write(|tx| {
            for name in &doomed {
                tx.delete_image(name)?;
            }
            Ok(())
        })?;
        let mut out: Vec<Removed> = doomed.into_iter().map(Removed::Untagged).collect();
        let remaining = self
            .meta
            .list_images()?
            .iter()
            .filter(|r| !is_cache_record(&r.name))
            .any(|r| records.iter().any(|old| old.target == r.target));
        if !remaining {
            out.push(Removed::Deleted(id));
        }
        Ok(out)
    }

    /// Garbage collection: reclaims the remains of failed unpacks, deletes expired leases,
    /// then every blob and snapshot no image, live lease or container rootfs reaches
    /// (through the snapshotter for snapshot data).
    pub fn prune(&self) -> Result<GcReport> {
        // What failed or interrupted unpacks left is invisible to the mark and sweep (no
        // record names it in the database), so the snapshotter reclaims it first.
        self.snapshotter.cleanup().map_err(snap_err("(cleanup)"))?;
        self.remove_abandoned_compressions()?;
        let snapshotter = self.snapshotter.clone();
        let mut remove = move |key: &str| -> std::result::Result<(), BoxError> {
            match snapshotter.remove(key) {
                // Already gone (a crash after the data went, or never committed here).
                Ok(()) | Err(SnapshotError::NotFound { .. }) => Ok(()),
                Err(e) => Err(Box::new(e)),
            }
        };
        Ok(self.meta.gc(&self.store, &mut remove)?)
    }

    // Container rootfs.

    /// Makes the active snapshot `container_key` on the image's top layer and returns its
    /// mounts (the container's writable rootfs). Layers missing from the snapshotter are
    /// unpacked from the store first. The snapshot is a GC root until
    /// [`remove_rootfs`](Self::remove_rootfs).
    pub fn prepare_rootfs(&self, image: &str, container_key: &str) -> Result<Vec<MountSpec>> {
        let groups = self.groups()?;
        let id = self.find_id(image, &groups)?;
        let Some((resolved, _)) = groups.get(&id) else {
            return Err(ImageError::NotFound {
                name: image.to_string(),
            });
        };
        let mut record = rootfs_record(container_key, resolved);
        if let Some(mounts) = self.prepare_on_present_chain(&mut record, resolved, image)? {
            return Ok(mounts);
        }
        // The lease keeps the chain while the container's record is not yet there to do so.
        let lease = self.new_lease("rootfs")?;
        let result = (|| {
            let chain = self.unpack_all(
                &lease,
                image,
                &resolved.manifest.layers,
                &resolved.config,
                &mut |_| {},
            )?;
            let parent = chain.last().map(Digest::to_string);
            record.parent = parent.clone();
            self.meta
                .write(|tx| {
                    if tx.get_snapshot(container_key)?.is_some() {
                        return Ok(false);
                    }
                    tx.put_snapshot(&record)?;
                    Ok(true)
                })?
                .then_some(())
                .ok_or_else(|| ImageError::SnapshotExists {
                    key: container_key.to_string(),
                })?;
            match self.snapshotter.prepare(container_key, parent.as_deref()) {
                Ok(mounts) => Ok(mounts),
                Err(e) => {
                    // The record must not outlive a snapshot that was never made; the first
                    // error is the one to report.
                    let _ = self.meta.remove_snapshot(container_key);
                    Err(snap_err(container_key)(e))
                }
            }
        })();
        let _ = self.meta.delete_lease(&lease);
        result
    }

    /// [`prepare_rootfs`](Self::prepare_rootfs) when every layer of the image is unpacked
    /// already (the common case): the container's record goes in with one transaction that
    /// finds the top layer's record committed, so no lease is needed (GC runs in a write
    /// transaction too: it either removed the chain before, which this one sees, or finds the
    /// container's record holding it after). `None`: a layer is missing, the caller unpacks.
    fn prepare_on_present_chain(
        &self,
        record: &mut SnapshotRecord,
        resolved: &Resolved,
        image: &str,
    ) -> Result<Option<Vec<MountSpec>>> {
        let key = record.key.clone();
        check_layer_count(image, &resolved.manifest.layers, &resolved.config)?;
        let Some(top) = top_chain_id(&resolved.config) else {
            return Ok(None);
        };
        record.parent = Some(top.clone());
        let inserted = self.meta.write(|tx| {
            if tx.get_snapshot(&key)?.is_some() {
                return Ok(Err(ImageError::SnapshotExists { key: key.clone() }));
            }
            match tx.get_snapshot(&top)? {
                Some(p) if p.kind == SnapshotKind::Committed => {
                    tx.put_snapshot(&*record)?;
                    Ok(Ok(true))
                }
                _ => Ok(Ok(false)),
            }
        })??;
        if !inserted {
            return Ok(None);
        }
        match self.snapshotter.prepare(&key, Some(&top)) {
            Ok(mounts) => Ok(Some(mounts)),
            Err(e) => {
                let _ = self.meta.remove_snapshot(&key);
                match e {
                    // The record outlived the layer's data (a GC cut short by a crash
                    // removes data first): the slow path unpacks it again.
                    SnapshotError::NotFound { key: missing } if missing == top => Ok(None),
                    e => Err(snap_err(&key)(e)),
                }
            }
        }
    }

    /// Removes a container's rootfs snapshot (data, then record). Missing is fine.
    pub fn remove_rootfs(&self, container_key: &str) -> Result<()> {
        match self.snapshotter.remove(container_key) {
            Ok(()) | Err(SnapshotError::NotFound { .. }) => {}
            Err(e) => return Err(snap_err(container_key)(e)),
        }
        match self.meta.remove_snapshot(container_key) {
            Ok(_) | Err(MetaError::SnapshotNotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    // Shared by pull and load.

    /// Creates an expiring lease with a fresh id.
    fn new_lease(&self, purpose: &str) -> Result<String> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let id = format!(
            "{purpose}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        self.meta.create_lease(&id, Some(LEASE_TTL))?;
        Ok(id)
    }

    /// Unpacks the layers bottom first, skipping chains already committed, and makes sure
    /// each has its snapshot record. Returns the chain IDs. `on_layer` hears
    /// `(index, Some(true))` before an unpack, `(index, Some(false))` after it, and
    /// `(index, None)` for a layer that was already there.
    fn unpack_all(
        &self,
        lease: &str,
        reference: &str,
        layers: &[Descriptor],
        config: &ImageConfig,
        on_layer: &mut dyn FnMut(LayerStep),
    ) -> Result<Vec<Digest>> {
        self.unpack_all_waiting(lease, reference, layers, config, &mut |_| true, on_layer)
    }

    /// [`unpack_all`](Self::unpack_all) for blobs still arriving: before unpacking a layer
    /// it calls `wait` with the layer's digest, which returns once the blob is in the
    /// store, or `false` if it never will be (a failed download).
    fn unpack_all_waiting(
        &self,
        lease: &str,
        reference: &str,
        layers: &[Descriptor],
        config: &ImageConfig,
        wait: &mut dyn FnMut(&Digest) -> bool,
        on_layer: &mut dyn FnMut(LayerStep),
    ) -> Result<Vec<Digest>> {
        let diff_ids = &config.rootfs.diff_ids;
        check_layer_count(reference, layers, config)?;
        let mut parent: Option<Digest> = None;
        let mut chain_ids = Vec::with_capacity(layers.len());
        for (i, (layer, diff_id)) in layers.iter().zip(diff_ids).enumerate() {
            let chain = snapshot::chain_id(parent.as_ref(), diff_id);
            let key = chain.to_string();
            // Into the lease before looking: a GC running now either already removed it
            // (and the look sees that) or will keep it.
            self.meta
                .add_lease_resource(lease, LeaseResource::Snapshot(key.clone()))?;
            if self.committed(&key)? {
                on_layer(LayerStep::Present(i));
            } else {
                if !wait(&layer.digest) {
                    return Err(ImageError::Task {
                        what: "unpacking layers",
                        reason: format!("layer {} was not downloaded", layer.digest),
                    });
                }
                on_layer(LayerStep::Extracting(i));
                let file = self.store.get(&layer.digest)?;
                snapshot::unpack_layer(
                    &*self.snapshotter,
                    parent.as_ref(),
                    std::io::BufReader::with_capacity(1 << 20, file),
                    &layer.media_type,
                    diff_id,
                )
                .map_err(|source| ImageError::Unpack {
                    reference: reference.to_string(),
                    layer: layer.digest.clone(),
                    source: Box::new(source),
                })?;
                on_layer(LayerStep::Extracted(i));
            }
            let parent_key = parent.as_ref().map(Digest::to_string);
            self.meta.write(|tx| {
                if tx.get_snapshot(&key)?.is_none() {
                    tx.put_snapshot(&SnapshotRecord::new(
                        &key,
                        parent_key.as_deref(),
                        SnapshotKind::Committed,
                    ))?;
                }
                Ok(())
            })?;
            chain_ids.push(chain.clone());
            parent = Some(chain);
        }
        Ok(chain_ids)
    }

    /// Whether the snapshotter has `key` committed.
    fn committed(&self, key: &str) -> Result<bool> {
        match self.snapshotter.stat(key) {
            Ok(info) => Ok(info.kind == snapshot::Kind::Committed),
            Err(SnapshotError::NotFound { .. }) => Ok(false),
            Err(e) => Err(snap_err(key)(e)),
        }
    }

    /// Writes `bytes` as the blob `digest` (verified by the store at commit), after adding it
    /// to the lease.
    fn put_blob(&self, lease: &str, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.meta
            .add_lease_resource(lease, LeaseResource::Content(digest.clone()))?;
        if self.store.exists(digest)? {
            return Ok(());
        }
        let reference = unique_ingest_ref("put", digest);
        let mut writer = self
            .store
            .writer(&reference, Some((digest.clone(), bytes.len() as u64)))?;
        if let Err(source) = std::io::Write::write_all(&mut writer, bytes) {
            drop(writer);
            let _ = self.store.abort(&reference);
            return Err(StoreError::Blob {
                digest: digest.clone(),
                source,
            }
            .into());
        }
        writer.commit()?;
        Ok(())
    }
}

/// What [`ImageService::unpack_all`] reports per layer (by index in the manifest).
#[derive(Debug, Clone, Copy)]
enum LayerStep {
    Present(usize),
    Extracting(usize),
    Extracted(usize),
}

/// The record of a container's rootfs snapshot (its parent is set once the chain is known):
/// a GC root, labelled with the image's config and manifest, which `commit` builds on, so
/// the engine need not remember which image a container was made from.
fn rootfs_record(container_key: &str, resolved: &Resolved) -> SnapshotRecord {
    let mut record = SnapshotRecord::new(container_key, None, SnapshotKind::Active);
    record
        .labels
        .insert(GC_ROOT_LABEL.into(), CONTAINER_ROOTFS.into());
    record.labels.insert(
        LABEL_ROOTFS_IMAGE.into(),
        resolved.config_digest.to_string(),
    );
    record.labels.insert(
        LABEL_ROOTFS_MANIFEST.into(),
        resolved.manifest_digest.to_string(),
    );
    record
}

/// The chain ID of the image's top layer, `None` for an image without layers.
fn top_chain_id(config: &ImageConfig) -> Option<String> {
    let mut parent: Option<Digest> = None;
    for diff_id in &config.rootfs.diff_ids {
        parent = Some(snapshot::chain_id(parent.as_ref(), diff_id));
    }
    parent.map(|d| d.to_string())
}

fn check_layer_count(reference: &str, layers: &[Descriptor], config: &ImageConfig) -> Result<()> {
    if layers.len() != config.rootfs.diff_ids.len() {
        return Err(ImageError::LayerCount {
            reference: reference.to_string(),
            layers: layers.len(),
            diff_ids: config.rootfs.diff_ids.len(),
        });
    }
    Ok(())
}

fn parse_doc(
    reference: &str,
    digest: &Digest,
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<Parsed> {
    manifest::parse_manifest(bytes, content_type).map_err(|source| ImageError::Document {
        reference: reference.to_string(),
        digest: digest.clone(),
        source,
    })
}

/// Reads a whole blob of at most `max` bytes.
fn read_blob(store: &ContentStore, reference: &str, digest: &Digest, max: u64) -> Result<Vec<u8>> {
    let file = store.get(digest)?;
    let mut bytes = Vec::new();
    // One byte over the limit tells a too-large blob without reading all of it.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| StoreError::Blob {
            digest: digest.clone(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(ImageError::TooLarge {
            reference: reference.to_string(),
            digest: digest.clone(),
            size: bytes.len() as u64,
            limit: max,
        });
    }
    Ok(bytes)
}

/// An ingest ref no concurrent writer (thread or process) uses, for blobs written whole.
fn unique_ingest_ref(purpose: &str, digest: &Digest) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "{purpose}-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        digest.hex()
    )
}

/// `domain/path` of a stored name (`…/busybox:latest` or `…/busybox@sha256:…`).
/// `repo@sha256:…` (not the `<none>@ID` record of an untagged image).
fn is_digest_name(name: &str) -> bool {
    name.contains('@') && !name.starts_with(UNTAGGED_PREFIX)
}

fn repository_of(name: &str) -> String {
    Reference::parse(name)
        .map(|r| r.repository())
        .unwrap_or_else(|_| name.to_string())
}

/// What decides which documents a record stands for (see `read_resolved`).
fn resolve_key(record: &ImageRecord) -> resolved_cache::Key {
    (
        record.target.digest.clone(),
        record.labels.get(LABEL_MANIFEST).cloned(),
    )
}

fn summary(resolved: &Resolved, records: &[ImageRecord]) -> ImageSummary {
    let mut repo_tags: Vec<String> = Vec::new();
    let mut repo_digests: Vec<String> = Vec::new();
    for r in records {
        if r.name.starts_with(UNTAGGED_PREFIX) || is_cache_record(&r.name) {
            continue;
        }
        if r.name.contains('@') {
            repo_digests.push(r.name.clone());
        } else {
            repo_tags.push(r.name.clone());
        }
    }
    repo_tags.sort();
    repo_digests.sort();
    let size = resolved.manifest.config.size
        + resolved.manifest.layers.iter().map(|l| l.size).sum::<u64>();
    ImageSummary {
        id: resolved.config_digest.clone(),
        repo_tags,
        repo_digests,
        target: records
            .first()
            .map(|r| r.target.clone())
            .unwrap_or_else(|| {
                Descriptor::new(
                    media_type::OCI_MANIFEST,
                    resolved.manifest_digest.clone(),
                    0,
                )
            }),
        manifest: resolved.manifest_digest.clone(),
        platform: resolved.config.platform(),
        size,
        chain_ids: resolved.config.chain_ids(),
        config: resolved.config.clone(),
    }
}

/// The labels recorded with an image name.
fn record_labels(manifest: &Digest, config: &Digest) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANIFEST.to_string(), manifest.to_string()),
        (LABEL_CONFIG.to_string(), config.to_string()),
    ])
}
