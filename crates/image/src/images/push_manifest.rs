//! The manifest a push sends when it compressed layers: the stored one with those layers'
//! descriptors replaced. Everything else (config, annotations, other fields) is kept; the
//! config is untouched, so its diff IDs still name the uncompressed layers and the image
//! ID does not change.

use serde_json::Value;

use crate::manifest::{media_type, Descriptor, Manifest};

/// The manifest to push and its media type, or `None` when `layers` are the stored ones
/// (the stored bytes are then pushed as they are). A Docker schema 2 manifest has no zstd
/// layer type, so one with a zstd layer becomes an OCI manifest, as buildkit makes it.
pub(super) fn rewrite(
    stored: &[u8],
    manifest: &Manifest,
    layers: &[Descriptor],
) -> Result<Option<(Vec<u8>, String)>, serde_json::Error> {
    if manifest.layers.len() == layers.len()
        && manifest
            .layers
            .iter()
            .zip(layers)
            .all(|(a, b)| a.digest == b.digest && a.media_type == b.media_type)
    {
        return Ok(None);
    }
    let mut mt = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string());
    let to_oci = mt == media_type::DOCKER_MANIFEST
        && layers
            .iter()
            .any(|l| l.media_type == media_type::OCI_LAYER_ZSTD);
    let mut doc: Value = serde_json::from_slice(stored)?;
    if let Some(entries) = doc.get_mut("layers").and_then(Value::as_array_mut) {
        for (entry, layer) in entries.iter_mut().zip(layers) {
            let Some(obj) = entry.as_object_mut() else {
                continue;
            };
            let lmt = if to_oci {
                oci_layer_type(&layer.media_type)
            } else {
                &layer.media_type
            };
            obj.insert("mediaType".into(), lmt.into());
            obj.insert("digest".into(), layer.digest.to_string().into());
            obj.insert("size".into(), layer.size.into());
        }
    }
    if to_oci {
        mt = media_type::OCI_MANIFEST.to_string();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("mediaType".into(), mt.clone().into());
        }
        if let Some(config) = doc.get_mut("config").and_then(Value::as_object_mut) {
            config.insert("mediaType".into(), media_type::OCI_CONFIG.into());
        }
    }
    Ok(Some((serde_json::to_vec(&doc)?, mt)))
}

/// The OCI name of a Docker layer type.
fn oci_layer_type(mt: &str) -> &str {
    match mt {
        media_type::DOCKER_LAYER => media_type::OCI_LAYER,
        media_type::DOCKER_LAYER_GZIP => media_type::OCI_LAYER_GZIP,
        media_type::DOCKER_FOREIGN_LAYER_GZIP => media_type::OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::digest::Digest;

    fn docker(layers: Vec<Descriptor>) -> (Vec<u8>, Manifest) {
        let m = Manifest {
            schema_version: 2,
            media_type: Some(media_type::DOCKER_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(media_type::DOCKER_CONFIG, Digest::sha256_of(b"c"), 1),
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        };
        (serde_json::to_vec(&m).expect("json"), m)
    }

    fn layer(mt: &str, data: &[u8]) -> Descriptor {
        Descriptor::new(mt, Digest::sha256_of(data), data.len() as u64)
    }

    #[test]
    fn unchanged_layers_keep_the_stored_bytes() {
        let (bytes, m) = docker(vec![layer(media_type::DOCKER_LAYER_GZIP, b"a")]);
        assert_eq!(rewrite(&bytes, &m, &m.layers.clone()).expect("ok"), None);
    }

    #[test]
    fn gzip_layers_replace_the_uncompressed_ones() {
        let pulled = layer(media_type::DOCKER_LAYER_GZIP, b"already");
        let (bytes, m) = docker(vec![
            layer(media_type::DOCKER_LAYER, b"raw"),
            pulled.clone(),
        ]);
        let gz = layer(media_type::DOCKER_LAYER_GZIP, b"raw, gzipped");
        let (out, mt) = rewrite(&bytes, &m, &[gz.clone(), pulled.clone()])
            .expect("ok")
            .expect("changed");
        assert_eq!(mt, media_type::DOCKER_MANIFEST);
        let back: Manifest = serde_json::from_slice(&out).expect("parses");
        assert_eq!(back.layers, vec![gz, pulled]);
        assert_eq!(back.config, m.config, "the config and so the image ID stay");
    }

    #[test]
    fn zstd_turns_a_docker_manifest_into_oci() {
        let (bytes, m) = docker(vec![
            layer(media_type::DOCKER_LAYER, b"raw"),
            layer(media_type::DOCKER_LAYER_GZIP, b"gz"),
        ]);
        let zst = layer(media_type::OCI_LAYER_ZSTD, b"raw, zstd");
        let (out, mt) = rewrite(&bytes, &m, &[zst.clone(), m.layers[1].clone()])
            .expect("ok")
            .expect("changed");
        assert_eq!(mt, media_type::OCI_MANIFEST);
        let back: Manifest = serde_json::from_slice(&out).expect("parses");
        assert_eq!(back.media_type.as_deref(), Some(media_type::OCI_MANIFEST));
        assert_eq!(back.config.media_type, media_type::OCI_CONFIG);
        assert_eq!(back.config.digest, m.config.digest);
        assert_eq!(back.layers[0], zst);
        assert_eq!(back.layers[1].media_type, media_type::OCI_LAYER_GZIP);
        assert_eq!(back.layers[1].digest, m.layers[1].digest);
    }
}
