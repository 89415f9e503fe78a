//! What the engine needs of a container's rootfs snapshot besides mounting it:
//! `docker diff` ([`ImageService::rootfs_changes`]), `docker commit`
//! ([`ImageService::commit`]) and the mounts of an existing snapshot, for `cp` and `export`
//! of a stopped container ([`ImageService::rootfs_mounts`]).
//!
//! Nothing is mounted here. With overlayfs the changes are read from the snapshot's upper
//! dir against its lower dirs, as Docker's overlay2 driver does (`OverlayChanges`); with the
//! native snapshotter the snapshot's tree is compared with its parent's (`ChangesDirs`).

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, Stat};
use rustix::io::Errno;
use serde_json::Value;

use super::history::rfc3339;
use super::import::RecordName;
use super::tree::{write_tree_tar_with, TreeOptions};
use super::{
    parse_doc, read_blob, snap_err, unique_ingest_ref, ImageError, ImageService, ImageSummary,
    Result, LABEL_ROOTFS_IMAGE, LABEL_ROOTFS_MANIFEST, MAX_CONFIG_SIZE,
};
use crate::digest::Digest;
use crate::fsat::{list_dir, open_dir, proc_path, OPAQUE_XATTR};
use crate::manifest::{media_type, ContainerConfig, Descriptor, History, ImageConfig, Parsed};
use crate::meta::LeaseResource;
use crate::reference::Reference;
use crate::snapshot::{self, MountSpec};

const CAPABILITY_XATTR: &str = "security.capability";

/// What happened to a path, numbered as Docker's API numbers it (`Kind` in
/// `GET /containers/{id}/changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChangeKind {
    Modified = 0,
    Added = 1,
    Deleted = 2,
}

impl ChangeKind {
    /// The API's number.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// `docker diff`'s letter: `C`, `A` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One line of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// Absolute path in the container (`/etc/passwd`).
    pub path: String,
    pub kind: ChangeKind,
}

/// What `docker commit` takes besides the container.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The new image's `config` section, already merged by the engine (the container's
    /// config with `--change` applied).
    pub config: ContainerConfig,
    /// `--message`: the history entry's comment and the config's top-level `comment`.
    pub comment: Option<String>,
    /// `--author`: the config's and the history entry's author.
    pub author: Option<String>,
    /// The name to give the image; untagged without one.
    pub reference: Option<Reference>,
    /// The history entry's `created_by`. Docker writes the container's command joined with
    /// spaces (`/bin/sh -c echo hi`).
    pub created_by: Option<String>,
    /// A build step's commit: the image is recorded as the build-cache entry of this key
    /// instead of under `reference` or as `<none>`.
    pub cache_key: Option<String>,
    /// Top-level config fields to set besides the standard ones (the legacy builder's
    /// `container`, `container_config`, `docker_version`).
    pub extra: std::collections::BTreeMap<String, Value>,
}

/// Where a container snapshot's tree lives on disk.
enum Layout {
    /// overlayfs: the container's writes, and the layers below, topmost first.
    Overlay {
        upper: PathBuf,
        lowers: Vec<PathBuf>,
    },
    /// native: the container's full tree, and its parent's (the image's) if it has one.
    Copy {
        tree: PathBuf,
        parent: Option<PathBuf>,
    },
}

fn rootfs_err(key: &str, reason: impl Into<String>) -> ImageError {
    ImageError::Rootfs {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ImageError + '_ {
    move |source| ImageError::RootfsIo {
        path: path.display().to_string(),
        source,
    }
}

impl ImageService {
    /// The mounts of the existing container rootfs `container_key` (as
    /// [`prepare_rootfs`](Self::prepare_rootfs) returned them), to mount a stopped
    /// container's rootfs on a temporary directory for `cp` or `export` with
    /// [`snapshot::mount_at`].
    pub fn rootfs_mounts(&self, container_key: &str) -> Result<Vec<MountSpec>> {
        self.active_snapshot(container_key)?;
        self.snapshotter
            .mounts(container_key)
            .map_err(snap_err(container_key))
    }

    /// `docker diff`: the container's changes to its image, in the order Docker lists them
    /// (a directory before what is in it, names sorted), without mounting anything.
    ///
    /// As Docker's overlay2 driver: a whiteout is `Deleted`; an opaque directory (deleted
    /// and made again) is `Deleted` too, and what it now holds `Added`; a path a lower layer
    /// has is `Modified`, else `Added`, except a directory whose size, mode and mtime match
    /// the lower one's, which is left out; the parent of an added or deleted path is listed
    /// `Modified` before it unless it already was. With the native snapshotter the tree is
    /// compared with the image's (Docker's `ChangesDirs`: mode, owner, device, and for
    /// non-directories mtime and size, plus file capabilities).
    pub fn rootfs_changes(&self, container_key: &str) -> Result<Vec<Change>> {
        match self.layout(container_key)? {
            Layout::Overlay { upper, lowers } => overlay_changes(&upper, &lowers),
            Layout::Copy { tree, parent } => tree_changes(&tree, parent.as_deref()),
        }
    }

    /// `docker commit`: the container's changes become one new layer on top of the image it
    /// was prepared from (recorded on the snapshot by `prepare_rootfs`), stored as an
    /// uncompressed OCI layer as `import` stores its layer, with a config carrying
    /// `opts.config`, the parent's layers plus the new one, and a history entry. The new
    /// image is unpacked and named `opts.reference` (or left untagged). A container with no
    /// changes gives an `empty_layer` history entry and no new layer, as Docker does.
    ///
    /// The container should not be writing meanwhile (Docker pauses it). Needs the overlay
    /// snapshotter: with the native one this is [`ImageError::Rootfs`].
    pub fn commit(&self, container_key: &str, opts: &CommitOptions) -> Result<ImageSummary> {
        let record = self
            .meta
            .get_snapshot(container_key)?
            .ok_or_else(|| rootfs_err(container_key, "no such container rootfs"))?;
        let label = |name: &str| -> Result<Digest> {
            let value = record.labels.get(name).ok_or_else(|| {
                rootfs_err(
                    container_key,
                    format!("no record of the image it was made from ({name})"),
                )
            })?;
            value
                .parse::<Digest>()
                .map_err(|e| rootfs_err(container_key, format!("label {name}: {e}")))
        };
        let config_digest = label(LABEL_ROOTFS_IMAGE)?;
        let manifest_digest = label(LABEL_ROOTFS_MANIFEST)?;
        let upper = match self.layout(container_key)? {
            Layout::Overlay { upper, .. } => upper,
            Layout::Copy { .. } => {
                return Err(rootfs_err(
                    container_key,
                    format!(
                        "commit is not supported with the {} snapshotter",
                        self.snapshotter.name()
                    ),
                ))
            }
        };
        let lease = self.new_lease("commit")?;
        let result = self.commit_leased(
            &lease,
            container_key,
            &config_digest,
            &manifest_digest,
            &upper,
            opts,
        );
        let _ = self.meta.delete_lease(&lease);
        result
    }

    fn commit_leased(
        &self,
        lease: &str,
        key: &str,
        config_digest: &Digest,
        manifest_digest: &Digest,
        upper: &Path,
        opts: &CommitOptions,
    ) -> Result<ImageSummary> {
        // The parent's documents are kept by the lease while the new image is made (its
        // names may go meanwhile).
        for d in [config_digest, manifest_digest] {
            self.meta
                .add_lease_resource(lease, LeaseResource::Content(d.clone()))?;
        }
        let what = format!("commit of {key}");
        let bytes = read_blob(&self.store, &what, manifest_digest, MAX_CONFIG_SIZE)?;
        let parent_manifest = match parse_doc(&what, manifest_digest, &bytes, None)? {
            Parsed::Manifest { manifest, .. } => manifest,
            Parsed::Index { .. } => {
                return Err(rootfs_err(
                    key,
                    format!("{manifest_digest} is an index, not the image's manifest"),
                ))
            }
        };
        let bytes = read_blob(&self.store, &what, config_digest, MAX_CONFIG_SIZE)?;
        let mut config =
            ImageConfig::from_slice(&bytes).map_err(|source| ImageError::Document {
                reference: what.clone(),
                digest: config_digest.clone(),
                source,
            })?;

        // The layer: the upper dir as an OCI layer tar, straight into the store.
        let ingest = unique_ingest_ref("commit", &Digest::sha256_of(lease.as_bytes()));
        let mut writer = self.store.writer(&ingest, None)?;
        let options = TreeOptions {
            overlay_whiteouts: true,
        };
        if let Err(e) = write_tree_tar_with(upper, &mut writer, options) {
            drop(writer);
            let _ = self.store.abort(&ingest);
            return Err(io_err(upper)(e));
        }
        let layer_size = writer.offset();
        let diff_id = writer.commit()?;
        self.meta
            .add_lease_resource(lease, LeaseResource::Content(diff_id.clone()))?;
        // Docker: a layer with nothing in it (the empty tar) is not added, only noted.
        let empty = diff_id == Digest::sha256_of(&[0u8; 1024]);

        let now = rfc3339(SystemTime::now());
        config.created = Some(now.clone());
        config.author = opts.author.clone();
        config.config = Some(opts.config.clone());
        match &opts.comment {
            Some(c) => {
                config
                    .extra
                    .insert("comment".into(), Value::String(c.clone()));
            }
            None => {
                config.extra.remove("comment");
            }
        }
        // A null removes the field (the parent's value must not carry over).
        for (k, v) in &opts.extra {
            if v.is_null() {
                config.extra.remove(k);
            } else {
                config.extra.insert(k.clone(), v.clone());
            }
        }
        config.history.push(History {
            created: Some(now),
            created_by: opts.created_by.clone(),
            author: opts.author.clone(),
            comment: opts.comment.clone(),
            empty_layer: empty.then_some(true),
            extra: Default::default(),
        });
        let mut layers = parent_manifest.layers.clone();
        if !empty {
            config.rootfs.diff_ids.push(diff_id.clone());
            layers.push(Descriptor::new(media_type::OCI_LAYER, diff_id, layer_size));
        }
        let record = match (&opts.cache_key, &opts.reference) {
            (Some(key), _) => RecordName::Cache(key),
            (None, Some(r)) => RecordName::Reference(r),
            (None, None) => RecordName::Untagged,
        };
        self.store_image_as(lease, &what, config, layers, record)
    }

    /// Checks that `key` is a container rootfs: an active snapshot.
    fn active_snapshot(&self, key: &str) -> Result<snapshot::Info> {
        let info = self.snapshotter.stat(key).map_err(snap_err(key))?;
        if info.kind != snapshot::Kind::Active {
            return Err(rootfs_err(
                key,
                format!("the snapshot is {}, not a container rootfs", info.kind),
            ));
        }
        Ok(info)
    }

    /// Where the snapshot's trees are, read from its mounts.
    fn layout(&self, key: &str) -> Result<Layout> {
        let info = self.active_snapshot(key)?;
        let mounts = self.snapshotter.mounts(key).map_err(snap_err(key))?;
        let unexpected = || rootfs_err(key, format!("unexpected mounts {mounts:?}"));
        let [mount] = mounts.as_slice() else {
            return Err(unexpected());
        };
        match self.snapshotter.name() {
            "overlayfs" if mount.typ == "overlay" => {
                let option = |prefix: &str| {
                    mount
                        .options
                        .iter()
                        .find_map(|o| o.strip_prefix(prefix))
                        .map(str::to_string)
                };
                let upper = option("upperdir=").ok_or_else(unexpected)?;
                let lowers = option("lowerdir=").unwrap_or_default();
                Ok(Layout::Overlay {
                    upper: PathBuf::from(upper),
                    lowers: lowers
                        .split(':')
                        .filter(|l| !l.is_empty())
                        .map(PathBuf::from)
                        .collect(),
                })
            }
            // An overlay snapshot with no parent is its own dir, bound.
            "overlayfs" if mount.typ == "bind" => Ok(Layout::Overlay {
                upper: PathBuf::from(&mount.source),
                lowers: Vec::new(),
            }),
            "native" if mount.typ == "bind" => {
                let parent = match &info.parent {
                    None => None,
                    Some(p) => {
                        let pm = self.snapshotter.mounts(p).map_err(snap_err(p))?;
                        let [m] = pm.as_slice() else {
                            return Err(unexpected());
                        };
                        Some(PathBuf::from(&m.source))
                    }
                };
                Ok(Layout::Copy {
                    tree: PathBuf::from(&mount.source),
                    parent,
                })
            }
            _ => Err(unexpected()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tree helpers (fd-relative, never following a symlink)

fn sorted_names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = list_dir(dir)?;
    names.sort();
    Ok(names)
}

/// An xattr of `dir/name`, not following `name`; `None` if absent or unreadable.
fn xattr(dir: BorrowedFd<'_>, name: &OsStr, key: &str) -> Option<Vec<u8>> {
    let mut value = vec![0u8; 4096];
    let n = rustix::fs::lgetxattr(proc_path(dir, name), key, &mut value[..]).ok()?;
    value.truncate(n);
    Some(value)
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

/// Docker's `sameFsTime`: equal, or the same second with one side lacking nanoseconds
/// (tar keeps whole seconds).
fn same_time(a_sec: i64, a_nsec: i64, b_sec: i64, b_nsec: i64) -> bool {
    a_sec == b_sec && (a_nsec == b_nsec || a_nsec == 0 || b_nsec == 0)
}

fn path_of(comps: &[OsString]) -> String {
    let mut s = String::new();
    for c in comps {
        s.push('/');
        s.push_str(&c.to_string_lossy());
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

// ---------------------------------------------------------------------------------------------
// overlayfs: upper dir against lower dirs

/// The lower layers of a snapshot, opened, topmost first.
struct Lowers(Vec<OwnedFd>);

impl Lowers {
    /// The lstat of `comps` as the lower layers merged by overlayfs show it: the topmost
    /// layer that has it wins; a whiteout, or a non-directory on the way, hides it and
    /// everything below; an opaque directory on the way hides the layers below it.
    fn lookup(&self, comps: &[OsString]) -> io::Result<Option<Stat>> {
        'layers: for layer in &self.0 {
            let mut dir: Option<OwnedFd> = None;
            let mut opaque = false;
            for (i, c) in comps.iter().enumerate() {
                let base = dir.as_ref().map_or(layer.as_fd(), |d| d.as_fd());
                let st = match rustix::fs::statat(base, c, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(Errno::NOENT) if opaque => return Ok(None),
                    Err(Errno::NOENT) => continue 'layers,
                    Err(e) => return Err(e.into()),
                };
                if is_whiteout(&st) {
                    return Ok(None);
                }
                if i + 1 == comps.len() {
                    return Ok(Some(st));
                }
                if !is_dir(&st) {
                    return Ok(None);
                }
                opaque |= xattr(base, c, OPAQUE_XATTR).is_some_and(|v| v == b"y");
                dir = Some(open_dir(base, c)?);
            }
        }
        Ok(None)
    }
}

fn overlay_changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>> {
    let root = open_dir(rustix::fs::CWD, upper.as_os_str()).map_err(io_err(upper))?;
    let lowers = Lowers(
        lowers
            .iter()
            .map(|l| open_dir(rustix::fs::CWD, l.as_os_str()).map_err(io_err(l)))
            .collect::<Result<_>>()?,
    );
    let mut walk = OverlayWalk {
        lowers,
        changes: Vec::new(),
        changed_dirs: HashSet::new(),
    };
    walk.walk(root.as_fd(), &mut Vec::new(), false)
        .map_err(io_err(upper))?;
    Ok(walk.changes)
}

struct OverlayWalk {
    lowers: Lowers,
    changes: Vec<Change>,
    /// Directories already listed (Docker's `changedDirs`).
    changed_dirs: HashSet<String>,
}

impl OverlayWalk {
    /// Docker's `changes()` over the upper dir, depth first with names sorted (Go's
    /// `filepath.Walk` order). `hidden`: below an opaque directory, where the lower layers
    /// do not show through, so everything there is new.
    fn walk(
        &mut self,
        dir: BorrowedFd<'_>,
        comps: &mut Vec<OsString>,
        hidden: bool,
    ) -> io::Result<()> {
        for name in sorted_names(dir)? {
            let st = rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)?;
            comps.push(name.clone());
            let path = path_of(comps);
            let dir_here = is_dir(&st);
            let opaque = dir_here && xattr(dir, &name, OPAQUE_XATTR).is_some_and(|v| v == b"y");
            let kind = if is_whiteout(&st) || opaque {
                // Docker's overlayDeletedFile: an opaque directory replaced what was there.
                Some(ChangeKind::Deleted)
            } else {
                let lower = if hidden {
                    None
                } else {
                    self.lowers.lookup(comps)?
                };
                match lower {
                    None => Some(ChangeKind::Added),
                    Some(l)
                        if dir_here
                            && is_dir(&l)
                            && l.st_size == st.st_size
                            && l.st_mode == st.st_mode
                            && same_time(
                                st.st_mtime,
                                st.st_mtime_nsec as i64,
                                l.st_mtime,
                                l.st_mtime_nsec as i64,
                            ) =>
                    {
                        // Only there because something below changed: not listed itself.
                        None
                    }
                    Some(_) => Some(ChangeKind::Modified),
                }
            };
            if let Some(kind) = kind {
                if dir_here {
                    self.changed_dirs.insert(path.clone());
                }
                if kind != ChangeKind::Modified {
                    let parent = parent_of(&path);
                    if parent != "/" && !self.changed_dirs.contains(parent) {
                        self.changed_dirs.insert(parent.to_string());
                        self.changes.push(Change {
                            path: parent.to_string(),
                            kind: ChangeKind::Modified,
                        });
                    }
                }
                self.changes.push(Change { path, kind });
            }
            if dir_here {
                let sub = open_dir(dir, &name)?;
                self.walk(sub.as_fd(), comps, hidden || opaque)?;
            }
            comps.pop();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// native: full tree against the parent's full tree

fn tree_changes(tree: &Path, parent: Option<&Path>) -> Result<Vec<Change>> {
    let new = open_dir(rustix::fs::CWD, tree.as_os_str()).map_err(io_err(tree))?;
    let old = match parent {
        Some(p) => Some(open_dir(rustix::fs::CWD, p.as_os_str()).map_err(io_err(p))?),
        None => None,
    };
    let mut changes = Vec::new();
    diff_dirs(
        new.as_fd(),
        old.as_ref().map(|o| o.as_fd()),
        &mut Vec::new(),
        true,
        &mut changes,
    )
    .map_err(io_err(tree))?;
    // Docker's order here comes from a Go map (random); component order is the stable
    // form of its walk: a directory before what is in it.
    changes.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    Ok(changes)
}

/// Docker's `statDifferent` plus the capability comparison of `addChanges`.
fn stat_different(old: &Stat, new: &Stat) -> bool {
    old.st_mode != new.st_mode
        || old.st_uid != new.st_uid
        || old.st_gid != new.st_gid
        || old.st_rdev != new.st_rdev
        || (!is_dir(old)
            && (!same_time(
                old.st_mtime,
                old.st_mtime_nsec as i64,
                new.st_mtime,
                new.st_mtime_nsec as i64,
            ) || old.st_size != new.st_size))
}

/// Docker's `addChanges` over two trees. `listed`: the directory itself is already listed
/// (added or modified), so changes inside do not list it again.
fn diff_dirs(
    new: BorrowedFd<'_>,
    old: Option<BorrowedFd<'_>>,
    comps: &mut Vec<OsString>,
    listed: bool,
    changes: &mut Vec<Change>,
) -> io::Result<()> {
    let at_entry = changes.len();
    let mut old_names: BTreeSet<OsString> = match old {
        Some(o) => sorted_names(o)?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    for name in sorted_names(new)? {
        let nst = rustix::fs::statat(new, &name, AtFlags::SYMLINK_NOFOLLOW)?;
        let ost = match old {
            Some(o) if old_names.remove(&name) => {
                Some(rustix::fs::statat(o, &name, AtFlags::SYMLINK_NOFOLLOW)?)
            }
            _ => None,
        };
        comps.push(name.clone());
        let child_listed = match &ost {
            None => {
                changes.push(Change {
                    path: path_of(comps),
                    kind: ChangeKind::Added,
                });
                true
            }
            Some(o) => {
                let caps_differ = match old {
                    Some(od) => {
                        xattr(od, &name, CAPABILITY_XATTR) != xattr(new, &name, CAPABILITY_XATTR)
                    }
                    None => false,
                };
                if stat_different(o, &nst) || caps_differ {
                    changes.push(Change {
                        path: path_of(comps),
                        kind: ChangeKind::Modified,
                    });
                    true
                } else {
                    false
                }
            }
        };
        if is_dir(&nst) {
            let sub_new = open_dir(new, &name)?;
            let sub_old = match (old, &ost) {
                (Some(o), Some(ost)) if is_dir(ost) => Some(open_dir(o, &name)?),
                _ => None,
            };
            diff_dirs(
                sub_new.as_fd(),
                sub_old.as_ref().map(|s| s.as_fd()),
                comps,
                child_listed,
                changes,
            )?;
        }
        comps.pop();
    }
    for name in old_names {
        comps.push(name);
        changes.push(Change {
            path: path_of(comps),
            kind: ChangeKind::Deleted,
        });
        comps.pop();
    }
    if changes.len() > at_entry && !listed && !comps.is_empty() {
        changes.insert(
            at_entry,
            Change {
                path: path_of(comps),
                kind: ChangeKind::Modified,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_letters() {
        assert_eq!(parent_of("/etc/passwd"), "/etc");
        assert_eq!(parent_of("/etc"), "/");
        assert_eq!(ChangeKind::Deleted.code(), 2);
        assert_eq!(ChangeKind::Modified.letter(), 'C');
        assert!(same_time(5, 0, 5, 7));
        assert!(!same_time(5, 3, 5, 7));
    }

    /// The native comparison on two plain directories: added, modified (size), deleted,
    /// and the parent listed before what changed in it.
    #[test]
    fn tree_changes_like_changes_dirs() {
        let d = tempfile::tempdir().expect("tempdir");
        let (old, new) = (d.path().join("old"), d.path().join("new"));
        for root in [&old, &new] {
            std::fs::create_dir_all(root.join("etc")).expect("mkdir");
            std::fs::write(root.join("etc/keep"), b"same").expect("write");
            std::fs::create_dir_all(root.join("var")).expect("mkdir");
        }
        // Same mtimes, so only real differences count.
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for root in [&old, &new] {
            let f = std::fs::File::options()
                .write(true)
                .open(root.join("etc/keep"))
                .expect("open");
            f.set_modified(t).expect("mtime");
        }
        std::fs::write(old.join("etc/gone"), b"x").expect("write");
        std::fs::write(new.join("etc/new"), b"y").expect("write");
        std::fs::write(old.join("var/f"), b"1").expect("write");
        std::fs::write(new.join("var/f"), b"22").expect("write");
        let got: Vec<(char, String)> = tree_changes(&new, Some(&old))
            .expect("changes")
            .into_iter()
            .map(|c| (c.kind.letter(), c.path))
            .collect();
        let want: Vec<(char, String)> = [
            ('C', "/etc"),
            ('D', "/etc/gone"),
            ('A', "/etc/new"),
            ('C', "/var"),
            ('C', "/var/f"),
        ]
        .iter()
        .map(|(k, p)| (*k, p.to_string()))
        .collect();
        assert_eq!(got, want);
    }
}
