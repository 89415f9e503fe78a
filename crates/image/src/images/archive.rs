//! `docker save` / `docker load` archives, and writing OCI image layouts.
//!
//! What `save` writes is what Docker 25+ writes: an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/…`) and, over the same blobs, Docker's `manifest.json`, so
//! both old `docker load` (which reads `manifest.json`) and OCI tools (which read the
//! layout) accept it. Blobs are written exactly as stored, so manifest digests survive a
//! save and load.
//!
//! `load` reads a tar stream (plain, gzip or zstd) of either kind, including the legacy
//! `<id>/layer.tar` archives of Docker before 25 with their symlinked duplicate layers. It
//! never unpacks the archive onto disk: every regular file goes straight into the content
//! store (verified against its name when that is a digest), and small index files are kept
//! in memory. Archive paths are only keys into that table, so no entry can write anywhere.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout::{ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME};
use super::{
    check_layer_count, record_labels, unique_ingest_ref, ImageError, ImageService, Resolved,
    Result, MAX_CONFIG_SIZE, UNTAGGED_PREFIX,
};
use crate::digest::{Algorithm, Digest};
use crate::manifest::{self, canonical_json, media_type, Descriptor, Index, Manifest, Parsed};
use crate::meta::LeaseResource;
use crate::reference::Reference;
use crate::store::StoreError;

/// Index files of an archive are read whole: no bigger than a manifest may be.
const MAX_INDEX_FILE: u64 = manifest::MAX_MANIFEST_SIZE as u64;
/// Symlink chains in legacy archives are one hop; a few more is generous, a loop is not.
const MAX_LINK_HOPS: usize = 8;

/// One image a load brought in: its ID and the names it now has (none for an untagged one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: Digest,
    /// Full normalised names (`docker.io/library/busybox:latest`).
    pub names: Vec<String>,
}

/// An entry of Docker's `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// What a load read from the tar stream.
#[derive(Default)]
struct ArchiveFiles {
    /// Regular files, by normalised path: the blob now holding their bytes.
    blobs: HashMap<String, (Digest, u64)>,
    /// Symlinks and hard links, by normalised path: the normalised path they name.
    links: HashMap<String, String>,
    manifest_json: Option<Vec<u8>>,
    index_json: Option<Vec<u8>>,
    oci_layout: Option<Vec<u8>>,
}

impl ArchiveFiles {
    /// The blob at `path`, following links inside the archive.
    fn blob(&self, path: &str) -> Result<&(Digest, u64)> {
        let mut p = normalize(path).ok_or_else(|| archive_err(format!("bad path {path:?}")))?;
        for _ in 0..MAX_LINK_HOPS {
            if let Some(b) = self.blobs.get(&p) {
                return Ok(b);
            }
            match self.links.get(&p) {
                Some(next) => p = next.clone(),
                None => return Err(archive_err(format!("{path} is not in the archive"))),
            }
        }
        Err(archive_err(format!("{path}: too many links")))
    }
}

fn archive_err(reason: String) -> ImageError {
    ImageError::Archive { reason }
}

/// `a/./b/` → `a/b`; `None` for absolute paths and `..` (nothing in an archive we read
/// needs them, and refusing them keeps every key inside the archive).
fn normalize(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// A link target relative to the link's directory (symlinks) or the archive root (hard
/// links), normalised; `None` if it leaves the archive.
fn link_key(entry_path: &str, target: &str, symlink: bool) -> Option<String> {
    let base: Vec<&str> = if symlink {
        let mut parts: Vec<&str> = entry_path.split('/').collect();
        parts.pop();
        parts
    } else {
        Vec::new()
    };
    let mut parts: Vec<String> = base.into_iter().map(str::to_string).collect();
    for c in Path::new(target).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Wraps `input` in the decompressor its first bytes call for.
pub(super) fn decompressed<'a>(input: &'a mut dyn Read) -> Result<Box<dyn Read + 'a>> {
    let mut buf = BufReader::with_capacity(1 << 20, input);
    let head = buf
        .fill_buf()
        .map_err(|e| archive_err(format!("reading: {e}")))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buf)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let dec = zstd::stream::read::Decoder::with_buffer(buf)
            .map_err(|e| archive_err(format!("zstd: {e}")))?;
        Ok(Box::new(dec))
    } else {
        Ok(Box::new(buf))
    }
}

/// The media type a stored layer blob has, from its first bytes.
fn sniff_layer(service: &ImageService, digest: &Digest, oci: bool) -> Result<&'static str> {
    let mut head = [0u8; 4];
    let mut file = service.store.get(digest)?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(source) => {
                return Err(StoreError::Blob {
                    digest: digest.clone(),
                    source,
                }
                .into())
            }
        }
    }
    let head = &head[..n];
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        if oci {
            media_type::OCI_LAYER_GZIP
        } else {
            media_type::DOCKER_LAYER_GZIP
        }
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        media_type::OCI_LAYER_ZSTD
    } else if oci {
        media_type::OCI_LAYER
    } else {
        media_type::DOCKER_LAYER
    })
}

impl ImageService {
    /// `docker load`: reads a `docker save` archive or an OCI layout tar (plain, gzip or
    /// zstd) from `input`, stores and unpacks its images and names them. Nothing is renamed
    /// until every image of the archive is in; then all names change in one transaction.
    pub fn load(&self, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let lease = self.new_lease("load")?;
        let result = self.load_leased(&lease, input);
        if result.is_ok() {
            let _ = self.meta.delete_lease(&lease);
        }
        result
    }

    fn load_leased(&self, lease: &str, input: &mut dyn Read) -> Result<Vec<LoadedImage>> {
        let files = self.read_archive(lease, input)?;
        let found: Vec<(Vec<String>, Descriptor, Resolved)> =
            if let Some(bytes) = &files.manifest_json {
                let entries: Vec<DockerManifestEntry> = serde_json::from_slice(bytes)
                    .map_err(|e| archive_err(format!("manifest.json: {e}")))?;
                if entries.is_empty() {
                    return Err(archive_err("manifest.json lists no images".into()));
                }
                entries
                    .iter()
                    .map(|e| self.load_docker_entry(lease, &files, e))
                    .collect::<Result<_>>()?
            } else if let Some(bytes) = &files.index_json {
                if files.oci_layout.is_none() {
                    return Err(archive_err(
                        "index.json without oci-layout: not an OCI image layout".into(),
                    ));
                }
                let index = match manifest::parse_manifest(bytes, None)
                    .map_err(|e| archive_err(format!("index.json: {e}")))?
                {
                    Parsed::Index { index, .. } => index,
                    Parsed::Manifest { .. } => {
                        return Err(archive_err("index.json is a manifest, not an index".into()))
                    }
                };
                if index.manifests.is_empty() {
                    return Err(archive_err("index.json lists no images".into()));
                }
                index
                    .manifests
                    .iter()
                    .map(|entry| self.load_oci_entry(lease, &files, entry))
                    .collect::<Result<_>>()?
            } else {
                return Err(archive_err(
                    "neither manifest.json nor index.json found: not a docker save archive or OCI \
                 layout"
                        .into(),
                ));
            };
        for (_, _, resolved) in &found {
            self.unpack_all(
                lease,
                &resolved.config_digest.to_string(),
                &resolved.manifest.layers,
                &resolved.config,
                &mut |_| {},
            )?;
        }
        // IDs that already have a name: an untagged load of them adds no `<none>` record.
        let named: BTreeSet<String> = self
            .meta
            .list_images()?
            .into_iter()
            .filter(|r| !r.name.starts_with(UNTAGGED_PREFIX) && !super::is_cache_record(&r.name))
            .filter_map(|r| r.labels.get(super::LABEL_CONFIG).cloned())
            .collect();
        let mut out = Vec::new();
        self.meta.write(|tx| {
            for (names, target, resolved) in &found {
                let labels = record_labels(&resolved.manifest_digest, &resolved.config_digest);
                let untagged = format!("{UNTAGGED_PREFIX}{}", resolved.config_digest);
                if names.is_empty() {
                    // Keep the image: an untagged load is still an image (`<none>`).
                    if !named.contains(&resolved.config_digest.to_string()) {
                        tx.put_image(&untagged, target.clone(), labels.clone())?;
                    }
                } else if tx.get_image(&untagged)?.is_some() {
                    tx.delete_image(&untagged)?;
                }
                for n in names {
                    tx.put_image(n, target.clone(), labels.clone())?;
                }
                out.push(LoadedImage {
                    id: resolved.config_digest.clone(),
                    names: names.clone(),
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams the tar into the store; see the module documentation.
    fn read_archive(&self, lease: &str, input: &mut dyn Read) -> Result<ArchiveFiles> {
        let reader = decompressed(input)?;
        let mut archive = tar::Archive::new(reader);
        let mut files = ArchiveFiles::default();
        let entries = archive
            .entries()
            .map_err(|e| archive_err(format!("reading the tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| archive_err(format!("reading the tar: {e}")))?;
            let raw = entry
                .path()
                .map_err(|e| archive_err(format!("entry name: {e}")))?
                .to_string_lossy()
                .into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() || kind.is_pax_global_extensions() {
                continue;
            }
            let Some(path) = normalize(&raw) else {
                return Err(archive_err(format!(
                    "entry {raw:?} leaves the archive (absolute or '..')"
                )));
            };
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name()
                    .map_err(|e| archive_err(format!("{path}: link target: {e}")))?
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let key = link_key(&path, &target, kind.is_symlink()).ok_or_else(|| {
                    archive_err(format!("{path}: link target {target:?} leaves the archive"))
                })?;
                files.links.insert(path, key);
                continue;
            }
            if !kind.is_file() {
                continue; // devices, fifos: nothing an image archive holds
            }
            let size = entry.size();
            let small = match path.as_str() {
                "manifest.json" => Some(&mut files.manifest_json),
                "index.json" => Some(&mut files.index_json),
                "oci-layout" => Some(&mut files.oci_layout),
                _ => None,
            };
            if let Some(slot) = small {
                if size > MAX_INDEX_FILE {
                    return Err(archive_err(format!(
                        "{path} is larger than {MAX_INDEX_FILE}"
                    )));
                }
                let mut bytes = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| archive_err(format!("{path}: {e}")))?;
                *slot = Some(bytes);
                continue;
            }
            if path == "repositories" || path.ends_with("/VERSION") || path.ends_with("/json") {
                continue; // legacy v1 metadata, which manifest.json supersedes
            }
            let expected = blob_digest_of_path(&path).map(|d| (d, size));
            let digest = self.ingest(lease, &path, &mut entry, expected)?;
            files.blobs.insert(path, (digest, size));
        }
        Ok(files)
    }

    /// Copies one archive file into the store. With `expected` (a `blobs/<alg>/<hex>` path)
    /// the bytes must match it; otherwise their digest is whatever they hash to.
    fn ingest(
        &self,
        lease: &str,
        path: &str,
        data: &mut dyn Read,
        expected: Option<(Digest, u64)>,
    ) -> Result<Digest> {
        if let Some((d, _)) = &expected {
            self.meta
                .add_lease_resource(lease, LeaseResource::Content(d.clone()))?;
            if self.store.exists(d)? {
                std::io::copy(data, &mut std::io::sink())
                    .map_err(|e| archive_err(format!("{path}: {e}")))?;
                return Ok(d.clone());
            }
        }
        let reference = unique_ingest_ref(
            "archive",
            expected
                .as_ref()
                .map(|(d, _)| d)
                .unwrap_or(&Digest::sha256_of(path.as_bytes())),
        );
        let mut writer = self.store.writer(&reference, expected.clone())?;
        if let Err(e) = std::io::copy(data, &mut writer) {
            drop(writer);
            let _ = self.store.abort(&reference);
            return Err(archive_err(format!("{path}: {e}")));
        }
        let digest = match writer.commit() {
            Ok(d) => d,
            Err(e @ (StoreError::SizeMismatch { .. } | StoreError::DigestMismatch { .. })) => {
                return Err(archive_err(format!("{path}: {e}")))
            }
            Err(e) => return Err(e.into()),
        };
        if expected.is_none() {
            // Only now is the digest known; a prune in this instant could take the blob,
            // which the load would then report as missing rather than corrupt anything.
            self.meta
                .add_lease_resource(lease, LeaseResource::Content(digest.clone()))?;
        }
        Ok(digest)
    }

    /// One image of a `manifest.json`: builds the manifest Docker never stored.
    fn load_docker_entry(
        &self,
        lease: &str,
        files: &ArchiveFiles,
        entry: &DockerManifestEntry,
    ) -> Result<(Vec<String>, Descriptor, Resolved)> {
        let (config_digest, config_size) = files.blob(&entry.config)?.clone();
        let what = format!("archive image {config_digest}");
        if config_size > MAX_CONFIG_SIZE {
            return Err(ImageError::TooLarge {
                reference: what,
                digest: config_digest,
                size: config_size,
                limit: MAX_CONFIG_SIZE,
            });
        }
        let config_desc = Descriptor::new(media_type::DOCKER_CONFIG, config_digest, config_size);
        let config = self.read_config(&what, &config_desc)?;
        let mut layer_descs = Vec::with_capacity(entry.layers.len());
        let mut blobs = Vec::with_capacity(entry.layers.len());
        for path in &entry.layers {
            blobs.push(files.blob(path)?.clone());
        }
        let oci = blobs
            .iter()
            .map(|(d, _)| sniff_layer(self, d, false))
            .collect::<Result<Vec<_>>>()?;
        // A zstd layer has no Docker media type: such an image gets an OCI manifest.
        let use_oci = oci.contains(&media_type::OCI_LAYER_ZSTD);
        for (digest, size) in blobs {
            let mt = sniff_layer(self, &digest, use_oci)?;
            layer_descs.push(Descriptor::new(mt, digest, size));
        }
        check_layer_count(&what, &layer_descs, &config)?;
        let mut config_desc = config_desc;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(
                if use_oci {
                    media_type::OCI_MANIFEST
                } else {
                    media_type::DOCKER_MANIFEST
                }
                .to_string(),
            ),
            artifact_type: None,
            config: {
                if use_oci {
                    config_desc.media_type = media_type::OCI_CONFIG.to_string();
                }
                config_desc
            },
            layers: layer_descs,
            subject: None,
            annotations: BTreeMap::new(),
        };
        let bytes = canonical_json(&manifest).map_err(|source| ImageError::Document {
            reference: what.clone(),
            digest: manifest.config.digest.clone(),
            source,
        })?;
        let manifest_digest = Digest::sha256_of(&bytes);
        self.put_blob(lease, &manifest_digest, &bytes)?;
        let target = Descriptor::new(
            manifest
                .media_type
                .as_deref()
                .unwrap_or(media_type::OCI_MANIFEST),
            manifest_digest.clone(),
            bytes.len() as u64,
        );
        let names = entry
            .repo_tags
            .iter()
            .flatten()
            .map(|t| parse_name(t))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            names,
            target,
            Resolved {
                manifest_digest,
                config_digest: manifest.config.digest.clone(),
                manifest,
                config,
            },
        ))
    }

    /// One entry of an archived OCI layout's `index.json`; every blob must be in the archive.
    fn load_oci_entry(
        &self,
        lease: &str,
        files: &ArchiveFiles,
        entry: &Descriptor,
    ) -> Result<(Vec<String>, Descriptor, Resolved)> {
        let what = format!("archive image {}", entry.digest);
        let present = |d: &Descriptor| -> Result<()> {
            self.meta
                .add_lease_resource(lease, LeaseResource::Content(d.digest.clone()))?;
            let key = format!("blobs/{}/{}", d.digest.algorithm().as_str(), d.digest.hex());
            if files.blobs.contains_key(&key) || self.store.exists(&d.digest)? {
                Ok(())
            } else {
                Err(archive_err(format!("{} is not in the archive", d.digest)))
            }
        };
        let resolved = self.resolve_entry(&what, entry, &mut |d, _| present(d))?;
        // Docker names an OCI archive's images by containerd's annotation, or by a ref name
        // that is a whole reference; a bare tag names nothing and the image loads untagged.
        let names = match entry.annotations.get(ANNOTATION_CONTAINERD_NAME) {
            Some(n) => vec![parse_name(n)?],
            None => entry
                .annotations
                .get(ANNOTATION_REF_NAME)
                .filter(|n| n.contains('/') || n.contains(':'))
                .and_then(|n| Reference::parse(n).ok())
                .map(|r| vec![r.to_string()])
                .unwrap_or_default(),
        };
        Ok((names, entry.clone(), resolved))
    }

    /// `docker save`: writes the images `names` name (names or IDs) as one tar to `out`;
    /// see the module documentation for the format.
    pub fn save(&self, names: &[String], out: &mut dyn Write) -> Result<()> {
        let images = self.export_set(names)?;
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Deterministic);
        let io = |e: std::io::Error| archive_err(format!("writing the archive: {e}"));
        for dir in ["blobs/", "blobs/sha256/"] {
            let mut h = dir_header();
            tar.append_data(&mut h, dir, std::io::empty()).map_err(io)?;
        }
        let mut written = BTreeSet::new();
        for img in &images {
            for d in img.blobs() {
                if !written.insert(d.digest.clone()) {
                    continue;
                }
                let file = self.store.get(&d.digest)?;
                let size = self.store.size(&d.digest)?;
                let mut h = file_header(size);
                tar.append_data(&mut h, blob_rel_path(&d.digest), file)
                    .map_err(io)?;
            }
        }
        let index = oci_index(&images);
        let docker: Vec<DockerManifestEntry> = images
            .iter()
            .map(|img| DockerManifestEntry {
                config: blob_rel_path(&img.resolved.manifest.config.digest),
                repo_tags: Some(img.tags.iter().map(|t| familiar_tag(t)).collect()),
                layers: img
                    .resolved
                    .manifest
                    .layers
                    .iter()
                    .map(|l| blob_rel_path(&l.digest))
                    .collect(),
            })
            .collect();
        let json = |what: &str, r: serde_json::Result<Vec<u8>>| {
            r.map_err(|e| archive_err(format!("encoding {what}: {e}")))
        };
        let files: [(&str, Vec<u8>); 3] = [
            (
                "index.json",
                json("index.json", serde_json::to_vec(&index))?,
            ),
            (
                "manifest.json",
                json("manifest.json", serde_json::to_vec(&docker))?,
            ),
            ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ];
        for (name, bytes) in files {
            let mut h = file_header(bytes.len() as u64);
            tar.append_data(&mut h, name, bytes.as_slice())
                .map_err(io)?;
        }
        tar.into_inner().map_err(io)?.flush().map_err(io)?;
        Ok(())
    }

    /// Writes the images `names` name into the OCI image layout at `dir` (created if
    /// missing; an existing layout keeps its other images). Blobs are written before the
    /// index that names them, each by temp file and rename, so a reader never sees an index
    /// entry whose blobs are missing.
    pub fn write_oci_layout(&self, names: &[String], dir: &Path) -> Result<()> {
        let images = self.export_set(names)?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ImageError::LayoutIo { path, source }
        };
        let blobs = dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        for img in &images {
            for d in img.blobs() {
                let path = dir.join(blob_rel_path(&d.digest));
                if std::fs::metadata(&path).is_ok_and(|m| m.len() == d.size) {
                    continue;
                }
                let mut src = self.store.get(&d.digest)?;
                write_atomic(&path, &mut src).map_err(io(&path))?;
            }
        }
        let index_path = dir.join("index.json");
        let mut index = match std::fs::read(&index_path) {
            Ok(bytes) => match manifest::parse_manifest(&bytes, None) {
                Ok(Parsed::Index { index, .. }) => index,
                _ => {
                    return Err(ImageError::Layout {
                        path: index_path,
                        reason: "existing index.json is not an image index".into(),
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => oci_index(&[]),
            Err(e) => return Err(io(&index_path)(e)),
        };
        let new = oci_index(&images);
        let new_refs: BTreeSet<Option<&String>> = new
            .manifests
            .iter()
            .map(|m| m.annotations.get(ANNOTATION_REF_NAME))
            .collect();
        index.manifests.retain(|m| {
            !(new_refs.contains(&m.annotations.get(ANNOTATION_REF_NAME))
                && m.annotations.contains_key(ANNOTATION_REF_NAME))
        });
        index.manifests.extend(new.manifests);
        let layout_path = dir.join("oci-layout");
        write_atomic(&layout_path, &mut &br#"{"imageLayoutVersion":"1.0.0"}"#[..])
            .map_err(io(&layout_path))?;
        let bytes = serde_json::to_vec(&index).map_err(|e| ImageError::Layout {
            path: index_path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&index_path, &mut bytes.as_slice()).map_err(io(&index_path))?;
        Ok(())
    }

    /// The images to save: one per argument, with the tags the argument selects (a name
    /// selects itself; an ID selects nothing, as in Docker).
    fn export_set(&self, names: &[String]) -> Result<Vec<ExportImage>> {
        if names.is_empty() {
            return Err(archive_err("no image given".into()));
        }
        let groups = self.groups()?;
        let mut out: Vec<ExportImage> = Vec::new();
        for n in names {
            let id = self.find_id(n, &groups)?;
            let Some((resolved, records)) = groups.get(&id) else {
                return Err(ImageError::NotFound { name: n.clone() });
            };
            let tag = Reference::parse(n)
                .ok()
                .map(|r| r.to_string())
                .filter(|full| {
                    records
                        .iter()
                        .any(|r| &r.name == full && !full.contains('@'))
                });
            if let Some(existing) = out.iter_mut().find(|e| e.resolved.config_digest == id) {
                existing.tags.extend(tag);
                continue;
            }
            let manifest_size = self.store.size(&resolved.manifest_digest)?;
            out.push(ExportImage {
                resolved: (**resolved).clone(),
                manifest_desc: Descriptor::new(
                    resolved
                        .manifest
                        .media_type
                        .as_deref()
                        .unwrap_or(media_type::OCI_MANIFEST),
                    resolved.manifest_digest.clone(),
                    manifest_size,
                ),
                tags: tag.into_iter().collect(),
            });
        }
        Ok(out)
    }
}

/// An image chosen for save or layout export.
struct ExportImage {
    resolved: Resolved,
    manifest_desc: Descriptor,
    /// Full tag names to record with it.
    tags: Vec<String>,
}

impl ExportImage {
    fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        std::iter::once(&self.manifest_desc)
            .chain(std::iter::once(&self.resolved.manifest.config))
            .chain(self.resolved.manifest.layers.iter())
    }
}

fn oci_index(images: &[ExportImage]) -> Index {
    let mut manifests = Vec::new();
    for img in images {
        let platform = Some(img.resolved.config.platform());
        if img.tags.is_empty() {
            let mut d = img.manifest_desc.clone();
            d.platform = platform.clone();
            manifests.push(d);
        }
        for t in &img.tags {
            let mut d = img.manifest_desc.clone();
            d.platform = platform.clone();
            d.annotations
                .insert(ANNOTATION_CONTAINERD_NAME.into(), t.clone());
            if let Ok(r) = Reference::parse(t) {
                if let Some(tag) = r.tag() {
                    d.annotations
                        .insert(ANNOTATION_REF_NAME.into(), tag.to_string());
                }
            }
            manifests.push(d);
        }
    }
    Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.to_string()),
        artifact_type: None,
        manifests,
        subject: None,
        annotations: BTreeMap::new(),
    }
}

/// `docker.io/library/busybox:latest` → `busybox:latest`, as Docker writes RepoTags.
fn familiar_tag(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

fn parse_name(name: &str) -> Result<String> {
    Reference::parse(name)
        .map(|r| r.to_string())
        .map_err(|source| ImageError::Reference {
            name: name.to_string(),
            source,
        })
}

/// `blobs/sha256/<hex>` → the digest it names.
fn blob_digest_of_path(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}"))
        .ok()
        .filter(|d| d.algorithm() == Algorithm::Sha256 || d.algorithm().as_str() == alg)
}

fn blob_rel_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}

fn dir_header() -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    h
}

fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(0);
    h
}

/// Temp file beside `path`, fsync, rename.
fn write_atomic(path: &Path, data: &mut dyn Read) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::copy(data, &mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
