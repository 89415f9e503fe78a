//! The metadata database (`<root>/meta.db`): images, content labels and references, leases
//! and snapshots, in one embedded transactional store (redb), and the garbage collector that
//! walks from them.
//!
//! Every change that takes more than one step (tag, rename, a snapshot commit done through
//! [`MetaDb::write`], a whole GC pass) is one redb write transaction: a crash or an error
//! part way leaves the old state or the new one, never a mix. Readers see the state of the
//! last commit and never block writers.
//!
//! Tables map `&str` keys to JSON values. JSON (rather than redb tuples) lets a record gain
//! fields without a table migration, and sidesteps redb's own value encodings, which change
//! between majors (redb 5 changes how `Option<&str>` is stored).
//!
//! | table      | key                     | value             |
//! |------------|-------------------------|-------------------|
//! | `meta`     | `schema`                | schema version    |
//! | `images`   | image name (reference)  | [`ImageRecord`]   |
//! | `content`  | blob digest             | [`ContentRecord`] |
//! | `leases`   | lease id                | [`Lease`]         |
//! | `snapshots`| snapshot key            | [`SnapshotRecord`]|
//!
//! ## Garbage collection
//!
//! [`MetaDb::gc`] marks from the roots — every image's target, the blobs and snapshots of
//! leases that have not expired, and records labelled [`GC_ROOT_LABEL`] — through index →
//! manifests → config + layers (read from the content store), the explicit references of
//! [`ContentRecord`]s, the ChainIDs of reachable image configs (committed snapshots are keyed
//! by ChainID) and snapshot parents; then it deletes every blob and snapshot not marked.
//!
//! The whole pass holds the write transaction, so no lease, image or snapshot can be added
//! between mark and sweep. That is what makes leases work: a puller adds a blob's digest to
//! its lease *before* committing the blob to the store, so the blob is either seen by the
//! mark or written after the sweep.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::digest::Digest;
use crate::manifest::{self, media_type, Descriptor, ImageConfig, ManifestError, Parsed};
use crate::store::{ContentStore, StoreError};

/// The database's file name under the muelle root.
pub const META_DB_FILE: &str = "meta.db";

/// A label that makes a content or snapshot record a GC root by itself.
pub const GC_ROOT_LABEL: &str = "muelle.io/gc.root";

/// Version of the table layout; bumped when a change needs a migration.
const SCHEMA_VERSION: u64 = 1;

/// Image configs can be bigger than manifests, but not without bound: GC reads them whole.
const MAX_CONFIG_SIZE: u64 = 64 << 20;

type Table = TableDefinition<'static, &'static str, &'static [u8]>;
const META: Table = TableDefinition::new("meta");
const IMAGES: Table = TableDefinition::new("images");
const CONTENT: Table = TableDefinition::new("content");
const LEASES: Table = TableDefinition::new("leases");
const SNAPSHOTS: Table = TableDefinition::new("snapshots");

/// The error a snapshot remover callback may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of the metadata database, each naming the record or operation concerned.
#[derive(Debug, Error)]
pub enum MetaError {
    #[error("metadata database {path}: {source}")]
    Open { path: PathBuf, source: redb::Error },
    #[error("metadata database: {what}: {source}")]
    Db {
        what: &'static str,
        source: redb::Error,
    },
    #[error(
        "metadata database has schema version {found}; this muelle reads up to {SCHEMA_VERSION}"
    )]
    SchemaTooNew { found: u64 },
    #[error("metadata record {table}/{key} is corrupt: {source}")]
    Corrupt {
        table: &'static str,
        key: String,
        source: serde_json::Error,
    },
    #[error("encoding metadata record {table}/{key}: {source}")]
    Encode {
        table: &'static str,
        key: String,
        source: serde_json::Error,
    },
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },
    #[error("no such image: {name}")]
    ImageNotFound { name: String },
    #[error("image {name} already exists")]
    ImageExists { name: String },
    #[error("lease {id} not found")]
    LeaseNotFound { id: String },
    #[error("lease {id} already exists")]
    LeaseExists { id: String },
    #[error("snapshot {key} not found")]
    SnapshotNotFound { key: String },
    #[error("snapshot {key}: parent {parent} not found")]
    ParentNotFound { key: String, parent: String },
    #[error("snapshot {key}: parent {parent} is not committed")]
    ParentNotCommitted { key: String, parent: String },
    #[error("snapshot {key} has children: {}", children.join(", "))]
    SnapshotHasChildren { key: String, children: Vec<String> },
    #[error("gc: {0}")]
    Content(#[from] StoreError),
    #[error("gc: blob {digest}: {source}")]
    Document {
        digest: Digest,
        source: ManifestError,
    },
    #[error("gc: blob {digest}: {source}")]
    ReadBlob {
        digest: Digest,
        source: std::io::Error,
    },
}

pub type Result<T, E = MetaError> = std::result::Result<T, E>;

fn db_err<E: Into<redb::Error>>(what: &'static str) -> impl FnOnce(E) -> MetaError {
    move |e| MetaError::Db {
        what,
        source: e.into(),
    }
}

/// Times are stored as nanoseconds since the epoch: exact, and sortable as numbers.
mod unix_nanos {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        s.serialize_u64(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(UNIX_EPOCH + Duration::from_nanos(u64::deserialize(d)?))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            Ok(Option::<u64>::deserialize(d)?.map(|n| UNIX_EPOCH + Duration::from_nanos(n)))
        }
    }
}

/// An image name and what it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub name: String,
    /// The manifest or index the name resolves to.
    pub target: Descriptor,
    #[serde(with = "unix_nanos")]
    pub created: SystemTime,
    #[serde(with = "unix_nanos")]
    pub updated: SystemTime,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Labels of a blob and the blobs it references beyond what its own bytes say (GC follows
/// both).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentRecord {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub refs: BTreeSet<Digest>,
}

/// A lease: a set of blobs and snapshots kept from GC until the lease is deleted or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub id: String,
    #[serde(with = "unix_nanos")]
    pub created: SystemTime,
    /// `None`: until deleted.
    #[serde(with = "unix_nanos::option", default)]
    pub expires: Option<SystemTime>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub content: BTreeSet<Digest>,
    #[serde(default)]
    pub snapshots: BTreeSet<String>,
}

impl Lease {
    pub fn expired_at(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// Something a lease can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseResource {
    Content(Digest),
    Snapshot(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    /// Read-only, may be a parent.
    Committed,
    /// Writable (being unpacked into, or a container's upper dir).
    Active,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub key: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub kind: SnapshotKind,
    #[serde(with = "unix_nanos")]
    pub created: SystemTime,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl SnapshotRecord {
    pub fn new(key: &str, parent: Option<&str>, kind: SnapshotKind) -> Self {
        SnapshotRecord {
            key: key.to_string(),
            parent: parent.map(str::to_string),
            kind,
            created: SystemTime::now(),
            labels: BTreeMap::new(),
        }
    }
}

/// Where GC starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcRoots {
    /// Image name → target.
    pub images: BTreeMap<String, Descriptor>,
    /// Blobs held by live leases or labelled as roots.
    pub content: BTreeSet<Digest>,
    /// Snapshots held by live leases or labelled as roots.
    pub snapshots: BTreeSet<String>,
}

/// What a GC pass did.
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed_blobs: Vec<Digest>,
    pub removed_snapshots: Vec<String>,
    pub expired_leases: Vec<String>,
    /// Snapshots the remover failed on: their records (and their parents) are kept, so the
    /// next pass tries again.
    pub snapshot_errors: Vec<(String, BoxError)>,
}

fn check_name(what: &'static str, name: &str, max: usize) -> Result<()> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > max {
        "too long"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(MetaError::InvalidName {
        what,
        name: name.to_string(),
        reason,
    })
}

fn encode<T: Serialize>(table: &'static str, key: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| MetaError::Encode {
        table,
        key: key.to_string(),
        source,
    })
}

fn decode<T: DeserializeOwned>(table: &'static str, key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| MetaError::Corrupt {
        table,
        key: key.to_string(),
        source,
    })
}

fn get_in<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    table: &'static str,
    key: &str,
) -> Result<Option<T>> {
    match t.get(key).map_err(db_err("reading a record"))? {
        Some(v) => decode(table, key, v.value()).map(Some),
        None => Ok(None),
    }
}

fn all_in<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    table: &'static str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for entry in t.iter().map_err(db_err("listing records"))? {
        let (k, v) = entry.map_err(db_err("listing records"))?;
        out.push(decode(table, k.value(), v.value())?);
    }
    Ok(out)
}

/// The metadata database. Cheap to share across threads (`&MetaDb` is `Sync`).
#[derive(Debug)]
pub struct MetaDb {
    db: Database,
}

impl MetaDb {
    /// Opens (creating if needed) the database at `path`, usually `<root>/meta.db`. redb locks
    /// the file: a second open, from this process or another, fails.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let open_err = |e: redb::Error| MetaError::Open {
            path: path.to_path_buf(),
            source: e,
        };
        let db = Database::create(path).map_err(|e| open_err(e.into()))?;
        let meta = MetaDb { db };
        // Creating every table up front lets read transactions assume they exist.
        meta.write(|tx| {
            for def in [IMAGES, CONTENT, LEASES, SNAPSHOTS] {
                tx.txn.open_table(def).map_err(db_err("creating tables"))?;
            }
            let mut t = tx.txn.open_table(META).map_err(db_err("creating tables"))?;
            let found: Option<u64> = get_in(&t, "meta", "schema")?;
            match found {
                Some(v) if v > SCHEMA_VERSION => Err(MetaError::SchemaTooNew { found: v }),
                Some(_) => Ok(()),
                None => {
                    let v = encode("meta", "schema", &SCHEMA_VERSION)?;
                    t.insert("schema", v.as_slice())
                        .map_err(db_err("writing the schema version"))?;
                    Ok(())
                }
            }
        })?;
        Ok(meta)
    }

    /// Runs `f` in one write transaction: committed if `f` returns `Ok`, rolled back
    /// entirely if it returns `Err` (or panics). Write transactions are serialised; `f` must
    /// not call back into this database's write methods, which would wait for it forever.
    pub fn write<T>(&self, f: impl FnOnce(&MetaTxn<'_>) -> Result<T>) -> Result<T> {
        let txn = self
            .db
            .begin_write()
            .map_err(db_err("beginning a write transaction"))?;
        match f(&MetaTxn { txn: &txn }) {
            Ok(out) => {
                txn.commit().map_err(db_err("committing"))?;
                Ok(out)
            }
            Err(e) => {
                // The error that made us roll back is the one worth reporting.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    fn read_table<T: DeserializeOwned>(&self, def: Table, key: &str) -> Result<Option<T>> {
        let txn = self
            .db
            .begin_read()
            .map_err(db_err("beginning a read transaction"))?;
        let t = txn.open_table(def).map_err(db_err("opening a table"))?;
        get_in(&t, def_name(def), key)
    }

    fn read_all<T: DeserializeOwned>(&self, def: Table) -> Result<Vec<T>> {
        let txn = self
            .db
            .begin_read()
            .map_err(db_err("beginning a read transaction"))?;
        let t = txn.open_table(def).map_err(db_err("opening a table"))?;
        all_in(&t, def_name(def))
    }

    // Images.

    /// Points `name` at `target`, creating or replacing the image (keeping its creation time).
    pub fn put_image(
        &self,
        name: &str,
        target: Descriptor,
        labels: BTreeMap<String, String>,
    ) -> Result<ImageRecord> {
        self.write(|tx| tx.put_image(name, target, labels))
    }

    pub fn get_image(&self, name: &str) -> Result<Option<ImageRecord>> {
        self.read_table(IMAGES, name)
    }

    /// All images, sorted by name.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>> {
        self.read_all(IMAGES)
    }

    /// Removes an image name (not its content: that is GC's job). Returns what it pointed at.
    pub fn delete_image(&self, name: &str) -> Result<ImageRecord> {
        self.write(|tx| tx.delete_image(name))
    }

    /// `docker tag`: gives `source`'s target a second name, replacing what `target` named.
    pub fn tag_image(&self, source: &str, target: &str) -> Result<ImageRecord> {
        self.write(|tx| tx.tag_image(source, target))
    }

    /// Moves an image to a new name; fails if the new name is taken.
    pub fn rename_image(&self, old: &str, new: &str) -> Result<ImageRecord> {
        self.write(|tx| tx.rename_image(old, new))
    }

    // Content.

    pub fn get_content(&self, digest: &Digest) -> Result<Option<ContentRecord>> {
        self.read_table(CONTENT, &digest.to_string())
    }

    pub fn set_content_labels(
        &self,
        digest: &Digest,
        labels: BTreeMap<String, String>,
    ) -> Result<()> {
        self.write(|tx| tx.set_content_labels(digest, labels))
    }

    /// Records that `from` references `to`, so GC keeps `to` while `from` is kept.
    pub fn add_content_ref(&self, from: &Digest, to: &Digest) -> Result<()> {
        self.write(|tx| tx.add_content_ref(from, to))
    }

    // Leases.

    /// Creates a lease that expires after `ttl` (never, if `None`).
    pub fn create_lease(&self, id: &str, ttl: Option<Duration>) -> Result<Lease> {
        self.write(|tx| tx.create_lease(id, ttl))
    }

    pub fn get_lease(&self, id: &str) -> Result<Option<Lease>> {
        self.read_table(LEASES, id)
    }

    pub fn list_leases(&self) -> Result<Vec<Lease>> {
        self.read_all(LEASES)
    }

    /// Adds a blob or snapshot to a lease. Add a blob before committing it to the store.
    pub fn add_lease_resource(&self, id: &str, resource: LeaseResource) -> Result<()> {
        self.write(|tx| tx.add_lease_resource(id, resource))
    }

    /// Deletes a lease; what it held becomes collectable unless referenced otherwise.
    pub fn delete_lease(&self, id: &str) -> Result<()> {
        self.write(|tx| tx.delete_lease(id))
    }

    /// Ids of the leases expired at `now`.
    pub fn expired_leases(&self, now: SystemTime) -> Result<Vec<String>> {
        Ok(self
            .list_leases()?
            .into_iter()
            .filter(|l| l.expired_at(now))
            .map(|l| l.id)
            .collect())
    }

    // Snapshots.

    /// Creates or replaces a snapshot record. Its parent must exist and be committed.
    pub fn put_snapshot(&self, record: &SnapshotRecord) -> Result<()> {
        self.write(|tx| tx.put_snapshot(record))
    }

    pub fn get_snapshot(&self, key: &str) -> Result<Option<SnapshotRecord>> {
        self.read_table(SNAPSHOTS, key)
    }

    pub fn list_snapshots(&self) -> Result<Vec<SnapshotRecord>> {
        self.read_all(SNAPSHOTS)
    }

    /// Removes a snapshot record; refused while other snapshots have it as parent.
    pub fn remove_snapshot(&self, key: &str) -> Result<SnapshotRecord> {
        self.write(|tx| tx.remove_snapshot(key))
    }

    // Garbage collection.

    /// The roots GC would start from now.
    pub fn gc_roots(&self) -> Result<GcRoots> {
        let txn = self
            .db
            .begin_read()
            .map_err(db_err("beginning a read transaction"))?;
        let open = |def| txn.open_table(def).map_err(db_err("opening a table"));
        let images: Vec<ImageRecord> = all_in(&open(IMAGES)?, "images")?;
        let leases: Vec<Lease> = all_in(&open(LEASES)?, "leases")?;
        let content = all_keyed::<ContentRecord>(&open(CONTENT)?, "content")?;
        let snapshots: Vec<SnapshotRecord> = all_in(&open(SNAPSHOTS)?, "snapshots")?;
        Ok(roots_of(
            &images,
            &leases,
            &content,
            &snapshots,
            SystemTime::now(),
        ))
    }

    /// Mark and sweep (see the module documentation). Expired leases are deleted first.
    /// `remove_snapshot` removes one unreferenced snapshot's data (children are removed before
    /// their parents); on success its record goes too. It runs inside the GC transaction, so
    /// it must not write to this database, and it must accept a snapshot whose data is
    /// already gone: a crash after it ran but before the commit leaves the record behind for
    /// the next pass.
    pub fn gc(
        &self,
        store: &ContentStore,
        remove_snapshot: &mut dyn FnMut(&str) -> Result<(), BoxError>,
    ) -> Result<GcReport> {
        let mut report = GcReport::default();
        self.write(|tx| {
            let now = SystemTime::now();
            let (images, leases, content, snapshots) = {
                let open = |def| tx.txn.open_table(def).map_err(db_err("opening a table"));
                (
                    all_in::<ImageRecord>(&open(IMAGES)?, "images")?,
                    all_in::<Lease>(&open(LEASES)?, "leases")?,
                    all_keyed::<ContentRecord>(&open(CONTENT)?, "content")?,
                    all_in::<SnapshotRecord>(&open(SNAPSHOTS)?, "snapshots")?,
                )
            };
            for lease in leases.iter().filter(|l| l.expired_at(now)) {
                tx.delete_lease(&lease.id)?;
                report.expired_leases.push(lease.id.clone());
            }
            let roots = roots_of(&images, &leases, &content, &snapshots, now);
            let snapshots: BTreeMap<String, SnapshotRecord> =
                snapshots.into_iter().map(|s| (s.key.clone(), s)).collect();
            let marks = mark(store, &roots, &content, &snapshots)?;

            for digest in store.list()? {
                if marks.blobs.contains(&digest) {
                    continue;
                }
                match store.delete(&digest) {
                    Ok(()) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                tx.remove(CONTENT, &digest.to_string())?;
                report.removed_blobs.push(digest);
            }

            sweep_snapshots(
                tx,
                &snapshots,
                &marks.snapshots,
                remove_snapshot,
                &mut report,
            )?;
            Ok(())
        })?;
        Ok(report)
    }
}

fn def_name(def: Table) -> &'static str {
    use redb::TableHandle;
    match def.name() {
        "images" => "images",
        "content" => "content",
        "leases" => "leases",
        "snapshots" => "snapshots",
        _ => "meta",
    }
}

fn all_keyed<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    table: &'static str,
) -> Result<BTreeMap<String, T>> {
    let mut out = BTreeMap::new();
    for entry in t.iter().map_err(db_err("listing records"))? {
        let (k, v) = entry.map_err(db_err("listing records"))?;
        out.insert(k.value().to_string(), decode(table, k.value(), v.value())?);
    }
    Ok(out)
}

fn roots_of(
    images: &[ImageRecord],
    leases: &[Lease],
    content: &BTreeMap<String, ContentRecord>,
    snapshots: &[SnapshotRecord],
    now: SystemTime,
) -> GcRoots {
    let mut roots = GcRoots {
        images: images
            .iter()
            .map(|i| (i.name.clone(), i.target.clone()))
            .collect(),
        ..GcRoots::default()
    };
    for lease in leases.iter().filter(|l| !l.expired_at(now)) {
        roots.content.extend(lease.content.iter().cloned());
        roots.snapshots.extend(lease.snapshots.iter().cloned());
    }
    for (key, record) in content {
        if record.labels.contains_key(GC_ROOT_LABEL) {
            if let Ok(d) = Digest::parse(key) {
                roots.content.insert(d);
            }
        }
    }
    for s in snapshots {
        if s.labels.contains_key(GC_ROOT_LABEL) {
            roots.snapshots.insert(s.key.clone());
        }
    }
    roots
}

struct Marks {
    blobs: BTreeSet<Digest>,
    snapshots: BTreeSet<String>,
}

/// The mark phase. A reachable manifest, index or config that exists but cannot be read or
/// parsed stops GC: guessing would risk deleting what it references. Missing blobs (platforms
/// never pulled, a pull in progress) are skipped.
fn mark(
    store: &ContentStore,
    roots: &GcRoots,
    content: &BTreeMap<String, ContentRecord>,
    snapshots: &BTreeMap<String, SnapshotRecord>,
) -> Result<Marks> {
    let mut blobs = BTreeSet::new();
    let mut walked = BTreeSet::new();
    let mut snapshot_roots: Vec<String> = roots.snapshots.iter().cloned().collect();
    let mut stack: Vec<(Digest, Option<String>)> = roots
        .images
        .values()
        .map(|d| (d.digest.clone(), Some(d.media_type.clone())))
        .chain(roots.content.iter().map(|d| (d.clone(), None)))
        .collect();

    while let Some((digest, mt)) = stack.pop() {
        if blobs.insert(digest.clone()) {
            if let Some(record) = content.get(&digest.to_string()) {
                stack.extend(record.refs.iter().map(|r| (r.clone(), None)));
            }
        }
        let Some(mt) = mt else { continue };
        let structured = media_type::is_manifest(&mt)
            || media_type::is_index(&mt)
            || media_type::is_image_config(&mt);
        if !structured || !walked.insert(digest.clone()) || !store.exists(&digest)? {
            continue;
        }
        if media_type::is_image_config(&mt) {
            let bytes = read_blob(store, &digest, MAX_CONFIG_SIZE)?;
            let config = ImageConfig::from_slice(&bytes)
                .map_err(|source| MetaError::Document { digest, source })?;
            snapshot_roots.extend(config.chain_ids().iter().map(Digest::to_string));
            continue;
        }
        let bytes = read_blob(store, &digest, manifest::MAX_MANIFEST_SIZE as u64)?;
        // The document's own mediaType decides; GC only needs its references.
        match manifest::parse_manifest(&bytes, None)
            .map_err(|source| MetaError::Document { digest, source })?
        {
            Parsed::Manifest { manifest: m, .. } => {
                stack.push((m.config.digest, Some(m.config.media_type)));
                stack.extend(m.layers.into_iter().map(|l| (l.digest, None)));
            }
            Parsed::Index { index, .. } => {
                stack.extend(
                    index
                        .manifests
                        .into_iter()
                        .map(|d| (d.digest, Some(d.media_type))),
                );
            }
        }
    }

    let mut marked = BTreeSet::new();
    for key in snapshot_roots {
        let mut next = Some(key);
        while let Some(key) = next.take() {
            let Some(record) = snapshots.get(&key) else {
                break;
            };
            if !marked.insert(key) {
                break;
            }
            next = record.parent.clone();
        }
    }
    Ok(Marks {
        blobs,
        snapshots: marked,
    })
}

fn read_blob(store: &ContentStore, digest: &Digest, max: u64) -> Result<Vec<u8>> {
    let file = store.get(digest)?;
    let mut bytes = Vec::new();
    // One byte over the limit is enough to tell the document is too large.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| MetaError::ReadBlob {
            digest: digest.clone(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(MetaError::Document {
            digest: digest.clone(),
            source: ManifestError::TooLarge { size: bytes.len() },
        });
    }
    Ok(bytes)
}

/// Removes unmarked snapshots, children before parents; a failed removal keeps its ancestors.
fn sweep_snapshots(
    tx: &MetaTxn<'_>,
    snapshots: &BTreeMap<String, SnapshotRecord>,
    marked: &BTreeSet<String>,
    remove: &mut dyn FnMut(&str) -> Result<(), BoxError>,
    report: &mut GcReport,
) -> Result<()> {
    let depth = |key: &str| {
        let mut n = 0usize;
        let mut cur = snapshots.get(key).and_then(|s| s.parent.as_deref());
        // Bounded by the number of records, in case a corrupt database has a parent cycle.
        while let Some(p) = cur {
            n += 1;
            if n > snapshots.len() {
                break;
            }
            cur = snapshots.get(p).and_then(|s| s.parent.as_deref());
        }
        n
    };
    let mut doomed: Vec<(usize, &str)> = snapshots
        .keys()
        .filter(|k| !marked.contains(*k))
        .map(|k| (depth(k), k.as_str()))
        .collect();
    doomed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut remaining: BTreeSet<&str> = snapshots.keys().map(String::as_str).collect();
    for (_, key) in doomed {
        let has_children = snapshots
            .values()
            .any(|s| s.parent.as_deref() == Some(key) && remaining.contains(s.key.as_str()));
        if has_children {
            continue;
        }
        match remove(key) {
            Ok(()) => {
                tx.remove(SNAPSHOTS, key)?;
                remaining.remove(key);
                report.removed_snapshots.push(key.to_string());
            }
            Err(e) => report.snapshot_errors.push((key.to_string(), e)),
        }
    }
    Ok(())
}

/// The operations of [`MetaDb`], inside one write transaction (see [`MetaDb::write`]).
pub struct MetaTxn<'a> {
    txn: &'a WriteTransaction,
}

impl MetaTxn<'_> {
    pub fn get_content(&self, digest: &Digest) -> Result<Option<ContentRecord>> {
        self.get(CONTENT, &digest.to_string())
    }

    fn get<T: DeserializeOwned>(&self, def: Table, key: &str) -> Result<Option<T>> {
        let t = self
            .txn
            .open_table(def)
            .map_err(db_err("opening a table"))?;
        get_in(&t, def_name(def), key)
    }

    fn put<T: Serialize>(&self, def: Table, key: &str, value: &T) -> Result<()> {
        let bytes = encode(def_name(def), key, value)?;
        let mut t = self
            .txn
            .open_table(def)
            .map_err(db_err("opening a table"))?;
        t.insert(key, bytes.as_slice())
            .map_err(db_err("writing a record"))?;
        Ok(())
    }

    /// Removes a record; `true` if it existed.
    fn remove(&self, def: Table, key: &str) -> Result<bool> {
        let mut t = self
            .txn
            .open_table(def)
            .map_err(db_err("opening a table"))?;
        let existed = t
            .remove(key)
            .map_err(db_err("removing a record"))?
            .is_some();
        Ok(existed)
    }

    pub fn put_image(
        &self,
        name: &str,
        target: Descriptor,
        labels: BTreeMap<String, String>,
    ) -> Result<ImageRecord> {
        check_name("image name", name, 4096)?;
        let now = SystemTime::now();
        let created = self
            .get::<ImageRecord>(IMAGES, name)?
            .map_or(now, |old| old.created);
        let record = ImageRecord {
            name: name.to_string(),
            target,
            created,
            updated: now,
            labels,
        };
        self.put(IMAGES, name, &record)?;
        Ok(record)
    }

    pub fn get_image(&self, name: &str) -> Result<Option<ImageRecord>> {
        self.get(IMAGES, name)
    }

    pub fn delete_image(&self, name: &str) -> Result<ImageRecord> {
        let record =
            self.get::<ImageRecord>(IMAGES, name)?
                .ok_or_else(|| MetaError::ImageNotFound {
                    name: name.to_string(),
                })?;
        self.remove(IMAGES, name)?;
        Ok(record)
    }

    pub fn tag_image(&self, source: &str, target: &str) -> Result<ImageRecord> {
        let src =
            self.get::<ImageRecord>(IMAGES, source)?
                .ok_or_else(|| MetaError::ImageNotFound {
                    name: source.to_string(),
                })?;
        self.put_image(target, src.target, src.labels)
    }

    pub fn rename_image(&self, old: &str, new: &str) -> Result<ImageRecord> {
        if self.get::<ImageRecord>(IMAGES, new)?.is_some() {
            return Err(MetaError::ImageExists {
                name: new.to_string(),
            });
        }
        let mut record = self.delete_image(old)?;
        check_name("image name", new, 4096)?;
        record.name = new.to_string();
        record.updated = SystemTime::now();
        self.put(IMAGES, new, &record)?;
        Ok(record)
    }

    pub fn set_content_labels(
        &self,
        digest: &Digest,
        labels: BTreeMap<String, String>,
    ) -> Result<()> {
        let key = digest.to_string();
        let mut record = self
            .get::<ContentRecord>(CONTENT, &key)?
            .unwrap_or_default();
        record.labels = labels;
        self.put(CONTENT, &key, &record)
    }

    pub fn add_content_ref(&self, from: &Digest, to: &Digest) -> Result<()> {
        let key = from.to_string();
        let mut record = self
            .get::<ContentRecord>(CONTENT, &key)?
            .unwrap_or_default();
        record.refs.insert(to.clone());
        self.put(CONTENT, &key, &record)
    }

    pub fn create_lease(&self, id: &str, ttl: Option<Duration>) -> Result<Lease> {
        check_name("lease id", id, 256)?;
        if self.get::<Lease>(LEASES, id)?.is_some() {
            return Err(MetaError::LeaseExists { id: id.to_string() });
        }
        let now = SystemTime::now();
        let lease = Lease {
            id: id.to_string(),
            created: now,
            expires: ttl.and_then(|t| now.checked_add(t)),
            labels: BTreeMap::new(),
            content: BTreeSet::new(),
            snapshots: BTreeSet::new(),
        };
        self.put(LEASES, id, &lease)?;
        Ok(lease)
    }

    pub fn add_lease_resource(&self, id: &str, resource: LeaseResource) -> Result<()> {
        let mut lease = self
            .get::<Lease>(LEASES, id)?
            .ok_or_else(|| MetaError::LeaseNotFound { id: id.to_string() })?;
        match resource {
            LeaseResource::Content(d) => {
                lease.content.insert(d);
            }
            LeaseResource::Snapshot(key) => {
                check_name("snapshot key", &key, 4096)?;
                lease.snapshots.insert(key);
            }
        }
        self.put(LEASES, id, &lease)
    }

    pub fn delete_lease(&self, id: &str) -> Result<()> {
        if self.remove(LEASES, id)? {
            Ok(())
        } else {
            Err(MetaError::LeaseNotFound { id: id.to_string() })
        }
    }

    pub fn put_snapshot(&self, record: &SnapshotRecord) -> Result<()> {
        check_name("snapshot key", &record.key, 4096)?;
        if let Some(parent) = &record.parent {
            let err_key = || record.key.clone();
            if *parent == record.key {
                return Err(MetaError::ParentNotFound {
                    key: err_key(),
                    parent: parent.clone(),
                });
            }
            match self.get::<SnapshotRecord>(SNAPSHOTS, parent)? {
                None => {
                    return Err(MetaError::ParentNotFound {
                        key: err_key(),
                        parent: parent.clone(),
                    })
                }
                Some(p) if p.kind != SnapshotKind::Committed => {
                    return Err(MetaError::ParentNotCommitted {
                        key: err_key(),
                        parent: parent.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        self.put(SNAPSHOTS, &record.key, record)
    }

    pub fn get_snapshot(&self, key: &str) -> Result<Option<SnapshotRecord>> {
        self.get(SNAPSHOTS, key)
    }

    pub fn remove_snapshot(&self, key: &str) -> Result<SnapshotRecord> {
        let record = self.get::<SnapshotRecord>(SNAPSHOTS, key)?.ok_or_else(|| {
            MetaError::SnapshotNotFound {
                key: key.to_string(),
            }
        })?;
        let t = self
            .txn
            .open_table(SNAPSHOTS)
            .map_err(db_err("opening a table"))?;
        let children: Vec<String> = all_in::<SnapshotRecord>(&t, "snapshots")?
            .into_iter()
            .filter(|s| s.parent.as_deref() == Some(key))
            .map(|s| s.key)
            .collect();
        drop(t);
        if !children.is_empty() {
            return Err(MetaError::SnapshotHasChildren {
                key: key.to_string(),
                children,
            });
        }
        self.remove(SNAPSHOTS, key)?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{canonical_json, chain_ids, Index, Manifest, Platform};
    use std::io::Write;

    fn setup() -> (tempfile::TempDir, MetaDb, ContentStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = MetaDb::open(dir.path().join(META_DB_FILE)).expect("open");
        let store = ContentStore::open(dir.path().join("content")).expect("store");
        (dir, db, store)
    }

    fn put_blob(store: &ContentStore, data: &[u8]) -> Digest {
        let d = Digest::sha256_of(data);
        let mut w = store
            .writer(d.hex(), Some((d.clone(), data.len() as u64)))
            .expect("writer");
        w.write_all(data).expect("write");
        w.commit().expect("commit")
    }

    fn desc(mt: &str, d: &Digest, size: usize) -> Descriptor {
        Descriptor::new(mt, d.clone(), size as u64)
    }

    struct TestImage {
        index: Descriptor,
        blobs: Vec<Digest>,
        chain: Vec<Digest>,
    }

    /// Two layers, a config, a manifest and an index, all in the store.
    fn build_image(store: &ContentStore, tag: &str) -> TestImage {
        let l1 = put_blob(store, format!("layer one {tag}").as_bytes());
        let l2 = put_blob(store, format!("layer two {tag}").as_bytes());
        let diff_ids = vec![
            Digest::sha256_of(b"diff1"),
            Digest::sha256_of(tag.as_bytes()),
        ];
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config_bytes = canonical_json(&config).expect("config");
        let cfg = put_blob(store, &config_bytes);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_string()),
            artifact_type: None,
            config: desc(media_type::OCI_CONFIG, &cfg, config_bytes.len()),
            layers: vec![
                desc(media_type::OCI_LAYER_GZIP, &l1, 10),
                desc(media_type::OCI_LAYER_GZIP, &l2, 10),
            ],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let mbytes = canonical_json(&manifest).expect("manifest");
        let m = put_blob(store, &mbytes);
        let mut mdesc = desc(media_type::OCI_MANIFEST, &m, mbytes.len());
        mdesc.platform = Some(Platform::host());
        // A platform never pulled: referenced but absent, which GC must tolerate.
        let mut other = desc(media_type::OCI_MANIFEST, &Digest::sha256_of(b"absent"), 5);
        other.platform = Some(Platform::parse("linux/arm64").expect("platform"));
        let index = Index {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.to_string()),
            artifact_type: None,
            manifests: vec![mdesc, other],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let ibytes = canonical_json(&index).expect("index");
        let i = put_blob(store, &ibytes);
        TestImage {
            index: desc(media_type::OCI_INDEX, &i, ibytes.len()),
            blobs: vec![l1, l2, cfg, m, i],
            chain: chain_ids(&diff_ids),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn image_crud_tag_rename() {
        let (dir, db, _) = setup();
        let target = desc(media_type::OCI_INDEX, &Digest::sha256_of(b"i"), 3);
        let name = "docker.io/library/busybox:latest";
        assert_eq!(db.get_image(name).expect("get"), None);
        let rec = db
            .put_image(name, target.clone(), labels(&[("a", "b")]))
            .expect("put");
        assert_eq!(rec.created, rec.updated);
        assert_eq!(db.get_image(name).expect("get"), Some(rec.clone()));

        let target2 = desc(media_type::OCI_INDEX, &Digest::sha256_of(b"j"), 4);
        let rec2 = db
            .put_image(name, target2.clone(), BTreeMap::new())
            .expect("replace");
        assert_eq!(rec2.created, rec.created, "creation time kept");
        assert_eq!(rec2.target, target2);

        let tagged = db
            .tag_image(name, "docker.io/library/busybox:v1")
            .expect("tag");
        assert_eq!(tagged.target, target2);
        let renamed = db
            .rename_image("docker.io/library/busybox:v1", "localhost:5000/bb:v1")
            .expect("rename");
        assert_eq!(renamed.name, "localhost:5000/bb:v1");
        assert!(matches!(
            db.rename_image(name, "localhost:5000/bb:v1"),
            Err(MetaError::ImageExists { .. })
        ));
        let names: Vec<String> = db
            .list_images()
            .expect("list")
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(
            names,
            vec![name.to_string(), "localhost:5000/bb:v1".to_string()]
        );

        assert_eq!(db.delete_image(name).expect("delete").target, target2);
        let err = db.delete_image(name).expect_err("gone");
        assert_eq!(err.to_string(), format!("no such image: {name}"));
        assert!(matches!(
            db.tag_image(name, "x"),
            Err(MetaError::ImageNotFound { .. })
        ));
        assert!(matches!(
            db.put_image("", target, BTreeMap::new()),
            Err(MetaError::InvalidName { .. })
        ));

        // Survives a reopen.
        drop(db);
        let db = MetaDb::open(dir.path().join(META_DB_FILE)).expect("reopen");
        assert_eq!(db.list_images().expect("list").len(), 1);
    }

    #[test]
    fn second_open_is_refused() {
        let (dir, _db, _) = setup();
        let err = MetaDb::open(dir.path().join(META_DB_FILE)).expect_err("locked");
        assert!(err.to_string().contains("meta.db"), "{err}");
    }

    #[test]
    fn leases() {
        let (_d, db, _) = setup();
        let lease = db.create_lease("pull-1", None).expect("create");
        assert_eq!(lease.expires, None);
        assert!(matches!(
            db.create_lease("pull-1", None),
            Err(MetaError::LeaseExists { .. })
        ));
        let d = Digest::sha256_of(b"blob");
        db.add_lease_resource("pull-1", LeaseResource::Content(d.clone()))
            .expect("add");
        db.add_lease_resource("pull-1", LeaseResource::Snapshot("s1".into()))
            .expect("add");
        let got = db.get_lease("pull-1").expect("get").expect("some");
        assert!(got.content.contains(&d) && got.snapshots.contains("s1"));
        assert!(matches!(
            db.add_lease_resource("nope", LeaseResource::Content(d)),
            Err(MetaError::LeaseNotFound { .. })
        ));

        db.create_lease("short", Some(Duration::from_secs(60)))
            .expect("create");
        let now = SystemTime::now();
        assert!(db.expired_leases(now).expect("expired").is_empty());
        assert_eq!(
            db.expired_leases(now + Duration::from_secs(120))
                .expect("expired"),
            vec!["short".to_string()]
        );
        db.delete_lease("short").expect("delete");
        assert!(matches!(
            db.delete_lease("short"),
            Err(MetaError::LeaseNotFound { .. })
        ));
        assert_eq!(db.list_leases().expect("list").len(), 1);
    }

    #[test]
    fn snapshots() {
        let (_d, db, _) = setup();
        let base = SnapshotRecord::new("sha256:base", None, SnapshotKind::Committed);
        db.put_snapshot(&base).expect("base");
        let active = SnapshotRecord::new("ctr-1", Some("sha256:base"), SnapshotKind::Active);
        db.put_snapshot(&active).expect("active");
        assert_eq!(db.get_snapshot("ctr-1").expect("get"), Some(active.clone()));
        assert!(matches!(
            db.put_snapshot(&SnapshotRecord::new(
                "x",
                Some("missing"),
                SnapshotKind::Active
            )),
            Err(MetaError::ParentNotFound { .. })
        ));
        assert!(matches!(
            db.put_snapshot(&SnapshotRecord::new(
                "y",
                Some("ctr-1"),
                SnapshotKind::Active
            )),
            Err(MetaError::ParentNotCommitted { .. })
        ));
        let err = db.remove_snapshot("sha256:base").expect_err("has children");
        assert_eq!(err.to_string(), "snapshot sha256:base has children: ctr-1");
        assert_eq!(db.list_snapshots().expect("list").len(), 2);
        assert_eq!(db.remove_snapshot("ctr-1").expect("remove"), active);
        db.remove_snapshot("sha256:base").expect("remove base");
        assert!(matches!(
            db.remove_snapshot("sha256:base"),
            Err(MetaError::SnapshotNotFound { .. })
        ));
    }

    #[test]
    fn failed_transaction_leaves_nothing() {
        let (_d, db, _) = setup();
        let target = desc(media_type::OCI_MANIFEST, &Digest::sha256_of(b"m"), 1);
        let err = db
            .write(|tx| {
                tx.put_image("img", target.clone(), BTreeMap::new())?;
                tx.create_lease("l", None)?;
                tx.put_snapshot(&SnapshotRecord::new("a", None, SnapshotKind::Committed))?;
                // Fails after three writes: all of them must vanish.
                tx.put_snapshot(&SnapshotRecord::new(
                    "b",
                    Some("nope"),
                    SnapshotKind::Active,
                ))?;
                Ok(())
            })
            .expect_err("must fail");
        assert!(matches!(err, MetaError::ParentNotFound { .. }), "{err}");
        assert_eq!(db.get_image("img").expect("get"), None);
        assert_eq!(db.get_lease("l").expect("get"), None);
        assert!(db.list_snapshots().expect("list").is_empty());

        // A multi-step change that succeeds is visible as a whole: commit an active snapshot.
        db.put_snapshot(&SnapshotRecord::new("active", None, SnapshotKind::Active))
            .expect("active");
        db.write(|tx| {
            tx.remove_snapshot("active")?;
            tx.put_snapshot(&SnapshotRecord::new(
                "committed",
                None,
                SnapshotKind::Committed,
            ))
        })
        .expect("commit");
        let keys: Vec<String> = db
            .list_snapshots()
            .expect("list")
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, vec!["committed".to_string()]);

        // A failed rename keeps the old name.
        db.put_image("a", target.clone(), BTreeMap::new())
            .expect("a");
        assert!(db.rename_image("a", "").is_err());
        assert!(db.get_image("a").expect("get").is_some());
    }

    #[test]
    fn gc_keeps_reachable_and_removes_orphans() {
        let (_d, db, store) = setup();
        let img = build_image(&store, "one");
        db.put_image(
            "docker.io/library/one:latest",
            img.index.clone(),
            BTreeMap::new(),
        )
        .expect("image");

        // Snapshots for the image's layers (keyed by ChainID), a container on top, an orphan
        // chain, and a snapshot held by a lease.
        let c0 = img.chain[0].to_string();
        let c1 = img.chain[1].to_string();
        db.put_snapshot(&SnapshotRecord::new(&c0, None, SnapshotKind::Committed))
            .expect("c0");
        db.put_snapshot(&SnapshotRecord::new(
            &c1,
            Some(&c0),
            SnapshotKind::Committed,
        ))
        .expect("c1");
        db.put_snapshot(&SnapshotRecord::new(
            "orphan-base",
            None,
            SnapshotKind::Committed,
        ))
        .expect("orphan base");
        db.put_snapshot(&SnapshotRecord::new(
            "orphan-child",
            Some("orphan-base"),
            SnapshotKind::Active,
        ))
        .expect("orphan child");
        db.put_snapshot(&SnapshotRecord::new(
            "leased",
            Some(&c1),
            SnapshotKind::Active,
        ))
        .expect("leased");

        // Blobs held by a lease (and one it refers to), an orphan, and an expired lease's blob.
        let leased = put_blob(&store, b"leased blob");
        let referenced = put_blob(&store, b"referenced by the leased blob");
        db.add_content_ref(&leased, &referenced).expect("ref");
        db.create_lease("pull", None).expect("lease");
        db.add_lease_resource("pull", LeaseResource::Content(leased.clone()))
            .expect("res");
        db.add_lease_resource("pull", LeaseResource::Snapshot("leased".into()))
            .expect("res");
        let expired_blob = put_blob(&store, b"expired lease blob");
        db.create_lease("old", Some(Duration::ZERO)).expect("lease");
        db.add_lease_resource("old", LeaseResource::Content(expired_blob.clone()))
            .expect("res");
        let orphan = put_blob(&store, b"orphan");
        db.set_content_labels(&orphan, labels(&[("x", "y")]))
            .expect("labels");
        let rooted = put_blob(&store, b"rooted by label");
        db.set_content_labels(&rooted, labels(&[(GC_ROOT_LABEL, "1")]))
            .expect("labels");

        let roots = db.gc_roots().expect("roots");
        assert_eq!(roots.images.len(), 1);
        assert!(roots.content.contains(&leased) && roots.content.contains(&rooted));
        assert!(
            !roots.content.contains(&expired_blob),
            "expired lease is no root"
        );
        assert_eq!(roots.snapshots, BTreeSet::from(["leased".to_string()]));

        let mut removed = Vec::new();
        let report = db
            .gc(&store, &mut |key: &str| {
                removed.push(key.to_string());
                Ok(())
            })
            .expect("gc");

        let mut want_removed = vec![orphan.clone(), expired_blob.clone()];
        want_removed.sort();
        let mut got_removed = report.removed_blobs.clone();
        got_removed.sort();
        assert_eq!(got_removed, want_removed);
        for d in img.blobs.iter().chain([&leased, &referenced, &rooted]) {
            assert!(store.exists(d).expect("exists"), "{d} was collected");
        }
        assert!(!store.exists(&orphan).expect("exists"));
        assert_eq!(
            db.get_content(&orphan).expect("content"),
            None,
            "labels go too"
        );
        assert_eq!(report.expired_leases, vec!["old".to_string()]);
        assert_eq!(db.get_lease("old").expect("lease"), None);
        assert_eq!(
            removed,
            vec!["orphan-child".to_string(), "orphan-base".to_string()],
            "children first"
        );
        assert_eq!(report.removed_snapshots, removed);
        let mut left: Vec<String> = db
            .list_snapshots()
            .expect("list")
            .into_iter()
            .map(|s| s.key)
            .collect();
        left.sort();
        let mut want = vec![c0.clone(), c1.clone(), "leased".to_string()];
        want.sort();
        assert_eq!(left, want);

        // Once the image and the lease are gone, everything goes.
        db.delete_image("docker.io/library/one:latest")
            .expect("rmi");
        db.delete_lease("pull").expect("unlease");
        db.set_content_labels(&rooted, BTreeMap::new())
            .expect("unroot");
        let report = db.gc(&store, &mut |_| Ok(())).expect("gc");
        assert_eq!(report.removed_blobs.len(), img.blobs.len() + 3);
        assert!(store.list().expect("list").is_empty());
        assert!(db.list_snapshots().expect("list").is_empty());
    }

    #[test]
    fn gc_snapshot_removal_failure_keeps_record_and_parents() {
        let (_d, db, store) = setup();
        db.put_snapshot(&SnapshotRecord::new("base", None, SnapshotKind::Committed))
            .expect("base");
        db.put_snapshot(&SnapshotRecord::new(
            "top",
            Some("base"),
            SnapshotKind::Active,
        ))
        .expect("top");
        let report = db
            .gc(&store, &mut |key: &str| {
                if key == "top" {
                    Err("device busy".into())
                } else {
                    Ok(())
                }
            })
            .expect("gc");
        assert!(report.removed_snapshots.is_empty());
        assert_eq!(report.snapshot_errors.len(), 1);
        assert_eq!(report.snapshot_errors[0].0, "top");
        assert_eq!(db.list_snapshots().expect("list").len(), 2);
    }

    #[test]
    fn gc_stops_on_an_unreadable_manifest() {
        let (_d, db, store) = setup();
        let junk = put_blob(&store, b"{not a manifest");
        let layer = put_blob(&store, b"some layer");
        db.put_image(
            "broken",
            desc(media_type::OCI_MANIFEST, &junk, 15),
            BTreeMap::new(),
        )
        .expect("image");
        let err = db.gc(&store, &mut |_| Ok(())).expect_err("must stop");
        assert!(err.to_string().contains(&junk.to_string()), "{err}");
        assert!(store.exists(&layer).expect("exists"), "nothing swept");
    }
}
