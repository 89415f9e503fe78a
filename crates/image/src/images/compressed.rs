//! The compressed forms of layers stored uncompressed (loaded from `docker save`, committed,
//! built), made once for a push and kept in the content store for every later push of any
//! image that has the layer.
//!
//! Links, all in the content records of the metadata database:
//! - the compressed blob carries containerd's `containerd.io/uncompressed` label naming the
//!   uncompressed digest (the layer's diff ID);
//! - the uncompressed blob carries `muelle.io/compressed.<gzip|zstd>` naming the compressed
//!   one, and a GC reference to it: GC keeps the compressed form exactly as long as some
//!   image keeps the uncompressed layer, and reclaims both together.
//!
//! A compression runs in an ingest named `compress-…`: one cut short (registry gone, disk
//! full, client gone) is aborted, and one a crash left behind is removed by the next prune
//! or the next start. Between the commit and the labels, the blob is held by the push's
//! lease, never by nothing.

use std::io::BufReader;

use super::{unique_ingest_ref, ImageService, Result};
use crate::compress::{self, Compression};
use crate::digest::Digest;
use crate::manifest::Descriptor;
use crate::meta::LeaseResource;
use crate::store::{IngestWriter, StoreError};

/// containerd's label on a compressed blob: the digest of its uncompressed content.
pub const LABEL_UNCOMPRESSED: &str = "containerd.io/uncompressed";
/// Label on an uncompressed blob, followed by `gzip` or `zstd`: its compressed form.
pub const LABEL_COMPRESSED_PREFIX: &str = "muelle.io/compressed.";
/// The ingest refs of compressions in progress start with this.
pub(super) const COMPRESS_INGEST_PREFIX: &str = "compress-";

/// What [`ImageService::compress_layer`] found or made.
#[derive(Debug)]
pub enum Compressed {
    /// The store had it: nothing to commit.
    Stored(Descriptor),
    /// Made now, not yet synced nor visible.
    Made(PendingCompressed),
}

/// A compressed layer in its ingest, waiting for [`ImageService::commit_compressed`].
/// Dropped instead, it stays as an abandoned ingest that the next prune or start removes.
#[derive(Debug)]
pub struct PendingCompressed {
    writer: IngestWriter,
    reference: String,
    lease: String,
    layer: Digest,
    how: Compression,
    media_type: String,
}

impl ImageService {
    /// The stored compressed form of the uncompressed `layer` as `how`, if there is one.
    pub fn stored_compressed(&self, layer: &Digest, how: Compression) -> Result<Option<Digest>> {
        let key = format!("{LABEL_COMPRESSED_PREFIX}{}", how.as_str());
        let Some(found) = self
            .meta
            .get_content(layer)?
            .and_then(|r| r.labels.get(&key).cloned())
            .and_then(|d| Digest::parse(&d).ok())
        else {
            return Ok(None);
        };
        // The label outlives its blob only if someone deleted files by hand.
        Ok(self.store.exists(&found)?.then_some(found))
    }

    /// The compressed form of the uncompressed `layer` (`media_type` is the compressed
    /// type), held by `lease`: the stored one, or one made now on `threads` threads and
    /// stored. Returns it and whether it was made now. Blocking: run it off the runtime.
    pub fn compressed_layer(
        &self,
        lease: &str,
        layer: &Descriptor,
        how: Compression,
        media_type: &str,
        threads: usize,
    ) -> Result<(Descriptor, bool)> {
        match self.compress_layer(lease, layer, how, media_type, threads)? {
            Compressed::Stored(d) => Ok((d, false)),
            Compressed::Made(pending) => Ok((self.commit_compressed(pending)?, true)),
        }
    }

    /// The CPU half of [`Self::compressed_layer`]: the stored form, or the layer compressed
    /// into an ingest that [`Self::commit_compressed`] then syncs and publishes, so that a
    /// push can compress the next layer while this one goes to disk.
    pub fn compress_layer(
        &self,
        lease: &str,
        layer: &Descriptor,
        how: Compression,
        media_type: &str,
        threads: usize,
    ) -> Result<Compressed> {
        if let Some(d) = self.stored_compressed(&layer.digest, how)? {
            self.meta
                .add_lease_resource(lease, LeaseResource::Content(d.clone()))?;
            // A prune between the lookup and the lease could have taken it.
            if self.store.exists(&d)? {
                let size = self.store.size(&d)?;
                return Ok(Compressed::Stored(Descriptor::new(media_type, d, size)));
            }
        }
        let reference = unique_ingest_ref(
            &format!("{COMPRESS_INGEST_PREFIX}{}", how.as_str()),
            &layer.digest,
        );
        let mut input = BufReader::with_capacity(1 << 20, self.store.get(&layer.digest)?);
        let mut writer = self.store.writer(&reference, None)?;
        let compressed = compress::compress(&mut input, &mut writer, how, threads);
        let ingest_err = |source| StoreError::Ingest {
            reference: reference.clone(),
            what: "compressing the layer",
            source,
        };
        match compressed {
            Ok(n) if n == layer.size => {}
            Ok(n) => {
                drop(writer);
                let _ = self.store.abort(&reference);
                return Err(StoreError::SizeMismatch {
                    reference,
                    expected: layer.size,
                    actual: n,
                }
                .into());
            }
            Err(e) => {
                drop(writer);
                let _ = self.store.abort(&reference);
                return Err(ingest_err(e).into());
            }
        }
        Ok(Compressed::Made(PendingCompressed {
            writer,
            reference,
            lease: lease.to_string(),
            layer: layer.digest.clone(),
            how,
            media_type: media_type.to_string(),
        }))
    }

    /// The I/O half of [`Self::compressed_layer`]: syncs and publishes a compression made by
    /// [`Self::compress_layer`], held by its lease and linked to its layer.
    pub fn commit_compressed(&self, pending: PendingCompressed) -> Result<Descriptor> {
        let PendingCompressed {
            writer,
            reference,
            lease,
            layer,
            how,
            media_type,
        } = pending;
        let digest = match writer.commit() {
            Ok(d) => d,
            Err(e) => {
                let _ = self.store.abort(&reference);
                return Err(e.into());
            }
        };
        let size = self.store.size(&digest)?;
        self.meta
            .add_lease_resource(&lease, LeaseResource::Content(digest.clone()))?;
        self.link_compressed(&layer, &digest, how)?;
        if !self.store.exists(&digest)? {
            // A prune ran in the instant between the commit and the lease.
            return Err(StoreError::NotFound { digest }.into());
        }
        Ok(Descriptor::new(&media_type, digest, size))
    }

    /// Records, in one transaction, that `compressed` is `uncompressed` compressed as `how`.
    fn link_compressed(
        &self,
        uncompressed: &Digest,
        compressed: &Digest,
        how: Compression,
    ) -> Result<()> {
        self.meta.write(|tx| {
            let mut up = tx.get_content(uncompressed)?.unwrap_or_default();
            up.labels.insert(
                format!("{LABEL_COMPRESSED_PREFIX}{}", how.as_str()),
                compressed.to_string(),
            );
            tx.set_content_labels(uncompressed, up.labels)?;
            tx.add_content_ref(uncompressed, compressed)?;
            let mut down = tx.get_content(compressed)?.unwrap_or_default();
            down.labels
                .insert(LABEL_UNCOMPRESSED.to_string(), uncompressed.to_string());
            tx.set_content_labels(compressed, down.labels)
        })?;
        Ok(())
    }

    /// Removes what compressions cut short by a crash left in the store.
    pub(super) fn remove_abandoned_compressions(&self) -> Result<usize> {
        Ok(self
            .store
            .remove_abandoned_ingests(COMPRESS_INGEST_PREFIX)?)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;
    use crate::distribution::RegistryOptions;
    use crate::manifest::media_type;

    fn service_with_layer(dir: &std::path::Path) -> (ImageService, Descriptor) {
        let svc = ImageService::open(dir, RegistryOptions::default()).expect("open");
        let data: Vec<u8> = (0..3 * compress::CHUNK + 5)
            .map(|i| (i % 251) as u8)
            .collect();
        let digest = Digest::sha256_of(&data);
        let mut w = svc
            .store
            .writer("put-layer", Some((digest.clone(), data.len() as u64)))
            .expect("writer");
        w.write_all(&data).expect("write");
        w.commit().expect("commit");
        let layer = Descriptor::new(media_type::DOCKER_LAYER, digest, data.len() as u64);
        (svc, layer)
    }

    #[test]
    fn compressed_once_then_reused_and_reclaimed_with_the_layer() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (svc, layer) = service_with_layer(tmp.path());
        let lease = svc.new_lease("test").expect("lease");
        let mt = media_type::DOCKER_LAYER_GZIP;
        let (first, made) = svc
            .compressed_layer(&lease, &layer, Compression::Gzip, mt, 2)
            .expect("compress");
        assert!(made);
        assert_eq!(first.media_type, mt);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(svc.store.get(&first.digest).expect("blob"))
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(Digest::sha256_of(&back), layer.digest);

        let (again, made) = svc
            .compressed_layer(&lease, &layer, Compression::Gzip, mt, 2)
            .expect("reuse");
        assert!(!made, "the stored blob is reused");
        assert_eq!(again, first);
        let (zst, made) = svc
            .compressed_layer(
                &lease,
                &layer,
                Compression::Zstd,
                media_type::OCI_LAYER_ZSTD,
                1,
            )
            .expect("zstd");
        assert!(made, "another algorithm is another blob");
        assert_ne!(zst.digest, first.digest);
        svc.meta.delete_lease(&lease).expect("delete lease");

        // The uncompressed layer keeps its compressed forms from GC...
        svc.meta
            .set_content_labels(
                &layer.digest,
                [(crate::meta::GC_ROOT_LABEL.to_string(), "1".to_string())]
                    .into_iter()
                    .chain(
                        svc.meta
                            .get_content(&layer.digest)
                            .expect("record")
                            .expect("some")
                            .labels,
                    )
                    .collect(),
            )
            .expect("root");
        svc.prune().expect("prune");
        assert!(svc.store.exists(&first.digest).expect("exists"));
        assert!(svc.store.exists(&zst.digest).expect("exists"));
        // ...and they go with it.
        svc.meta
            .set_content_labels(&layer.digest, Default::default())
            .expect("unroot");
        svc.prune().expect("prune");
        for d in [&layer.digest, &first.digest, &zst.digest] {
            assert!(!svc.store.exists(d).expect("exists"), "{d} reclaimed");
        }
        assert_eq!(
            svc.stored_compressed(&layer.digest, Compression::Gzip)
                .expect("lookup"),
            None
        );
    }

    #[test]
    fn a_failed_compression_leaves_no_ingest() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (svc, mut layer) = service_with_layer(tmp.path());
        let lease = svc.new_lease("test").expect("lease");
        layer.size += 1; // the stored blob is shorter than the manifest says
        assert!(svc
            .compressed_layer(
                &lease,
                &layer,
                Compression::Gzip,
                media_type::DOCKER_LAYER_GZIP,
                2
            )
            .is_err());
        let ingests = std::fs::read_dir(tmp.path().join("content/ingest"))
            .expect("ingest dir")
            .count();
        assert_eq!(ingests, 0);
        assert_eq!(
            svc.stored_compressed(&layer.digest, Compression::Gzip)
                .expect("lookup"),
            None
        );
    }
}
