//! The stdio of the container's processes: the pipes or pty master the shim reads their
//! output from, the console socket a pty master arrives on, the shim's own fds 0-2 around a
//! create or exec, and pumping output to the log and to the clients that receive it.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

use muelle_runtime::state::now_rfc3339;
use muelle_runtime::sys;
use rustix::io::Errno;

use super::Shim;
use crate::error::ShimError;
use crate::frame;
use crate::logfile::FailureReport;

/// Who produced a stream of output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    Container,
    Exec(i32),
}

/// A pipe or pty master the shim reads a process's output from.
pub(crate) struct Source {
    pub(crate) fd: OwnedFd,
    pub(crate) stream: u8,
    pub(crate) owner: Owner,
    pub(crate) tty: bool,
    pub(crate) eof: bool,
}

impl Source {
    pub(crate) fn new(fd: OwnedFd, stream: u8, owner: Owner, tty: bool) -> Source {
        Source {
            fd,
            stream,
            owner,
            tty,
            eof: false,
        }
    }
}

/// The stdio the shim's own fds 0, 1, 2 are restored to after a create or exec, which
/// hand them to the new process.
pub(crate) struct Stdio {
    pub(crate) devnull: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

impl Stdio {
    pub(crate) fn set(&self, fds: [BorrowedFd<'_>; 3]) -> Result<(), ShimError> {
        for (n, fd) in fds.iter().enumerate() {
            sys::dup2(fd.as_raw_fd(), n as i32).map_err(|e| ShimError::io("dup2 stdio", e))?;
        }
        Ok(())
    }

    pub(crate) fn restore(&self) {
        let _ = sys::dup2(self.devnull.as_raw_fd(), 0);
        let _ = sys::dup2(self.devnull.as_raw_fd(), 1);
        let _ = sys::dup2(self.stderr.as_raw_fd(), 2);
    }
}

/// Child and parent ends of the stdio of a new process.
pub(crate) struct Pipes {
    pub(crate) child: [OwnedFd; 3],
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ShimError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| ShimError::io("pipe", e))
}

pub(crate) fn nonblock(fd: &OwnedFd) -> Result<(), ShimError> {
    rustix::io::ioctl_fionbio(fd, true).map_err(|e| ShimError::io("set O_NONBLOCK", e))
}

pub(crate) fn dup(fd: &OwnedFd) -> Result<OwnedFd, ShimError> {
    fd.try_clone().map_err(|e| ShimError::io("dup", e))
}

impl Pipes {
    pub(crate) fn new(stdin: bool, devnull: &OwnedFd) -> Result<Pipes, ShimError> {
        let (in_r, in_w) = if stdin {
            let (r, w) = pipe()?;
            (r, Some(w))
        } else {
            (dup(devnull)?, None)
        };
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        for fd in [&out_r, &err_r].into_iter().chain(in_w.as_ref()) {
            nonblock(fd)?;
        }
        Ok(Pipes {
            child: [in_r, out_w, err_w],
            stdin: in_w,
            stdout: out_r,
            stderr: err_r,
        })
    }
}

/// A unix socket in the state directory where the runtime connects to hand over a pty
/// master. Bound and connected through /proc/self/fd so that long state paths fit
/// sun_path.
pub(crate) struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    pub(crate) short: PathBuf,
}

impl ConsoleSocket {
    pub(crate) fn bind(dir_fd: &File, dir: &Path, name: &str) -> Result<ConsoleSocket, ShimError> {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let short = PathBuf::from(format!("/proc/self/fd/{}/{name}", dir_fd.as_raw_fd()));
        let listener =
            UnixListener::bind(&short).map_err(|e| ShimError::path("listen on", &path, e))?;
        Ok(ConsoleSocket {
            listener,
            path,
            short,
        })
    }

    /// The master the runtime's child sent (it did so before create/exec returned).
    pub(crate) fn receive(&self) -> Result<OwnedFd, ShimError> {
        self.listener
            .set_nonblocking(true)
            .map_err(|e| ShimError::io("console socket", e))?;
        let (conn, _) = self.listener.accept().map_err(|e| {
            ShimError::Request(format!(
                "no pty master was sent to the console socket (is process.terminal true?): {e}"
            ))
        })?;
        let mut buf = [0u8; 256];
        let (_, mut fds) = sys::recv_fds(conn.as_fd(), &mut buf, 1)
            .map_err(|e| ShimError::io("receive pty master", e))?;
        let master = fds
            .pop()
            .ok_or_else(|| ShimError::Request("the container sent no pty master".into()))?;
        nonblock(&master)?;
        Ok(master)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reports the outcome of a log write, rate-limited (see `Shim::log_failures`).
pub(crate) fn report_log_write(report: &mut FailureReport, r: Result<(), ShimError>) {
    let line = match r {
        Ok(()) => report.recovered(),
        Err(e) => report.failed(Instant::now(), &e),
    };
    if let Some(line) = line {
        eprintln!("muelle-shim: {line}");
    }
}

impl Shim {
    /// Reads what source `i` has: to the log (the container's output) and, framed, to
    /// every client that receives it.
    pub(super) fn read_source(&mut self, i: usize) {
        let Some(src) = self.sources.get_mut(i) else {
            return;
        };
        let n = loop {
            match rustix::io::read(&src.fd, &mut self.buf[..]) {
                Ok(n) => break n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                // EIO: the pty's slave side is closed everywhere, the pty's end of file.
                Err(_) => break 0,
            }
        };
        if n == 0 {
            src.eof = true;
            let (owner, stream) = (src.owner, src.stream);
            if owner == Owner::Container {
                if let Some(log) = &mut self.log {
                    let r = log.flush_stream(stream, &now_rfc3339());
                    report_log_write(&mut self.log_failures, r);
                }
            }
            return;
        }
        let (owner, stream) = (src.owner, src.stream);
        let data = &self.buf[..n];
        if owner == Owner::Container {
            if let Some(log) = &mut self.log {
                let r = log.write(stream, data, &now_rfc3339());
                report_log_write(&mut self.log_failures, r);
            }
        }
        for c in self.clients.iter_mut() {
            if !c.dead && c.receives(owner, stream) {
                frame::push(&mut c.out, stream, data);
                c.flush();
            }
        }
    }
}
