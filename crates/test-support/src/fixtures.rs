//! The busybox fixtures every layer tests with, built from Debian's busybox-static by the
//! project's scripts: a shared read-only rootfs (runtime and supervisor tests) and the OCI
//! image layout and its archive (image, daemon and CLI tests).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::proc::unique;
use crate::workspace;

/// The read-only busybox rootfs shared by the runtime's and the supervisor's tests
/// (world-readable, for user namespaces).
const SHARED_ROOTFS: &str = "/var/tmp/muelle-test-rootfs-v1";

/// Mount points that exist in the shared rootfs, so that read-only tests never create
/// directories in it.
const MOUNT_POINTS: &[&str] = &["mnt/a", "mnt/b", "mnt/rw", "mnt/ro", "mnt/out", "mnt/hooks"];

/// Builds the shared rootfs once per machine (the first test process to get there wins the
/// rename, the others throw their copy away).
pub fn shared_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let dst = PathBuf::from(SHARED_ROOTFS);
        if dst.join("bin/busybox").is_file() {
            return dst;
        }
        let tmp = PathBuf::from(format!("{SHARED_ROOTFS}.build.{}", unique()));
        build_rootfs(&tmp);
        if std::fs::rename(&tmp, &dst).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        assert!(dst.join("bin/busybox").is_file(), "shared rootfs missing");
        dst
    })
}

fn build_rootfs(dir: &Path) {
    let script = workspace().join("scripts/busybox-rootfs.sh");
    let out = Command::new(&script)
        .arg(dir)
        .output()
        .expect("run busybox-rootfs.sh");
    assert!(
        out.status.success(),
        "busybox-rootfs.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for m in MOUNT_POINTS {
        std::fs::create_dir_all(dir.join(m)).expect("mkdir mount point");
    }
    let st = Command::new("chmod")
        .args(["-R", "go+rX"])
        .arg(dir)
        .status()
        .expect("chmod");
    assert!(st.success());
}

/// Builds the busybox OCI image layout of scripts/busybox-image.sh into `dir`.
pub fn busybox_layout(dir: &Path) {
    let out = Command::new("bash")
        .arg(workspace().join("scripts/busybox-image.sh"))
        .arg(dir)
        .output()
        .expect("run busybox-image.sh");
    assert!(
        out.status.success(),
        "scripts/busybox-image.sh failed (needs busybox-static, python3): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The busybox image as an OCI-archive tar (scripts/busybox-image.sh's layout, tarred), built
/// once into `scratch` (a test binary's `CARGO_TARGET_TMPDIR`) and reused by every later test
/// process: nextest runs each test in its own, and the script is reproducible. The first
/// call of a process fixes `scratch` for the rest of it.
pub fn busybox_oci_tar(scratch: &Path) -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        assert!(
            Path::new("/bin/busybox").exists() || Path::new("/usr/bin/busybox").exists(),
            "busybox-static is not installed (bash scripts/setup.sh installs it)"
        );
        let dir = scratch.join("muelle-busybox-oci");
        let tar = dir.join("busybox-oci.tar");
        if tar.exists() {
            return tar;
        }
        // Built in a private directory renamed into place: concurrent test processes never
        // see a half-written tar.
        let work = scratch.join(format!("muelle-busybox-oci.{}", unique()));
        let layout = work.join("layout");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).expect("mkdir the build directory");
        busybox_layout(&layout);
        let st = Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(work.join("busybox-oci.tar"))
            .arg(".")
            .status()
            .expect("run tar");
        assert!(st.success(), "tar of the busybox layout failed");
        if std::fs::rename(&work, &dir).is_err() {
            // Another test process got there first.
            let _ = std::fs::remove_dir_all(&work);
        }
        assert!(tar.exists(), "no {}", tar.display());
        tar
    })
    .clone()
}
