//! The daemon's side of the contract (feature `client`): starting a shim and reading its
//! ready line, typed requests on its socket and their replies, and the streams of attach
//! and exec read as [`Output`] values, so that no caller sees the framing. Async (tokio),
//! which is why it is behind a feature: the shim itself must not link tokio.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use oci_spec::runtime::Process;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

use crate::frame;
use crate::protocol::{self, Ack, ExecStarted, ExitCode, ExitRecord, Ready, Request, Status};

/// The shim's socket in its state directory.
pub const SOCKET: &str = "shim.sock";

/// Longest reply line read (replies are small; this only bounds a broken peer).
const MAX_REPLY: usize = 1 << 20;

/// What can go wrong talking to a shim.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The shim's `{"error":...}`, its text as is: the runtime's wording, which the daemon
    /// maps to Docker's exit codes.
    #[error("{0}")]
    Shim(String),
    /// The socket, or the shim went away.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A reply or frame that is not the protocol's.
    #[error("{0}")]
    Protocol(String),
    /// The shim could not be started or did not report.
    #[error("{0}")]
    Spawn(String),
}

impl ClientError {
    /// A shim's trouble is the daemon's: there is no caller's mistake in here.
    pub fn kind(&self) -> muelle_types::ErrorKind {
        muelle_types::ErrorKind::System
    }
}

/// Starts a shim (`binary` with `args`, its stderr appended to `log`) and reads its ready
/// line: the container is created, not started. `Err(ClientError::Shim)` carries the
/// shim's error text.
pub async fn spawn(binary: &Path, args: &[String], log: &Path) -> Result<Ready, ClientError> {
    spawn_via(binary, None, args, log).await
}

/// [`spawn`] executing `view` (an open read-only view of `binary`, from
/// `muelle_runtime::sealed::readonly_view`) instead of the path: the shim then runs
/// protected from its start and skips the re-execution that would make it so.
pub async fn spawn_via(
    binary: &Path,
    view: Option<BorrowedFd<'_>>,
    args: &[String],
    log: &Path,
) -> Result<Ready, ClientError> {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
        .map_err(|e| ClientError::Spawn(format!("open {}: {e}", log.display())))?;
    // The descriptor is close-on-exec, which the kernel applies only after it has opened
    // the file a `/proc/self/fd/N` path names.
    let program = match view {
        Some(fd) => PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
        None => binary.to_path_buf(),
    };
    let mut child = tokio::process::Command::new(program)
        .arg0(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        // Its own process group: a ^C meant for whoever started the daemon must not reach
        // the containers' supervisors.
        .process_group(0)
        .spawn()
        .map_err(|e| ClientError::Spawn(format!("start {}: {e}", binary.display())))?;
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| ClientError::Spawn("shim stdout not captured".into()))?;
    // One line, not EOF: the container's init is forked from the supervisor and holds a
    // copy of the pipe until it execs at start.
    let read = read_line(&mut out).await;
    // The first process exits as soon as it has forked the supervisor proper.
    let _ = child.wait().await;
    let line = match read {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Vec::new(),
        Err(e) => {
            return Err(ClientError::Spawn(format!(
                "read the supervisor's ready line: {e}"
            )))
        }
    };
    let text = String::from_utf8_lossy(&line);
    let text = text.trim();
    if text.is_empty() {
        let detail = std::fs::read_to_string(log).unwrap_or_default();
        let last = detail.lines().last().unwrap_or("no output").to_string();
        return Err(ClientError::Spawn(format!(
            "the supervisor exited without reporting: {last}"
        )));
    }
    match protocol::parse_reply::<Ready>(text.as_bytes()) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(ClientError::Shim(e)),
        Err(e) => Err(ClientError::Spawn(format!(
            "bad ready line from the supervisor {text:?}: {e}"
        ))),
    }
}

/// Reads one line byte by byte (what follows it belongs to a stream, or to a process).
async fn read_line<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(64);
    loop {
        let mut b = [0u8; 1];
        if r.read(&mut b).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the supervisor closed the connection",
            ));
        }
        if b[0] == b'\n' {
            return Ok(buf);
        }
        buf.push(b[0]);
        if buf.len() > MAX_REPLY {
            return Err(std::io::Error::other("reply line too long"));
        }
    }
}

/// Reads the line of a connection on which nothing follows it (the reply of a one-shot
/// request, the answer of a wait), in as few reads as it arrived in: a daemon restart
/// reads one status from every running container's shim.
async fn read_last_line<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(128);
    let mut chunk = [0u8; 512];
    loop {
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the supervisor closed the connection",
            ));
        }
        let got = &chunk[..n];
        if let Some(end) = got.iter().position(|&b| b == b'\n') {
            buf.extend_from_slice(&got[..end]);
            return Ok(buf);
        }
        buf.extend_from_slice(got);
        if buf.len() > MAX_REPLY {
            return Err(std::io::Error::other("reply line too long"));
        }
    }
}

/// Reads one reply: `T`, or the shim's error.
async fn read_reply<T: DeserializeOwned>(s: &mut UnixStream) -> Result<T, ClientError> {
    let line = read_line(s).await?;
    parse(&line)
}

/// Reads the reply after which the connection carries nothing more.
async fn read_last_reply<T: DeserializeOwned>(s: &mut UnixStream) -> Result<T, ClientError> {
    let line = read_last_line(s).await?;
    parse(&line)
}

fn parse<T: DeserializeOwned>(line: &[u8]) -> Result<T, ClientError> {
    match protocol::parse_reply::<T>(line) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ClientError::Shim(e)),
        Err(e) => Err(ClientError::Protocol(format!("bad reply: {e}"))),
    }
}

/// The shim of one container, found through its state directory.
#[derive(Debug, Clone)]
pub struct Client {
    dir: PathBuf,
}

impl Client {
    pub fn new(state_dir: impl Into<PathBuf>) -> Client {
        Client {
            dir: state_dir.into(),
        }
    }

    /// Connects and sends `req`: the connection, for its reply.
    async fn send(&self, req: &Request) -> Result<UnixStream, ClientError> {
        let path = self.dir.join(SOCKET);
        let mut s = if path.as_os_str().len() < 100 {
            UnixStream::connect(&path).await?
        } else {
            // A sockaddr_un holds at most 107 bytes: reach a deeper socket through a
            // descriptor of its directory, as the supervisor binds it.
            let d = std::fs::File::open(&self.dir)?;
            UnixStream::connect(format!("/proc/self/fd/{}/{SOCKET}", d.as_raw_fd())).await?
        };
        s.write_all(&req.to_line()).await?;
        Ok(s)
    }

    async fn call<T: DeserializeOwned>(&self, req: &Request) -> Result<T, ClientError> {
        let mut s = self.send(req).await?;
        read_last_reply(&mut s).await
    }

    /// Runs the created process (its poststart hooks have run when this returns).
    pub async fn start(&self) -> Result<(), ClientError> {
        self.call::<Ack>(&Request::Start).await.map(drop)
    }

    pub async fn status(&self) -> Result<Status, ClientError> {
        self.call(&Request::Status).await
    }

    /// Sets the container's pty size (nothing to do without a pty).
    pub async fn resize(&self, height: u16, width: u16) -> Result<(), ClientError> {
        self.call::<Ack>(&Request::Resize { height, width })
            .await
            .map(drop)
    }

    /// Sets the pty size of exec'd process `pid`.
    pub async fn exec_resize(&self, pid: i32, height: u16, width: u16) -> Result<(), ClientError> {
        self.call::<Ack>(&Request::ExecResize { pid, height, width })
            .await
            .map(drop)
    }

    /// Asks now to be told of the container's exit: the request is in before this returns,
    /// so an exit right after is not missed.
    pub async fn wait(&self) -> Result<Waiter, ClientError> {
        Ok(Waiter {
            conn: self.send(&Request::Wait).await?,
        })
    }

    /// Attaches to the container's stdio.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<Stream, ClientError> {
        let mut conn = self
            .send(&Request::Attach {
                stdin,
                stdout,
                stderr,
            })
            .await?;
        read_reply::<Ack>(&mut conn).await?;
        Ok(Stream { conn })
    }

    /// Runs `process` in the container: its pid and its stream.
    pub async fn exec(
        &self,
        process: Process,
        tty: bool,
        stdin: bool,
    ) -> Result<(i32, Stream), ClientError> {
        let mut conn = self
            .send(&Request::Exec {
                process: Box::new(process),
                tty,
                stdin,
            })
            .await?;
        let started = read_reply::<ExecStarted>(&mut conn).await?;
        Ok((started.pid, Stream { conn }))
    }
}

/// A `wait` request sent: its answer comes when the container has exited.
#[derive(Debug)]
pub struct Waiter {
    conn: UnixStream,
}

impl Waiter {
    /// The exit record; an error when the shim went away without answering. The shim
    /// answers before its unmounts; [`Gone`] tells when it has done them and exited.
    pub async fn exit(mut self) -> Result<(ExitRecord, Gone), ClientError> {
        let record = read_last_reply(&mut self.conn).await?;
        Ok((record, Gone { conn: self.conn }))
    }
}

/// The connection of an answered wait, which the shim closes as it exits, after its
/// unmounts: whoever mounts on the same paths again waits for it.
#[derive(Debug)]
pub struct Gone {
    conn: UnixStream,
}

impl Gone {
    /// Returns once the shim closed the connection (or it failed).
    pub async fn wait(mut self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = self.conn.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    }
}

/// What a stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout(Vec<u8>),
    /// Never with a tty: everything is stdout then.
    Stderr(Vec<u8>),
    /// The process's end, the stream's last item.
    Exit(i32),
}

/// Reads the next item of a stream: `None` when it ended without an exit (the shim went
/// away).
pub async fn read_output<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Output>, ClientError> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).await?;
    match head[0] {
        frame::STDOUT => Ok(Some(Output::Stdout(data))),
        frame::STDERR => Ok(Some(Output::Stderr(data))),
        frame::EXIT => serde_json::from_slice::<ExitCode>(&data)
            .map(|e| Some(Output::Exit(e.exit_code)))
            .map_err(|e| ClientError::Protocol(format!("bad exit frame: {e}"))),
        other => Err(ClientError::Protocol(format!("unknown stream {other}"))),
    }
}

/// An attach or exec stream: [`Output`] from the shim, raw stdin to it.
#[derive(Debug)]
pub struct Stream {
    conn: UnixStream,
}

impl Stream {
    /// The next output; `None` when the stream ended without an exit.
    pub async fn next(&mut self) -> Result<Option<Output>, ClientError> {
        read_output(&mut self.conn).await
    }

    /// Output and input apart, for pumping both ways at once. Shutting the writer down
    /// ends this client's input (and, for exec or `--stdin-once`, the process's stdin).
    pub fn into_split(self) -> (OutputReader, OwnedWriteHalf) {
        let (r, w) = self.conn.into_split();
        (OutputReader { r }, w)
    }
}

/// The output half of a [`Stream`].
#[derive(Debug)]
pub struct OutputReader {
    r: OwnedReadHalf,
}

impl OutputReader {
    pub async fn next(&mut self) -> Result<Option<Output>, ClientError> {
        read_output(&mut self.r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(f),
            Err(e) => panic!("runtime: {e}"),
        }
    }

    #[test]
    fn frames_read_as_output() {
        let mut bytes = Vec::new();
        frame::push(&mut bytes, frame::STDOUT, b"out");
        frame::push(&mut bytes, frame::STDERR, b"err");
        frame::push_exit(&mut bytes, 42);
        let mut r = &bytes[..];
        let mut got = Vec::new();
        block_on(async {
            while let Ok(Some(o)) = read_output(&mut r).await {
                got.push(o);
            }
        });
        assert_eq!(
            got,
            vec![
                Output::Stdout(b"out".to_vec()),
                Output::Stderr(b"err".to_vec()),
                Output::Exit(42)
            ]
        );
        let mut bad = Vec::new();
        frame::push(&mut bad, 7, b"?");
        let mut r = &bad[..];
        assert!(block_on(read_output(&mut r)).is_err());
    }

    /// A fake shim on a socket: the client's requests arrive as the shim parses them and
    /// its replies and errors come back typed.
    #[test]
    fn requests_and_replies_over_a_socket() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let listener = match std::os::unix::net::UnixListener::bind(dir.path().join(SOCKET)) {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let shim = std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            let mut seen = Vec::new();
            for conn in listener.incoming().take(4) {
                let Ok(mut conn) = conn else { break };
                let mut line = Vec::new();
                let _ = BufReader::new(&conn).read_until(b'\n', &mut line);
                let req = Request::parse(line.trim_ascii_end()).map_err(|e| e.to_string());
                let reply = match &req {
                    Ok(Request::Status) => protocol::line(&Status {
                        pid: 7,
                        running: true,
                    }),
                    Ok(Request::Start) => protocol::error_line("container has exited"),
                    Ok(Request::Exec { .. }) => {
                        let mut l = protocol::line(&ExecStarted { ok: true, pid: 8 });
                        frame::push(&mut l, frame::STDOUT, b"hi");
                        frame::push_exit(&mut l, 3);
                        l
                    }
                    _ => protocol::line(&Ack::OK),
                };
                let _ = conn.write_all(&reply);
                seen.push(format!("{req:?}"));
            }
            seen
        });
        let c = Client::new(dir.path());
        block_on(async {
            let st = c.status().await.map_err(|e| e.to_string());
            assert_eq!(
                st,
                Ok(Status {
                    pid: 7,
                    running: true
                })
            );
            let e = c.start().await.map_err(|e| e.to_string());
            assert_eq!(e, Err("container has exited".to_string()));
            assert!(c.resize(24, 80).await.is_ok());
            let (pid, mut s) = match c.exec(Process::default(), false, false).await {
                Ok(x) => x,
                Err(e) => panic!("exec: {e}"),
            };
            assert_eq!(pid, 8);
            assert_eq!(
                s.next().await.ok().flatten(),
                Some(Output::Stdout(b"hi".to_vec()))
            );
            assert_eq!(s.next().await.ok().flatten(), Some(Output::Exit(3)));
            assert_eq!(s.next().await.ok().flatten(), None);
        });
        let seen = shim.join().unwrap_or_default();
        assert_eq!(seen.len(), 4);
        assert!(seen[2].contains("Resize { height: 24, width: 80 }"));
    }
}
