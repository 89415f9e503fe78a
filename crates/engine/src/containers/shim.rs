//! The daemon's side of its supervisors (crates/supervisor/PROTOCOL.md): where the
//! `muelle-shim` binary is, starting one per container, and the typed client of a
//! container's shim from `muelle_supervisor::client`, so that nothing in the engine builds a
//! request line or reads a reply field by name.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use muelle_supervisor::client::{Client, ClientError, Output, OutputReader, Stream, Waiter};
pub use muelle_supervisor::protocol::{ExitRecord, Status};

pub const SOCKET: &str = muelle_supervisor::client::SOCKET;

/// Where the `muelle-shim` binary is: `$MUELLE_SHIM`, beside the daemon's own binary, or
/// on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MUELLE_SHIM") {
        return PathBuf::from(p);
    }
    sibling("muelle-shim").unwrap_or_else(|| PathBuf::from("muelle-shim"))
}

/// A binary installed beside the running one (the daemon and its helpers ship together).
pub fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.join(name);
    p.is_file().then_some(p)
}

/// The `--init` binary: `$MUELLE_INIT`, else `muelle-init` beside the daemon or on PATH.
/// It is bind-mounted into images that may have no C library, so it must be a static
/// executable: a dynamic one (a plain `cargo build`) is an error naming the fix rather than
/// a container failing with "No such file or directory" for the missing loader.
pub fn init_binary() -> Result<PathBuf, String> {
    let p = match std::env::var_os("MUELLE_INIT") {
        Some(p) => PathBuf::from(p),
        None => find_binary("muelle-init").ok_or(
            "--init: no muelle-init beside muelled or on PATH (scripts/build.sh builds it)",
        )?,
    };
    match crate::fsutil::elf_interpreter(&p) {
        Ok(None) => Ok(p),
        Ok(Some(_)) => Err(format!(
            "--init: {} is dynamically linked and cannot run in images without a C library: \
             use the static build of scripts/build.sh (or point MUELLE_INIT at one)",
            p.display()
        )),
        Err(e) => Err(format!("--init: {}: {e}", p.display())),
    }
}

/// Finds `name` beside the daemon or on PATH.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if let Some(p) = sibling(name) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A read-only view of the supervisor's binary, made once per daemon (a detached bind
/// mount held open, in no mount table): every supervisor is started through it, protected
/// from overwriting through `/proc/PID/exe` (CVE-2019-5736) without re-executing itself.
/// None where it cannot be made (no open_tree, no CAP_SYS_ADMIN): each shim then seals
/// itself. The binary is the one at the first start; a daemon restart takes a new one.
fn readonly_view(binary: &Path) -> Option<&'static OwnedFd> {
    static VIEW: OnceLock<Option<(PathBuf, OwnedFd)>> = OnceLock::new();
    let made = VIEW.get_or_init(|| match muelle_runtime::sealed::readonly_view(binary) {
        Ok(fd) => Some((binary.to_path_buf(), fd)),
        Err(e) => {
            tracing::info!(binary = %binary.display(), error = %e, "no read-only view of the supervisor's binary; each seals itself");
            None
        }
    });
    made.as_ref()
        .filter(|(path, _)| path == binary)
        .map(|(_, fd)| fd)
}

/// The shim of the container whose state directory (bundle) is `dir`.
pub fn client(dir: &Path) -> Client {
    Client::new(dir)
}

/// Starts a shim with `args` and waits for its ready line. `Ok(pid)` of the container's
/// init, or the shim's error text (the runtime's wording, mapped to Docker's exit codes).
pub async fn spawn(args: &[String], log: &Path) -> Result<i64, String> {
    let binary = binary();
    let view = readonly_view(&binary);
    muelle_supervisor::client::spawn_via(&binary, view.map(|v| v.as_fd()), args, log)
        .await
        .map(|ready| i64::from(ready.pid))
        .map_err(|e| e.to_string())
}

/// The exit record a shim left in `path`, if it is there and whole.
pub fn read_exit_file(path: &Path) -> Option<ExitRecord> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// A pty size as the supervisor takes it (the kernel's `winsize` holds 16 bits).
pub fn pty_size(height: u32, width: u32) -> Result<(u16, u16), String> {
    match (u16::try_from(height), u16::try_from(width)) {
        (Ok(h), Ok(w)) => Ok((h, w)),
        _ => Err(format!("size {height}x{width} out of range")),
    }
}
