//! The daemon's side of its supervisors (crates/supervisor/PROTOCOL.md): where the
//! `muelle-shim` binary is, starting one per container, and the typed client of a
//! container's shim from `muelle_supervisor::client`, so that nothing in the engine builds a
//! request line or reads a reply field by name.

use std::path::{Path, PathBuf};

pub use muelle_supervisor::client::{Client, ClientError, Output, OutputReader, Stream, Waiter};
pub use muelle_supervisor::protocol::{ExitRecord, Status};
use tokio::io::AsyncReadExt;

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

/// The shim of the container whose state directory (bundle) is `dir`.
pub fn client(dir: &Path) -> Client {
    Client::new(dir)
}

/// Starts a shim with `args` and waits for its ready line. `Ok(pid)` of the container's
/// init, or the shim's error text (the runtime's wording, mapped to Docker's exit codes).
pub async fn spawn(args: &[String], log: &Path) -> Result<i64, String> {
    muelle_supervisor::client::spawn(&binary(), args, log)
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

/// The stream id of the supervisor's last frame, carrying `{"exit_code":N}`. The API's
/// pumps read frames themselves until they take [`Output`] values.
pub const EXIT_FRAME: u8 = muelle_supervisor::frame::EXIT;

/// Reads one frame: `None` at a clean end of stream.
pub async fn read_frame<R: AsyncReadExt + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).await?;
    Ok(Some((head[0], data)))
}

/// Docker's stdcopy header for a payload.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let l = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// A pty size as the supervisor takes it (the kernel's `winsize` holds 16 bits).
pub fn pty_size(height: u32, width: u32) -> Result<(u16, u16), String> {
    match (u16::try_from(height), u16::try_from(width)) {
        (Ok(h), Ok(w)) => Ok((h, w)),
        _ => Err(format!("size {height}x{width} out of range")),
    }
}
