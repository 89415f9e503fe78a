//! `docker cp` extraction: the unpacker's copy mode, used on both ends of a copy.
//!
//! Into a container ([`extract_copy`], through `extract_into_root`), the root is the
//! container's rootfs and the destination a directory inside it. Out of a container
//! ([`extract_to_dir`], the `muelle` CLI), the root is the host directory the user named:
//! the archive comes from a daemon, and through it from the container, so it is as
//! untrusted as a layer. In both, every path is resolved with RESOLVE_IN_ROOT, so a symlink
//! an earlier entry planted (`top/a -> /etc`, then `top/a/passwd`) resolves inside the root
//! and never writes outside it.

use std::io::Read;
use std::path::Path;

use super::{apply_tar, clean, join, show, UnpackError, UnpackOptions, UnpackSummary};

/// How a copy's extraction differs from a layer's.
#[derive(Debug, Clone, Default)]
pub(crate) struct CopyInto {
    /// The destination directory inside the root, as normal components (symlinks already
    /// resolved in the root's scope). Entries land below it.
    pub dest: Vec<Vec<u8>>,
    /// Docker's `noOverwriteDirNonDir`: a directory may not replace a non-directory, nor the
    /// other way round.
    pub no_overwrite_dir_non_dir: bool,
    /// The archive's top-level name replaced by this one (Docker's `RebaseArchiveEntries`),
    /// hard link targets included; an empty name drops the top level, so its contents land
    /// in the destination itself.
    pub rename_top: Option<Vec<u8>>,
    /// Extraction onto the host by a client, as Docker's `CopyTo` (`NoLchown`): owners are
    /// not taken from the archive, and an xattr the filesystem or the user may not set is
    /// skipped instead of failing the copy.
    pub host: bool,
    /// Every entry owned by this uid and gid instead of the archive's (dockerd's
    /// `ChownOpts` for `copyUIDGID` when the container has a user).
    pub owner: Option<(u32, u32)>,
    /// Symlinks whose relative target climbs above the destination are kept
    /// ([`ExtractOptions::symlinks_out`]).
    pub symlinks_out: bool,
}

impl CopyInto {
    /// `comps` (the cleaned form of the name `raw`) with the top-level name replaced as
    /// [`CopyInto::rename_top`] says. A name starting with `.` (the daemon's archive of
    /// `dir/.`, whose entries are `./…`) has `.` as its top level, which cleaning dropped.
    pub(super) fn rebase(&self, raw: &[u8], comps: &mut Vec<Vec<u8>>) {
        let Some(to) = &self.rename_top else {
            return;
        };
        if raw.split(|b| *b == b'/').next() == Some(b".".as_slice()) {
            if !to.is_empty() {
                comps.insert(0, to.clone());
            }
            return;
        }
        if comps.is_empty() {
            return;
        }
        if to.is_empty() {
            comps.remove(0);
        } else {
            comps[0] = to.clone();
        }
    }
}

/// Extracts the tar `input` into `copy.dest` inside `root`, as `docker cp` does: `.wh.`
/// names are ordinary files, the destination's own entry (`.`) is skipped, and entries
/// that would leave the destination are refused: names climbing with `..`, absolute names,
/// symlinks whose relative target climbs out of it, and hard links to outside it. Paths are
/// resolved with RESOLVE_IN_ROOT against `root`, so symlinks already in the container (even
/// absolute ones) are followed as the container sees them and never lead out of `root`.
#[cfg(feature = "service")]
pub(crate) fn extract_copy<R: Read>(
    input: R,
    root: &Path,
    copy: CopyInto,
) -> Result<UnpackSummary, UnpackError> {
    apply_tar(input, root, &UnpackOptions::default(), Some(copy))
}

/// What [`extract_to_dir`] does with the archive's names.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// The name the archive's top-level entry takes in the directory (`docker cp ctr:/a
    /// /tmp/b` writes `a`'s tree as `b`); `"."` puts the top level's contents into the
    /// directory itself (`ctr:/a/.`). `None` keeps the archive's names.
    pub rename_top: Option<String>,
    /// Refuse to replace a directory by a non-directory or the reverse, as Docker's client.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep symlinks whose relative target climbs above `dir` instead of refusing them: a
    /// build context, which dockerd extracts chrooted (so `..` stops at its root). Later
    /// entries are still resolved inside `dir`, so such a link never leads a write out.
    pub symlinks_out: bool,
}

/// `docker cp CONTAINER:path DIR` on the client: extracts the uncompressed tar `input` (a
/// daemon's `GET /containers/{id}/archive` answer) into the host directory `dir`, which
/// must exist. `dir` is the root of the extraction: no entry, `..`, absolute name or
/// symlink (from the archive or already in `dir`) leads out of it. Owners are not set
/// (the files belong to the caller, as with Docker's client); modes and times are.
pub fn extract_to_dir<R: Read>(
    input: R,
    dir: &Path,
    opts: &ExtractOptions,
) -> Result<UnpackSummary, UnpackError> {
    let rename_top = match opts.rename_top.as_deref() {
        None => None,
        Some("." | "") => Some(Vec::new()),
        Some(name) if name == ".." || name.contains(['/', '\0']) => {
            return Err(UnpackError::Refused {
                entry: name.to_string(),
                reason: "a destination name must be a single path component".into(),
            })
        }
        Some(name) => Some(name.as_bytes().to_vec()),
    };
    let copy = CopyInto {
        dest: Vec::new(),
        no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
        rename_top,
        host: true,
        owner: None,
        symlinks_out: opts.symlinks_out,
    };
    apply_tar(input, dir, &UnpackOptions::default(), Some(copy))
}

/// A copied symlink may not point out of the destination with a relative target (Docker's
/// breakout check): `a/l -> ../../x` climbs above it. Absolute targets are resolved in the
/// container's root when used, as in Docker, so they are allowed.
pub(super) fn check_copy_symlink<R: Read>(
    entry: &tar::Entry<'_, R>,
    comps: &[Vec<u8>],
) -> Result<(), String> {
    let Some(target) = entry.link_name_bytes() else {
        return Ok(()); // refused later as a symlink without a target
    };
    if target.first() == Some(&b'/') {
        return Ok(());
    }
    let mut joined = join(&comps[..comps.len().saturating_sub(1)]);
    joined.push(b'/');
    joined.extend_from_slice(&target);
    clean(&joined)
        .map(|_| ())
        .map_err(|_| format!("symlink target {:?} leaves the destination", show(&target)))
}
