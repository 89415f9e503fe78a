//! The overlayfs snapshotter: a committed snapshot is one layer's tree, used as an overlay
//! lower dir by every chain that goes through it; an active snapshot is an upper dir and a
//! work dir mounted over its parent chain.
//!
//! The trees are overlay's own on-disk format: whiteouts are 0/0 character devices and
//! opaque directories carry `trusted.overlay.opaque=y`, exactly what `apply_layer` writes,
//! so applying a layer is unpacking it into the active snapshot's `fs` dir.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{
    mount_at, unmount, Core, Created, Info, Kind, MountSpec, Result, SnapshotError, Snapshotter,
    Usage,
};
use crate::unpack::{UnpackOptions, UnpackSummary};

/// Snapshots as overlayfs layers. See the module documentation of [`crate::snapshot`].
#[derive(Debug)]
pub struct OverlaySnapshotter {
    core: Core,
}

impl OverlaySnapshotter {
    /// Opens (creating if needed) an overlay snapshotter rooted at `root`, and deletes
    /// snapshot directories left over by a crash. Whether overlayfs works there is not
    /// checked: see [`supported`] and [`super::open`].
    pub fn open(root: &Path) -> Result<Self> {
        Ok(OverlaySnapshotter {
            core: Core::open(root, true)?,
        })
    }

    fn mounts_of(&self, id: u64, kind: Kind, chain: &[u64]) -> Vec<MountSpec> {
        let meta = &self.core.meta;
        let lowerdir = || {
            let dirs: Vec<String> = chain
                .iter()
                .map(|p| meta.fs_dir(*p).to_string_lossy().into_owned())
                .collect();
            format!("lowerdir={}", dirs.join(":"))
        };
        match (kind, chain) {
            // Nothing below: the snapshot's own dir is the whole tree.
            (Kind::Active, []) => vec![MountSpec::bind(&meta.fs_dir(id), false)],
            (Kind::Active, _) => vec![MountSpec {
                typ: "overlay".into(),
                source: "overlay".into(),
                target: None,
                options: vec![
                    lowerdir(),
                    format!("upperdir={}", meta.fs_dir(id).display()),
                    format!("workdir={}", meta.work_dir(id).display()),
                ],
            }],
            // A view has no upper dir: with no parent it shows its own empty dir, with one it
            // is that layer read-only (overlay needs two lower dirs to run without an upper).
            (_, []) => vec![MountSpec::bind(&meta.fs_dir(id), true)],
            (_, [only]) => vec![MountSpec::bind(&meta.fs_dir(*only), true)],
            (_, _) => vec![MountSpec {
                typ: "overlay".into(),
                source: "overlay".into(),
                target: None,
                options: vec!["ro".into(), lowerdir()],
            }],
        }
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Vec<MountSpec>> {
        let Created { id, chain } = self.core.create(key, parent, kind)?;
        Ok(self.mounts_of(id, kind, &chain))
    }
}

impl Snapshotter for OverlaySnapshotter {
    fn name(&self) -> &'static str {
        "overlayfs"
    }

    fn root(&self) -> &Path {
        &self.core.meta.root
    }

    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>> {
        self.create(key, parent, Kind::Active)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<MountSpec>> {
        self.create(key, parent, Kind::View)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        self.core.commit(name, key)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.core.remove(key)
    }

    fn mounts(&self, key: &str) -> Result<Vec<MountSpec>> {
        let (rec, chain) = self.core.lookup(key)?;
        if rec.kind == Kind::Committed {
            // A committed snapshot is seen read-only, as the top of its own chain.
            let mut full = vec![rec.id];
            full.extend(chain);
            return Ok(self.mounts_of(rec.id, Kind::View, &full));
        }
        Ok(self.mounts_of(rec.id, rec.kind, &chain))
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.core.stat(key)
    }

    fn list(&self) -> Result<Vec<Info>> {
        self.core.list()
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        self.core.usage(key)
    }

    fn apply_layer(
        &self,
        key: &str,
        tar: &mut dyn Read,
        opts: &UnpackOptions,
    ) -> Result<UnpackSummary> {
        let dir = self.core.active_dir(key)?;
        crate::unpack::apply_layer(tar, &dir, opts).map_err(|source| SnapshotError::Unpack {
            key: key.to_string(),
            source,
        })
    }

    fn cleanup(&self) -> Result<()> {
        self.core.cleanup()
    }
}

/// Whether an overlay with an upper dir can be mounted on the filesystem of `dir`: it cannot
/// without the privilege to mount, on filesystems lacking what overlay needs of an upper dir
/// (trusted xattrs, d_type), or on some overlayfs-on-overlayfs stacks.
pub fn supported(dir: &Path) -> bool {
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    let ok = probe_mount(&probe).unwrap_or(false);
    let _ = fs::remove_dir_all(&probe);
    ok
}

fn probe_mount(probe: &Path) -> std::io::Result<bool> {
    let _ = fs::remove_dir_all(probe);
    let sub = |n: &str| -> std::io::Result<PathBuf> {
        let p = probe.join(n);
        fs::create_dir_all(&p)?;
        Ok(p)
    };
    let (lower, upper, work, merged) = (sub("l")?, sub("u")?, sub("w")?, sub("m")?);
    let spec = MountSpec {
        typ: "overlay".into(),
        source: "overlay".into(),
        target: None,
        options: vec![
            format!("lowerdir={}", lower.display()),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ],
    };
    if mount_at(&[spec], &merged).is_err() {
        return Ok(false);
    }
    // Writing through it proves the upper dir works, not just the mount call.
    let wrote = fs::write(merged.join("f"), b"x").is_ok();
    if unmount(&merged).is_err() {
        // Detached at least, so removing the probe cannot reach through the mount.
        let _ = rustix::mount::unmount(&merged, rustix::mount::UnmountFlags::DETACH);
    }
    Ok(wrote && upper.join("f").exists())
}
