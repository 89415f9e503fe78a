//! Loading an OCI image layout directory (image-spec `image-layout.md`): `oci-layout`,
//! `index.json`, `blobs/<alg>/<hex>`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    check_layer_count, parse_doc, read_blob, record_labels, summary, unique_ingest_ref, ImageError,
    ImageService, ImageSummary, Resolved, Result,
};
use crate::digest::Digest;
use crate::distribution::ManifestRef;
use crate::manifest::{self, media_type, Descriptor, Parsed, Platform};
use crate::meta::{ImageRecord, LeaseResource};
use crate::reference::Reference;
use crate::store::StoreError;

/// The OCI annotation naming a manifest in an index: a tag, or a full reference.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's annotation with the full image name (written by `ctr export`, nerdctl save).
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// `index.json` is read whole: no bigger than a manifest may be.
const MAX_INDEX_SIZE: u64 = manifest::MAX_MANIFEST_SIZE as u64;

#[derive(Deserialize)]
struct LayoutFile {
    #[serde(rename = "imageLayoutVersion")]
    version: String,
}

/// An image found in the layout, fetched into the store and unpacked, waiting for its name.
struct Loaded {
    names: Vec<String>,
    target: Descriptor,
    resolved: Resolved,
}

impl ImageService {
    /// Loads every image of the OCI layout at `dir`: each blob is copied into the store
    /// (verified against its digest), layers are unpacked as a pull does, and each manifest
    /// of `index.json` is registered under its `io.containerd.image.name` or
    /// `org.opencontainers.image.ref.name` (a tag needs `name_override` to name its
    /// repository). `name_override` names the layout's single image instead.
    ///
    /// Like a pull, it changes no name until everything is in; then all names at once.
    pub fn load_oci_layout(
        &self,
        dir: &Path,
        name_override: Option<&Reference>,
    ) -> Result<Vec<ImageSummary>> {
        let layout_err = |reason: String| ImageError::Layout {
            path: dir.to_path_buf(),
            reason,
        };
        let version_path = dir.join("oci-layout");
        let bytes = read_file(&version_path, 4096)?;
        let version: LayoutFile =
            serde_json::from_slice(&bytes).map_err(|e| layout_err(format!("oci-layout: {e}")))?;
        // 1.x layouts are compatible by the spec's versioning; anything else is not ours.
        if version.version.split('.').next() != Some("1") {
            return Err(layout_err(format!(
                "unsupported imageLayoutVersion {:?}",
                version.version
            )));
        }
        let index_bytes = read_file(&dir.join("index.json"), MAX_INDEX_SIZE)?;
        let index = match manifest::parse_manifest(&index_bytes, None)
            .map_err(|e| layout_err(format!("index.json: {e}")))?
        {
            Parsed::Index { index, .. } => index,
            Parsed::Manifest { .. } => {
                return Err(layout_err("index.json is a manifest, not an index".into()))
            }
        };
        if index.manifests.is_empty() {
            return Err(layout_err("index.json lists no images".into()));
        }
        if name_override.is_some() && index.manifests.len() > 1 {
            return Err(layout_err(format!(
                "a name can only be given to a layout with one image; this one has {}",
                index.manifests.len()
            )));
        }

        let lease = self.new_lease("load")?;
        let result = (|| {
            let mut loaded = Vec::new();
            for entry in &index.manifests {
                let names = match name_override {
                    Some(r) => vec![r.to_string()],
                    None => entry_names(dir, entry)?,
                };
                loaded.push(self.load_entry(dir, &lease, entry, names)?);
            }
            let records: Vec<Vec<ImageRecord>> = self.meta.write(|tx| {
                loaded
                    .iter()
                    .map(|l| {
                        let labels =
                            record_labels(&l.resolved.manifest_digest, &l.resolved.config_digest);
                        l.names
                            .iter()
                            .map(|n| tx.put_image(n, l.target.clone(), labels.clone()))
                            .collect()
                    })
                    .collect()
            })?;
            Ok(loaded
                .iter()
                .zip(records)
                .map(|(l, r)| summary(&l.resolved, &r))
                .collect())
        })();
        if result.is_ok() {
            self.meta.delete_lease(&lease)?;
        }
        // On failure the lease keeps what was copied and unpacked until it expires, as for
        // a failed pull.
        result
    }

    fn load_entry(
        &self,
        dir: &Path,
        lease: &str,
        entry: &Descriptor,
        names: Vec<String>,
    ) -> Result<Loaded> {
        let what = names.first().cloned().unwrap_or_default();
        let resolved = self.resolve_entry(&what, entry, &mut |desc, max| {
            self.copy_blob(dir, lease, &what, desc, max)
        })?;
        self.unpack_all(
            lease,
            &what,
            &resolved.manifest.layers,
            &resolved.config,
            &mut |_| {},
        )?;
        // The entry as index.json has it (annotations included): what the name points at.
        Ok(Loaded {
            names,
            target: entry.clone(),
            resolved,
        })
    }

    /// The image an `index.json` entry stands for: the entry's manifest, or the host
    /// platform's manifest of the index it names; its config, checked against the layers.
    /// `fetch(descriptor, size limit)` makes each blob available in the store before it is
    /// read (copied from a layout directory, or checked to be there for an archive), the
    /// documents first, then the config, then the layers.
    pub(super) fn resolve_entry(
        &self,
        what: &str,
        entry: &Descriptor,
        fetch: &mut dyn FnMut(&Descriptor, u64) -> Result<()>,
    ) -> Result<Resolved> {
        let doc_max = manifest::MAX_MANIFEST_SIZE as u64;
        fetch(entry, doc_max)?;
        let bytes = read_blob(&self.store, what, &entry.digest, doc_max)?;
        let (manifest_digest, manifest) = match parse_doc(what, &entry.digest, &bytes, None)? {
            Parsed::Manifest { manifest, .. } => (entry.digest.clone(), manifest),
            Parsed::Index { index, .. } => {
                let desc =
                    manifest::select_platform(&index, &Platform::host()).map_err(|source| {
                        ImageError::Platform {
                            reference: what.to_string(),
                            source,
                        }
                    })?;
                fetch(desc, doc_max)?;
                let bytes = read_blob(&self.store, what, &desc.digest, doc_max)?;
                match parse_doc(what, &desc.digest, &bytes, None)? {
                    Parsed::Manifest { manifest, .. } => (desc.digest.clone(), manifest),
                    Parsed::Index { media_type, .. } => {
                        return Err(ImageError::NotAnImage {
                            reference: what.to_string(),
                            digest: desc.digest.clone(),
                            media_type: media_type.to_string(),
                        })
                    }
                }
            }
        };
        if !media_type::is_image_config(&manifest.config.media_type) {
            return Err(ImageError::NotAnImage {
                reference: what.to_string(),
                digest: manifest.config.digest.clone(),
                media_type: manifest.config.media_type.clone(),
            });
        }
        fetch(&manifest.config, super::MAX_CONFIG_SIZE)?;
        let config = self.read_config(what, &manifest.config)?;
        check_layer_count(what, &manifest.layers, &config)?;
        for layer in &manifest.layers {
            fetch(layer, u64::MAX)?;
        }
        Ok(Resolved {
            manifest_digest,
            config_digest: manifest.config.digest.clone(),
            manifest,
            config,
        })
    }

    /// Copies `blobs/<alg>/<hex>` into the store (after adding it to the lease). The store
    /// checks size and digest at commit, so a damaged layout stores nothing.
    fn copy_blob(
        &self,
        dir: &Path,
        lease: &str,
        reference: &str,
        desc: &Descriptor,
        max: u64,
    ) -> Result<()> {
        if desc.size > max {
            return Err(ImageError::TooLarge {
                reference: reference.to_string(),
                digest: desc.digest.clone(),
                size: desc.size,
                limit: max,
            });
        }
        self.meta
            .add_lease_resource(lease, LeaseResource::Content(desc.digest.clone()))?;
        if self.store.exists(&desc.digest)? {
            return Ok(());
        }
        // Digest::parse allows only a known algorithm and lowercase hex: a safe path.
        let path = blob_path(dir, &desc.digest);
        let file = open_regular(&path)?;
        let ingest = unique_ingest_ref("load", &desc.digest);
        let mut writer = self
            .store
            .writer(&ingest, Some((desc.digest.clone(), desc.size)))?;
        // One byte more than promised is enough for the commit to see a size mismatch.
        let copied = std::io::copy(&mut file.take(desc.size.saturating_add(1)), &mut writer);
        if let Err(source) = copied {
            drop(writer);
            let _ = self.store.abort(&ingest);
            return Err(ImageError::LayoutIo { path, source });
        }
        match writer.commit() {
            Ok(_) => Ok(()),
            Err(e @ (StoreError::SizeMismatch { .. } | StoreError::DigestMismatch { .. })) => {
                Err(ImageError::Layout {
                    path,
                    reason: e.to_string(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm().as_str())
        .join(digest.hex())
}

/// Opens a regular file; a directory or device where a blob should be is a broken layout.
fn open_regular(path: &Path) -> Result<File> {
    let io_err = |source| ImageError::LayoutIo {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(ImageError::Layout {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    Ok(file)
}

fn read_file(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ImageError::LayoutIo {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(ImageError::Layout {
            path: path.to_path_buf(),
            reason: format!("larger than {max} bytes"),
        });
    }
    Ok(bytes)
}

/// The names an index.json entry gives its image: containerd's full name if present, else
/// the OCI ref name when it is a full reference. A bare tag names no repository.
fn entry_names(dir: &Path, entry: &Descriptor) -> Result<Vec<String>> {
    let parse = |name: &str| {
        Reference::parse(name).map_err(|source| ImageError::Reference {
            name: name.to_string(),
            source,
        })
    };
    if let Some(name) = entry.annotations.get(ANNOTATION_CONTAINERD_NAME) {
        return Ok(vec![parse(name)?.to_string()]);
    }
    match entry.annotations.get(ANNOTATION_REF_NAME) {
        // The spec's ref name is a tag when it has a tag's shape, else a reference.
        Some(name) if matches!(ManifestRef::parse(name), Ok(ManifestRef::Tag(_))) => {
            Err(ImageError::Layout {
                path: dir.to_path_buf(),
                reason: format!(
                    "image {} is tagged {name:?} but names no repository: give it a name",
                    entry.digest
                ),
            })
        }
        Some(name) => Ok(vec![parse(name)?.to_string()]),
        None => Err(ImageError::Layout {
            path: dir.to_path_buf(),
            reason: format!(
                "image {} has no name annotation ({ANNOTATION_CONTAINERD_NAME} or \
                 {ANNOTATION_REF_NAME}): give it a name",
                entry.digest
            ),
        }),
    }
}
