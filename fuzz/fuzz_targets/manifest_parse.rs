//! Manifests, indexes and image configs come from registries and archives: any byte string
//! must parse to a value or an error, never a panic; what parses must survive our own
//! canonical serialisation unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muelle_image::manifest::{canonical_json, media_type, parse_manifest, ImageConfig, Parsed};

fuzz_target!(|data: &[u8]| {
    for content_type in [
        None,
        Some(media_type::OCI_MANIFEST),
        Some(media_type::DOCKER_MANIFEST_LIST),
        Some("application/json; charset=utf-8"),
    ] {
        if let Ok(parsed) = parse_manifest(data, content_type) {
            let bytes = match &parsed {
                Parsed::Manifest { manifest, .. } => canonical_json(manifest),
                Parsed::Index { index, .. } => canonical_json(index),
            }
            .expect("a parsed document serialises");
            let again = parse_manifest(&bytes, Some(parsed.media_type()))
                .expect("our canonical form parses");
            assert_eq!(again, parsed, "canonical round trip changed the document");
        }
    }
    if let Ok(config) = ImageConfig::from_slice(data) {
        let bytes = canonical_json(&config).expect("a parsed config serialises");
        let again = ImageConfig::from_slice(&bytes).expect("our canonical form parses");
        assert_eq!(again, config, "canonical round trip changed the config");
        let _ = config.chain_ids();
    }
});
