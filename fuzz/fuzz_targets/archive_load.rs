//! `docker load` archives are untrusted: loading any byte string (tar, or sniffed
//! gzip/zstd) must end in loaded images or an error, never a panic, and the store must stay
//! readable (listing works) afterwards. One store is shared by all runs, as a daemon's is.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use muelle_image::distribution::{CredentialSource, RegistryOptions};
use muelle_image::images::ImageService;

fn service() -> Option<&'static ImageService> {
    static SVC: OnceLock<Option<(tempfile::TempDir, ImageService)>> = OnceLock::new();
    SVC.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let opts = RegistryOptions {
            credentials: CredentialSource::Anonymous,
            ..RegistryOptions::default()
        };
        let svc = ImageService::open(dir.path().join("root"), opts).ok()?;
        Some((dir, svc))
    })
    .as_ref()
    .map(|(_, s)| s)
}

fuzz_target!(|data: &[u8]| {
    let Some(svc) = service() else {
        return;
    };
    let _ = svc.load(&mut &data[..]);
    assert!(svc.list().is_ok(), "the store became unreadable");
});
