//! Hijacked attach/exec streams as the docker CLI drives them: the terminal in raw mode while
//! stdin is a tty, detach keys (ctrl-p ctrl-q by default) spotted in what is typed, stdin
//! copied in and half-closed at EOF, output demultiplexed from Docker's stdcopy frames when
//! there is no tty, the window size sent at start and on SIGWINCH, and signals forwarded.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;

use anyhow::{anyhow, bail, Result};
use hyper::Method;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::{empty, Client};

pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// docker's `term.ToBytes`: `ctrl-p,ctrl-q` → `[0x10, 0x11]`; a single character is itself.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for key in s.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => bail!("Unknown character: '{k}'"),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            bail!("Unknown character: '{k}'");
        }
    }
    Ok(out)
}

/// The terminal on stdin in raw mode until dropped (docker's `setRawTerminal`).
pub struct RawTerminal {
    saved: Option<rustix::termios::Termios>,
}

impl RawTerminal {
    pub fn new() -> RawTerminal {
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let saved = rustix::termios::tcgetattr(fd).ok();
        if let Some(orig) = &saved {
            let mut raw = orig.clone();
            raw.make_raw();
            let _ = rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &raw);
        }
        RawTerminal { saved }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(orig) = &self.saved {
            let stdin = std::io::stdin();
            let _ = rustix::termios::tcsetattr(
                stdin.as_fd(),
                rustix::termios::OptionalActions::Now,
                orig,
            );
        }
    }
}

/// `POST {prefix}/resize?h=…&w=…` with the size of our stdout terminal (errors ignored, as
/// docker only logs them).
pub async fn resize(client: &Client, prefix: &str) {
    let stdout = std::io::stdout();
    let Ok(ws) = rustix::termios::tcgetwinsize(stdout.as_fd()) else {
        return;
    };
    if ws.ws_row == 0 && ws.ws_col == 0 {
        return;
    }
    let path = format!("{prefix}/resize?h={}&w={}", ws.ws_row, ws.ws_col);
    if let Ok(res) = client.request(Method::POST, &path, &[], empty()).await {
        drop(res);
    }
}

/// Resizes now and on every SIGWINCH until the task is aborted (docker's `MonitorTtySize`).
pub fn monitor_size(client: &Client, prefix: String) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        resize(&client, &prefix).await;
        let Ok(mut winch) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while winch.recv().await.is_some() {
            resize(&client, &prefix).await;
        }
    })
}

/// Forwards the signals a user sends us to the container (docker's `--sig-proxy`).
pub fn proxy_signals(client: &Client, id: String) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let client = client.clone();
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ];
    // The handlers are in place when this returns (not when a task first runs): a signal
    // that comes right after is the container's, never the default action on the CLI.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    for (kind, name) in kinds {
        let Ok(mut s) = signal(kind) else { continue };
        let tx = tx.clone();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                if tx.send(name).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    tokio::spawn(async move {
        while let Some(name) = rx.recv().await {
            let path = format!("/containers/{id}/kill?signal={name}");
            if let Ok(res) = client.request(Method::POST, &path, &[], empty()).await {
                drop(res);
            }
        }
    })
}

/// Splits Docker's stdcopy frames (8-byte header: stream, 0, 0, 0, big-endian length) onto
/// stdout and stderr.
#[derive(Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Writes every complete frame; keeps a partial one for the next push.
    pub fn push(&mut self, data: &[u8], out: &mut dyn Write, err: &mut dyn Write) -> Result<()> {
        self.buf.extend_from_slice(data);
        let mut at = 0;
        while self.buf.len() - at >= 8 {
            let h = &self.buf[at..at + 8];
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let kind = h[0];
            if self.buf.len() - at - 8 < len {
                break;
            }
            let payload = &self.buf[at + 8..at + 8 + len];
            match kind {
                0 | 1 => {
                    out.write_all(payload)?;
                    out.flush()?;
                }
                2 => {
                    err.write_all(payload)?;
                    err.flush()?;
                }
                3 => bail!("{}", String::from_utf8_lossy(payload).trim_end()),
                other => bail!("Unrecognized input header: {other}"),
            }
            at += 8 + len;
        }
        self.buf.drain(..at);
        Ok(())
    }
}

/// How a hijacked session ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The daemon closed the output (the process ended or closed its streams).
    Ended,
    /// The user typed the detach keys.
    Detached,
}

pub struct Pump {
    /// The container has a tty: output is raw, not stdcopy frames.
    pub tty: bool,
    /// Copy our stdin into the stream.
    pub stdin: bool,
    /// Whether any output stream is attached (else the session ends with stdin).
    pub output: bool,
    pub detach_keys: Vec<u8>,
}

/// Finds the detach sequence in typed input (docker's `term.NewEscapeProxy`): bytes that
/// might start the sequence are held back until it is clear they do not.
struct Escape {
    keys: Vec<u8>,
    held: usize,
}

impl Escape {
    /// The bytes to forward, or None when the sequence is complete.
    fn feed(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for &b in data {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    return None;
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.held]);
            self.held = 0;
            if b == self.keys[0] {
                self.held = 1;
                if self.keys.len() == 1 {
                    return None;
                }
            } else {
                out.push(b);
            }
        }
        Some(out)
    }
}

/// Runs a hijacked session to its end: output to our stdout/stderr, stdin in (with detach
/// keys spotted when there is a tty), the write side half-closed at stdin's EOF.
pub async fn pump<S>(io: S, p: Pump) -> Result<Outcome>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let tty = p.tty;
    let output = async move {
        let mut demux = Demux::default();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) => return Ok::<(), anyhow::Error>(()),
                Ok(n) => n,
                // A reset after the process ended is an end like any other.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
                Err(e) => return Err(anyhow!("reading the container's output: {e}")),
            };
            let stdout = std::io::stdout();
            let stderr = std::io::stderr();
            let (mut o, mut e) = (stdout.lock(), stderr.lock());
            let r = if tty {
                o.write_all(&buf[..n])
                    .and_then(|()| o.flush())
                    .map_err(anyhow::Error::from)
            } else {
                demux.push(&buf[..n], &mut o, &mut e)
            };
            if let Err(e) = r {
                let pipe = e
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
                if pipe {
                    return Ok(());
                }
                return Err(e);
            }
        }
    };
    let (det_tx, mut det_rx) = tokio::sync::oneshot::channel::<()>();
    let (in_tx, mut in_rx) = tokio::sync::oneshot::channel::<()>();
    let use_stdin = p.stdin;
    let mut escape = Escape {
        keys: if p.tty { p.detach_keys } else { Vec::new() },
        held: 0,
    };
    let input = tokio::spawn(async move {
        if use_stdin {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                match escape.feed(&buf[..n]) {
                    None => {
                        let _ = det_tx.send(());
                        return;
                    }
                    Some(fwd) => {
                        if !fwd.is_empty() && wr.write_all(&fwd).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        let _ = wr.shutdown().await;
        let _ = in_tx.send(());
        // Keep the write half (and so the connection) alive until the session ends.
        std::future::pending::<()>().await;
    });
    tokio::pin!(output);
    let has_output = p.output;
    let result = tokio::select! {
        r = &mut output => r.map(|()| Outcome::Ended),
        Ok(()) = &mut det_rx => Ok(Outcome::Detached),
        Ok(()) = &mut in_rx, if !has_output => Ok(Outcome::Ended),
    };
    input.abort();
    result
}

/// Whether the attach should put the terminal in raw mode: a tty container and stdin both
/// attached and a terminal.
pub fn wants_raw(tty: bool, stdin: bool) -> bool {
    tty && stdin && std::io::stdin().is_terminal()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@").unwrap(), vec![b'a', 0]);
        assert!(parse_detach_keys("ctrl-pp").is_err());
        let mut e = Escape {
            keys: vec![16, 17],
            held: 0,
        };
        assert_eq!(e.feed(b"ab\x10").unwrap(), b"ab");
        assert_eq!(e.feed(b"c").unwrap(), b"\x10c");
        assert_eq!(e.feed(b"\x10"), Some(vec![]));
        assert_eq!(e.feed(b"\x11"), None);
    }

    #[test]
    fn demux_frames_across_chunks() {
        let mut stream = Vec::new();
        for (k, p) in [(1u8, &b"out\n"[..]), (2, b"err\n"), (1, b"more")] {
            stream.extend_from_slice(&[k, 0, 0, 0]);
            stream.extend_from_slice(&(p.len() as u32).to_be_bytes());
            stream.extend_from_slice(p);
        }
        for cut in 0..stream.len() {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            let mut d = Demux::default();
            d.push(&stream[..cut], &mut o, &mut e).unwrap();
            d.push(&stream[cut..], &mut o, &mut e).unwrap();
            assert_eq!(
                (o.as_slice(), e.as_slice()),
                (&b"out\nmore"[..], &b"err\n"[..])
            );
        }
    }
}
