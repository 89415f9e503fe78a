//! What the image crate's integration tests share: registry options for a local
//! docker-registry, and a service with the busybox image loaded. The registry itself and
//! the busybox fixtures are the workspace's test-support crate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use muelle_image::distribution::{CredentialSource, RegistryOptions, RetryPolicy};
use muelle_image::images::ImageService;

#[allow(unused_imports)]
pub use muelle_test_support::fixtures::busybox_layout;
#[allow(unused_imports)]
pub use muelle_test_support::registry::{require_peer, skopeo, start_registry};

/// Options for a local registry: plain HTTP, anonymous, no proxy, quick retries.
pub fn options() -> RegistryOptions {
    RegistryOptions {
        insecure: true,
        credentials: CredentialSource::Anonymous,
        proxy_from_env: false,
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(5),
        },
        connect_timeout: Duration::from_secs(5),
        ..RegistryOptions::default()
    }
}

/// A service rooted at `tmp/root` with the busybox image of scripts/busybox-image.sh loaded
/// from `tmp/layout`.
pub fn with_busybox(tmp: &Path, options: RegistryOptions) -> ImageService {
    let layout = tmp.join("layout");
    busybox_layout(&layout);
    let svc = ImageService::open(tmp.join("root"), options).expect("open");
    svc.load_oci_layout(&layout, None).expect("load layout");
    svc
}
