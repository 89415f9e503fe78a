//! Snapshots: the directories a container's rootfs is assembled from.
//!
//! A snapshot is either *active* (writable, the upper layer of a container or of a layer being
//! unpacked), *committed* (immutable, shared as a lower layer by every image and container
//! whose chain goes through it, named by its chain ID) or a *view* (read-only access to a
//! committed chain). As in containerd, a snapshotter never mounts anything itself: it returns
//! [`MountSpec`]s, and whoever needs the tree mounted (the unpacker's caller, the runtime)
//! mounts them with [`mount_at`], in whatever mount namespace it needs them.
//!
//! Two implementations share one layout and one metadata index:
//! - [`OverlaySnapshotter`]: committed snapshots are overlayfs lower layers, active ones an
//!   upper dir and a work dir; preparing is O(1).
//! - [`NativeSnapshotter`]: every snapshot is a full copy of its parent; the fallback where
//!   overlayfs cannot be used (e.g. on an overlayfs root).
//!
//! [`open`] picks overlay when a test mount works in the root, native otherwise.
//!
//! Layout under a snapshotter root:
//!
//! ```text
//! index/<sha256>.json  one record per snapshot: {key, id, parent, kind, created}
//! metadata.lock        flock'd: exclusive for a change of the index, shared to read it
//! snapshots/<id>/fs    the snapshot's tree (an active snapshot's upper dir)
//! snapshots/<id>/work  overlayfs work dir (overlay only)
//! ```
//!
//! Ids are sequential numbers; keys are arbitrary strings (chain IDs, container IDs) and are
//! never used as paths. A directory under `snapshots/` that the index does not name is the
//! remains of a crash or of an interrupted remove, and is deleted by [`Snapshotter::cleanup`]
//! (run at open).
//!
//! Visibility: a layer being unpacked lives under a private active key; the chain ID name
//! appears in the index only at commit, after the tree is complete and synced, so nobody can
//! see or stack on a half-unpacked layer.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags, UnmountFlags,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::digest::{Algorithm, Digest, Digester};
use crate::fsat::{list_dir, open_dir};
use crate::unpack::{UnpackError, UnpackOptions, UnpackSummary};

mod index;
mod native;
mod overlay;
mod reclaim;

use index::{MetaStore, Record};

pub use native::NativeSnapshotter;
pub use overlay::{supported as overlay_supported, OverlaySnapshotter};

/// Errors of the snapshotters, each naming the snapshot key, path or mount concerned.
#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("snapshotter root {path}: {reason}")]
    InvalidRoot { path: PathBuf, reason: &'static str },
    #[error("snapshotter root {path}: {what}: {source}")]
    Root {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("snapshot index {path}: {what}: {source}")]
    Index {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("invalid snapshot key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("snapshot {key:?} not found")]
    NotFound { key: String },
    #[error("snapshot {key:?} already exists")]
    AlreadyExists { key: String },
    /// Only active snapshots can be committed or have layers applied to them.
    #[error("snapshot {key:?} is {kind}, not active")]
    NotActive { key: String, kind: Kind },
    /// Only committed snapshots can be parents.
    #[error("parent snapshot {key:?} is {kind}, not committed")]
    ParentNotCommitted { key: String, kind: Kind },
    #[error("snapshot {key:?} still has {children} child snapshot(s)")]
    HasChildren { key: String, children: usize },
    #[error("snapshot {key:?}: {what}: {source}")]
    Snapshot {
        key: String,
        what: &'static str,
        source: io::Error,
    },
    #[error("applying a layer to snapshot {key:?}: {source}")]
    Unpack { key: String, source: UnpackError },
    #[error("layer diffID mismatch: expected {expected}, the layer hashes to {actual}")]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error("mount of {typ} {source_path:?} at {target}: {what}: {source}")]
    Mount {
        typ: String,
        source_path: String,
        target: PathBuf,
        what: String,
        source: io::Error,
    },
    #[error("unmount of {target}: {source}")]
    Unmount { target: PathBuf, source: io::Error },
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// What a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Active,
    Committed,
    View,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Active => "active",
            Kind::Committed => "committed",
            Kind::View => "a view",
        })
    }
}

/// A snapshot as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub key: String,
    pub parent: Option<String>,
    pub kind: Kind,
    pub created: SystemTime,
}

/// Disk use of one snapshot's own directory (not its parents').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Allocated bytes (st_blocks × 512), each hard-linked inode counted once.
    pub bytes: u64,
    /// Distinct inodes, the directory itself included.
    pub inodes: u64,
    /// Apparent size of everything but directories, each hard-linked inode once: what
    /// Docker reports as a layer's size (`docker history`).
    pub content_bytes: u64,
}

/// One mount, as `mount(8)` would take it. `typ` is `"overlay"` or `"bind"`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MountSpec {
    pub typ: String,
    pub source: String,
    /// Where to mount, relative to the target given to [`mount_at`]; `None` is the target
    /// itself. The snapshotters always return `None`; the field lets callers add submounts.
    pub target: Option<PathBuf>,
    /// `ro`/`rw`, `rbind`, and for overlay `lowerdir=a:b:c` (topmost first), `upperdir=`,
    /// `workdir=`, or any other overlay option as `key` or `key=value`.
    pub options: Vec<String>,
}

impl MountSpec {
    fn bind(source: &Path, readonly: bool) -> Self {
        MountSpec {
            typ: "bind".into(),
            source: source.to_string_lossy().into_owned(),
            target: None,
            options: vec!["rbind".into(), if readonly { "ro" } else { "rw" }.into()],
        }
    }

    /// Whether the mount is read-only.
    pub fn is_readonly(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }
}

/// The snapshotter interface (containerd's, minus labels and walk filters).
///
/// Every method is safe to call from several threads and processes at once on one root: the
/// index is only changed under an exclusive flock.
pub trait Snapshotter: Send + Sync {
    /// `"overlayfs"` or `"native"`.
    fn name(&self) -> &'static str;

    /// The snapshotter's root directory.
    fn root(&self) -> &Path;

    /// Creates the active (writable) snapshot `key` on top of the committed chain ending in
    /// `parent` (or empty) and returns the mounts of its tree.
    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>>;

    /// Creates the read-only view `key` of the committed chain ending in `parent`.
    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>>;

    /// Turns the active snapshot `key` into the committed, immutable snapshot `name`. The key
    /// stops existing. Fails with [`SnapshotError::AlreadyExists`] if `name` exists, leaving
    /// `key` as it was. The active snapshot must no longer be mounted: its tree becomes a
    /// shared lower layer, and overlay's work dir is deleted.
    fn commit(&self, name: &str, key: &str) -> Result<()>;

    /// Removes a snapshot of any kind and its directory. A committed snapshot that is still
    /// the parent of another snapshot is refused. On a full disk an active snapshot or a
    /// view loses its tree before its record, so removing it frees the room it needs.
    fn remove(&self, key: &str) -> Result<()>;

    /// The mounts of an existing active snapshot or view (as `prepare`/`view` returned them),
    /// or read-only mounts of a committed one.
    fn mounts(&self, key: &str) -> Result<Vec<MountSpec>>;

    fn stat(&self, key: &str) -> Result<Info>;

    /// Every snapshot, ordered by key.
    fn list(&self) -> Result<Vec<Info>>;

    /// Disk use of the snapshot's own directory.
    fn usage(&self, key: &str) -> Result<Usage>;

    /// Applies an uncompressed layer tar onto the active snapshot `key` so that, mounted on
    /// its parents, it shows the layer's changes (whiteouts delete, opaque dirs hide).
    fn apply_layer(
        &self,
        key: &str,
        tar: &mut dyn Read,
        opts: &UnpackOptions,
    ) -> Result<UnpackSummary>;

    /// Reclaims what interrupted work left: snapshot directories the index does not name
    /// (crash leftovers), layers whose unpacking was cut short (a crash, or a process gone)
    /// and torn temporary index files. Run at open and by the image service's prune.
    fn cleanup(&self) -> Result<()>;
}

/// Opens the snapshotter for `base` (e.g. /var/lib/muelle/snapshots): overlay in
/// `base/overlayfs` if an overlay test mount works there, otherwise native in `base/native`.
pub fn open(base: &Path) -> Result<Box<dyn Snapshotter>> {
    let dir = base.join("overlayfs");
    fs::create_dir_all(&dir).map_err(|source| SnapshotError::Root {
        path: dir.clone(),
        what: "creating the directory",
        source,
    })?;
    if overlay::supported(&dir) {
        return Ok(Box::new(OverlaySnapshotter::open(&dir)?));
    }
    Ok(Box::new(NativeSnapshotter::open(&base.join("native"))?))
}

/// The chain ID of a layer on top of the chain `parent`: the layer's DiffID for the first
/// layer, otherwise `sha256(parent + " " + diff_id)`.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let mut d = Digester::new(Algorithm::Sha256);
            d.update(format!("{p} {diff_id}").as_bytes());
            d.finish()
        }
    }
}

/// Unpacks one layer blob as the committed snapshot named by its chain ID on top of the
/// committed snapshot `parent_chain_id`, and returns that chain ID.
///
/// The layer is applied under a private active key and only committed once its DiffID is
/// verified, so a bad layer leaves nothing behind. A layer already unpacked on the same chain
/// (shared between images, or unpacked concurrently by someone else) is not unpacked again,
/// or, if the race is lost at commit, the duplicate is dropped: both callers succeed and one
/// snapshot remains.
pub fn unpack_layer<R: Read>(
    snapshotter: &dyn Snapshotter,
    parent_chain_id: Option<&Digest>,
    layer: R,
    media_type: &str,
    expected_diff_id: &Digest,
) -> Result<Digest> {
    let chain = chain_id(parent_chain_id, expected_diff_id);
    let name = chain.to_string();
    if committed_exists(snapshotter, &name)? {
        return Ok(chain);
    }
    let parent = parent_chain_id.map(|p| p.to_string());
    let key = unique_key(EXTRACT_PREFIX, &name);
    // Registered before the record exists: a `cleanup` (prune) now must not take this
    // extraction for the leftover of an interrupted one.
    let _in_flight = reclaim::InFlight::register(&key);
    snapshotter.prepare(&key, parent.as_deref())?;
    let applied = crate::unpack::open_layer(layer, media_type)
        .map_err(|source| SnapshotError::Unpack {
            key: key.clone(),
            source,
        })
        .and_then(|mut tar| snapshotter.apply_layer(&key, &mut tar, &UnpackOptions::default()));
    let summary = match applied {
        Ok(s) => s,
        Err(e) => {
            discard(snapshotter, &key);
            return Err(e);
        }
    };
    if &summary.diff_id != expected_diff_id {
        discard(snapshotter, &key);
        return Err(SnapshotError::DiffIdMismatch {
            expected: expected_diff_id.clone(),
            actual: summary.diff_id,
        });
    }
    match snapshotter.commit(&name, &key) {
        Ok(()) => Ok(chain),
        // Someone committed the same chain while this one was unpacking: theirs is as good.
        Err(SnapshotError::AlreadyExists { .. }) if committed_exists(snapshotter, &name)? => {
            discard(snapshotter, &key);
            Ok(chain)
        }
        Err(e) => {
            discard(snapshotter, &key);
            Err(e)
        }
    }
}

fn committed_exists(snapshotter: &dyn Snapshotter, name: &str) -> Result<bool> {
    match snapshotter.stat(name) {
        Ok(info) => Ok(info.kind == Kind::Committed),
        Err(SnapshotError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a snapshot on an error path, where the first error is the one worth reporting;
/// whatever is left is reclaimed by `cleanup`-style GC later.
fn discard(snapshotter: &dyn Snapshotter, key: &str) {
    let _ = snapshotter.remove(key);
}

/// What the private key of a layer being unpacked starts with: `extract-<pid>-…`.
const EXTRACT_PREFIX: &str = "extract";

/// A key no other caller (thread or process) will pick.
fn unique_key(purpose: &str, name: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{purpose}-{}-{}-{nanos} {name}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------
// Mounting

/// Mounts `specs` at `target`, in order. If one fails, those already made are unmounted.
///
/// Overlay is mounted through the new mount API (fsopen/fsconfig/fsmount/move_mount), each
/// lower dir passed as its own `lowerdir+` parameter (Linux ≥ 6.8), so the length of a
/// chain is not bounded by the one-page limit of mount(2)'s option string. On older kernels
/// the whole `lowerdir=` string is passed at once instead.
pub fn mount_at(specs: &[MountSpec], target: &Path) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for spec in specs {
        let at = match &spec.target {
            Some(rel) => target.join(rel.strip_prefix("/").unwrap_or(rel)),
            None => target.to_path_buf(),
        };
        if let Err(e) = mount_one(spec, &at) {
            for t in done.iter().rev() {
                let _ = rustix::mount::unmount(t, UnmountFlags::DETACH);
            }
            return Err(e);
        }
        done.push(at);
    }
    Ok(())
}

/// Unmounts the mount at `target` (one mount; call again for stacked mounts).
pub fn unmount(target: &Path) -> Result<()> {
    rustix::mount::unmount(target, UnmountFlags::empty()).map_err(|e| SnapshotError::Unmount {
        target: target.to_path_buf(),
        source: e.into(),
    })
}

fn mount_one(spec: &MountSpec, target: &Path) -> Result<()> {
    let err = |what: String, e: Errno| SnapshotError::Mount {
        typ: spec.typ.clone(),
        source_path: spec.source.clone(),
        target: target.to_path_buf(),
        what,
        source: e.into(),
    };
    match spec.typ.as_str() {
        "bind" => {
            let r = if spec.options.iter().any(|o| o == "rbind") {
                rustix::mount::mount_bind_recursive(spec.source.as_str(), target)
            } else {
                rustix::mount::mount_bind(spec.source.as_str(), target)
            };
            r.map_err(|e| err("bind mount".into(), e))?;
            if spec.is_readonly() {
                // A bind mount takes its flags from a remount of itself.
                let flags = MountFlags::BIND | MountFlags::RDONLY;
                if let Err(e) = rustix::mount::mount_remount(target, flags, "") {
                    let _ = rustix::mount::unmount(target, UnmountFlags::DETACH);
                    return Err(err("making the bind mount read-only".into(), e));
                }
            }
            Ok(())
        }
        "overlay" => mount_overlay(spec, target).map_err(|(what, e)| err(what, e)),
        _ => Err(err(
            format!("mount type {:?} is not supported", spec.typ),
            Errno::NODEV,
        )),
    }
}

fn mount_overlay(spec: &MountSpec, target: &Path) -> std::result::Result<(), (String, Errno)> {
    let fs_fd = rustix::mount::fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| ("fsopen(overlay)".to_string(), e))?;
    // The kernel explains a refused parameter in the context's log; read it into the error.
    let fail = |what: String, e: Errno| (with_log(&fs_fd, what), e);
    let mut attrs = MountAttrFlags::empty();
    for opt in &spec.options {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt.as_str(), None),
        };
        match (key, value) {
            ("ro", None) => attrs |= MountAttrFlags::MOUNT_ATTR_RDONLY,
            ("rw", None) => {}
            ("lowerdir", Some(dirs)) => set_lowerdirs(&fs_fd, dirs).map_err(|(w, e)| fail(w, e))?,
            (key, Some(value)) => rustix::mount::fsconfig_set_string(&fs_fd, key, value)
                .map_err(|e| fail(format!("setting {key}={value}"), e))?,
            (key, None) => rustix::mount::fsconfig_set_flag(&fs_fd, key)
                .map_err(|e| fail(format!("setting {key}"), e))?,
        }
    }
    rustix::mount::fsconfig_create(&fs_fd)
        .map_err(|e| fail("creating the overlay".to_string(), e))?;
    let mnt = rustix::mount::fsmount(&fs_fd, FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .map_err(|e| fail("fsmount".to_string(), e))?;
    rustix::mount::move_mount(
        &mnt,
        "",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| ("move_mount".to_string(), e))
}

fn set_lowerdirs(fs_fd: &OwnedFd, dirs: &str) -> std::result::Result<(), (String, Errno)> {
    let mut first = true;
    for dir in dirs.split(':') {
        match rustix::mount::fsconfig_set_string(fs_fd, "lowerdir+", dir) {
            Ok(()) => {}
            // Before 6.8 there is no `lowerdir+`; the whole list in one go is all there is.
            Err(Errno::INVAL) if first => {
                return rustix::mount::fsconfig_set_string(fs_fd, "lowerdir", dirs)
                    .map_err(|e| ("setting lowerdir".to_string(), e));
            }
            Err(e) => return Err((format!("adding lower dir {dir}"), e)),
        }
        first = false;
    }
    Ok(())
}

fn with_log(fs_fd: &OwnedFd, what: String) -> String {
    let mut buf = [0u8; 512];
    let mut msgs = Vec::new();
    while let Ok(n) = rustix::io::read(fs_fd, &mut buf) {
        if n == 0 {
            break;
        }
        msgs.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
    }
    if msgs.is_empty() {
        what
    } else {
        format!("{what} ({})", msgs.join("; "))
    }
}

// ---------------------------------------------------------------------------------------------
// The on-disk layout, shared by both implementations (the index: `index.rs`)

const SNAPSHOTS_DIR: &str = "snapshots";

fn validate_key(key: &str) -> Result<()> {
    let bad = |reason| {
        Err(SnapshotError::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > 4096 {
        return bad("longer than 4096 bytes");
    }
    if key.contains('\0') {
        return bad("contains a NUL byte");
    }
    Ok(())
}

/// What the two implementations share: the index, the layout, and the bookkeeping of
/// prepare/view/commit/remove. The implementations add what a snapshot's tree is made of
/// and how it is mounted.
#[derive(Debug)]
struct Core {
    meta: MetaStore,
    /// Whether snapshots get an overlay work dir.
    work_dirs: bool,
}

/// A snapshot just created: its id and its parents' ids, nearest first.
struct Created {
    id: u64,
    chain: Vec<u64>,
}

impl Core {
    fn open(root: &Path, work_dirs: bool) -> Result<Self> {
        let core = Core {
            meta: MetaStore::open(root)?,
            work_dirs,
        };
        core.cleanup()?;
        Ok(core)
    }

    fn snap_err<'k>(key: &'k str, what: &'static str) -> impl Fn(io::Error) -> SnapshotError + 'k {
        move |source| SnapshotError::Snapshot {
            key: key.to_string(),
            what,
            source,
        }
    }

    /// Records a new active snapshot or view and makes its (empty) directories. The record
    /// is written before the caller fills the tree, so the parent cannot be removed meanwhile.
    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Created> {
        validate_key(key)?;
        let locked = self.meta.lock(true)?;
        if locked.find(key)?.is_some() {
            return Err(SnapshotError::AlreadyExists {
                key: key.to_string(),
            });
        }
        if let Some(p) = parent {
            let rec = locked.get(p)?;
            if rec.kind != Kind::Committed {
                return Err(SnapshotError::ParentNotCommitted {
                    key: p.to_string(),
                    kind: rec.kind,
                });
            }
        }
        let chain = locked.chain(parent)?;
        let id = locked.new_dir()?;
        let dir = self.meta.snapshot_dir(id);
        let made = mkdir_mode(&self.meta.fs_dir(id), 0o755)
            .and_then(|()| {
                if self.work_dirs && kind == Kind::Active {
                    mkdir_mode(&self.meta.work_dir(id), 0o700)
                } else {
                    Ok(())
                }
            })
            .map_err(Self::snap_err(key, "creating the snapshot directory"));
        let record = Record {
            id,
            parent: parent.map(str::to_string),
            kind,
            created: SystemTime::now(),
        };
        if let Err(e) = made.and_then(|()| locked.put(key, &record)) {
            let _ = remove_tree(&dir);
            return Err(e);
        }
        Ok(Created { id, chain })
    }

    /// The record of `key` and its parents' ids.
    fn lookup(&self, key: &str) -> Result<(Record, Vec<u64>)> {
        let locked = self.meta.lock(false)?;
        let rec = locked.get(key)?;
        let chain = locked.chain(rec.parent.as_deref())?;
        Ok((rec, chain))
    }

    /// The active snapshot `key`'s tree, where layers are applied.
    fn active_dir(&self, key: &str) -> Result<PathBuf> {
        let (rec, _) = self.lookup(key)?;
        if rec.kind != Kind::Active {
            return Err(SnapshotError::NotActive {
                key: key.to_string(),
                kind: rec.kind,
            });
        }
        Ok(self.meta.fs_dir(rec.id))
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        validate_key(name)?;
        let (rec, _) = self.lookup(key)?;
        if rec.kind != Kind::Active {
            return Err(SnapshotError::NotActive {
                key: key.to_string(),
                kind: rec.kind,
            });
        }
        // Outside the lock (it can take a while): the tree must be on disk before the index
        // says it is complete, or a crash could leave a committed name over a torn layer.
        let fs_dir = self.meta.fs_dir(rec.id);
        File::open(&fs_dir)
            .and_then(|f| rustix::fs::syncfs(&f).map_err(io::Error::from))
            .map_err(Self::snap_err(key, "syncing the snapshot"))?;
        let locked = self.meta.lock(true)?;
        if locked.find(name)?.is_some() {
            return Err(SnapshotError::AlreadyExists {
                key: name.to_string(),
            });
        }
        let mut rec = locked.get(key)?;
        if rec.kind != Kind::Active {
            return Err(SnapshotError::NotActive {
                key: key.to_string(),
                kind: rec.kind,
            });
        }
        rec.kind = Kind::Committed;
        let id = rec.id;
        // The old key goes first: a crash between the two leaves no record of the tree
        // (`cleanup` takes it, and the layer is unpacked again), never two names for it.
        locked.delete(key)?;
        locked.put(name, &rec)?;
        drop(locked);
        // Only active snapshots need a work dir; overlay leaves a root-only `work/work` in it.
        if self.work_dirs {
            let _ = remove_tree(&self.meta.work_dir(id));
        }
        Ok(())
    }

    fn stat(&self, key: &str) -> Result<Info> {
        let locked = self.meta.lock(false)?;
        Ok(info(key, &locked.get(key)?))
    }

    fn list(&self) -> Result<Vec<Info>> {
        let locked = self.meta.lock(false)?;
        Ok(locked.all()?.iter().map(|(k, r)| info(k, r)).collect())
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        let (rec, _) = self.lookup(key)?;
        let dir = self.meta.fs_dir(rec.id);
        let root = open_dir(rustix::fs::CWD, dir.as_os_str())
            .map_err(Self::snap_err(key, "opening the snapshot"))?;
        let mut seen = HashSet::new();
        let mut usage = Usage::default();
        let st = rustix::fs::fstat(&root).map_err(|e| Self::snap_err(key, "stat")(e.into()))?;
        seen.insert((st.st_dev, st.st_ino));
        usage.inodes = 1;
        usage.bytes = st.st_blocks as u64 * 512;
        du(root.as_fd(), &mut seen, &mut usage).map_err(Self::snap_err(key, "measuring"))?;
        Ok(usage)
    }
}

fn info(key: &str, rec: &Record) -> Info {
    Info {
        key: key.to_string(),
        parent: rec.parent.clone(),
        kind: rec.kind,
        created: rec.created,
    }
}

fn mkdir_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::create_dir(path)?;
    // mkdir applies the umask; snapshot roots get exactly this mode.
    rustix::fs::chmod(path, Mode::from_raw_mode(mode)).map_err(io::Error::from)
}

fn du(dir: BorrowedFd<'_>, seen: &mut HashSet<(u64, u64)>, usage: &mut Usage) -> io::Result<()> {
    for name in list_dir(dir)? {
        let st = rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)?;
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if seen.insert((st.st_dev, st.st_ino)) {
            usage.inodes += 1;
            usage.bytes += st.st_blocks as u64 * 512;
            if !is_dir {
                usage.content_bytes += st.st_size as u64;
            }
        }
        if is_dir {
            let sub = open_dir(dir, &name)?;
            du(sub.as_fd(), seen, usage)?;
        }
    }
    Ok(())
}

/// Removes `path` and everything below it without following symlinks. Missing is fine, so
/// two removers racing over one tree both succeed.
fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
