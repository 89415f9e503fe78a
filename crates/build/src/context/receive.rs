//! The daemon's side of the context: POST /build's body (a tar, plain or compressed with
//! gzip, bzip2, xz or zstd as dockerd's `DecompressStream` accepts) extracted into a fresh
//! private directory by muelle_image's root-scoped extraction, which refuses entries that
//! climb out (`..`, absolute names, hard links leaving the root) and never follows a
//! symlink out of the directory. Symlinks pointing above the root are kept, as dockerd's
//! chrooted untar keeps them.

use std::io::Read;
use std::path::Path;

use muelle_image::{extract_to_dir, ExtractOptions};

use super::archive;
use super::ContextError;

/// Extracts the context tar `input` into `dir` (which must exist and be empty).
pub fn extract_context(input: &mut dyn Read, dir: &Path) -> Result<(), ContextError> {
    let (_, reader) = archive::decompress(input).map_err(|e| ContextError::BadArchive {
        reason: format!("reading the context: {e}"),
    })?;
    // dockerd untars the context chrooted: a symlink to `../../x` is kept (it then
    // resolves inside the context, as every path here does).
    let opts = ExtractOptions {
        symlinks_out: true,
        ..ExtractOptions::default()
    };
    extract_to_dir(reader, dir, &opts)?;
    Ok(())
}
