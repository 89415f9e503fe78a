//! The daemon's side of its supervisors (crates/supervisor/PROTOCOL.md): where the
//! `muelle-shim` binary is, starting one per container, and the typed client of a
//! container's shim from `muelle_supervisor::client`, so that nothing in the engine builds a
//! request line or reads a reply field by name.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

pub use muelle_supervisor::client::{Client, ClientError, Output, OutputReader, Stream, Waiter};
pub use muelle_supervisor::protocol::{ExitRecord, Status};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

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

/// Connects to the shim of a container's state directory and sends one request line.
pub async fn connect(dir: &Path, request: &Value) -> std::io::Result<UnixStream> {
    let path = dir.join(SOCKET);
    let mut s = if path.as_os_str().len() < 100 {
        UnixStream::connect(&path).await?
    } else {
        // A sockaddr_un holds at most 107 bytes: reach a deeper socket through a descriptor
        // of its directory, as the supervisor binds it.
        let d = std::fs::File::open(dir)?;
        UnixStream::connect(format!("/proc/self/fd/{}/{SOCKET}", d.as_raw_fd())).await?
    };
    let mut line = request.to_string().into_bytes();
    line.push(b'\n');
    s.write_all(&line).await?;
    Ok(s)
}

/// Reads one reply line byte by byte (what follows it belongs to a stream).
pub async fn read_line(s: &mut UnixStream) -> std::io::Result<Value> {
    let mut buf = Vec::with_capacity(64);
    loop {
        let mut b = [0u8; 1];
        let n = s.read(&mut b).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the supervisor closed the connection",
            ));
        }
        if b[0] == b'\n' {
            break;
        }
        buf.push(b[0]);
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("reply line too long"));
        }
    }
    serde_json::from_slice(&buf).map_err(|e| std::io::Error::other(format!("bad reply: {e}")))
}

/// One request, one reply; an `{"error"}` reply becomes `Err`.
pub async fn call(dir: &Path, request: &Value) -> Result<Value, String> {
    let mut s = connect(dir, request).await.map_err(|e| e.to_string())?;
    let v = read_line(&mut s).await.map_err(|e| e.to_string())?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => Err(e.to_string()),
        None => Ok(v),
    }
}

/// Opens a stream request (attach, exec): the connection after its `ok` line.
pub async fn open_stream(dir: &Path, request: &Value) -> Result<(UnixStream, Value), String> {
    let mut s = connect(dir, request).await.map_err(|e| e.to_string())?;
    let v = read_line(&mut s).await.map_err(|e| e.to_string())?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => Err(e.to_string()),
        None => Ok((s, v)),
    }
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
