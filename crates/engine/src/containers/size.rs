//! A container's sizes for `ps -s` and inspect: its writable layer, and its whole rootfs.

use std::path::Path;

use crate::fsutil::dir_size;
use crate::Engine;

impl Engine {
    /// The size of a container's writable layer, and of its whole rootfs (`ps -s`).
    pub fn container_sizes(&self, id: &str) -> (i64, i64) {
        let Ok(mounts) = self.rootfs_mounts(id) else {
            return (0, 0);
        };
        let (mut rw, mut lower) = (0u64, 0u64);
        for m in &mounts {
            for o in &m.options {
                if let Some(u) = o.strip_prefix("upperdir=") {
                    rw += dir_size(Path::new(u));
                } else if let Some(l) = o.strip_prefix("lowerdir=") {
                    for d in l.split(':') {
                        lower += dir_size(Path::new(d));
                    }
                }
            }
        }
        (rw as i64, (rw + lower) as i64)
    }
}
