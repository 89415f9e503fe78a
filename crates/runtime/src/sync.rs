//! The channel between the runtime and the children it forks while making a container.
//!
//! A SOCK_SEQPACKET socketpair keeps message boundaries, so each message is one small JSON
//! value. A closed peer reads as end-of-stream, which is how a successful `execve` (the
//! socket is close-on-exec) is told apart from an error report.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};

/// Messages between the runtime (parent) and its forked children.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Msg {
    /// Parent → child: the cgroup is ready; go on.
    Go,
    /// Child → parent: write uid_map/gid_map for this pid (a new user namespace).
    MapIds { pid: i32 },
    /// Either way: the step asked for is done.
    Ack,
    /// Intermediate child → parent: the container's init has this pid (parent's namespace).
    Pid { pid: i32 },
    /// Parent → init: your pid as the host sees it.
    HostPid { pid: i32 },
    /// Init → parent: namespaces and mounts are up; run the createRuntime/prestart hooks.
    RunHooks,
    /// Init → parent: set up and waiting for `start`.
    Ready,
    /// Child → parent: a failure, already worded for the user.
    Error { msg: String },
}

/// One end of the channel.
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent end, child end). Both close-on-exec.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| RuntimeError::sys("socketpair", e))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// Wraps an existing socket.
    pub fn from_fd(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    /// Sends one message.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let bytes = serde_json::to_vec(msg)
            .map_err(|e| RuntimeError::Child(format!("encode message: {e}")))?;
        rustix::net::send(&self.fd, &bytes, rustix::net::SendFlags::NOSIGNAL)
            .map_err(|e| RuntimeError::sys("send to runtime channel", e))?;
        Ok(())
    }

    /// Sends a message together with file descriptors.
    pub fn send_fds(&self, msg: &Msg, fds: &[BorrowedFd<'_>]) -> Result<()> {
        let bytes = serde_json::to_vec(msg)
            .map_err(|e| RuntimeError::Child(format!("encode message: {e}")))?;
        crate::sys::send_fds(self.fd.as_fd(), &bytes, fds)
            .map_err(|e| RuntimeError::sys("send fds", e))
    }

    /// Receives one message; `None` when the peer closed its end.
    pub fn recv(&self) -> Result<Option<Msg>> {
        Ok(self.recv_with_fds()?.map(|(m, _)| m))
    }

    /// Waits up to `limit` for a message (or the peer's end) to be readable; false when the
    /// time ran out first.
    pub fn wait_readable(&self, limit: std::time::Duration) -> Result<bool> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let timeout = Timespec {
            tv_sec: limit.as_secs() as i64,
            tv_nsec: i64::from(limit.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, Some(&timeout)) {
                Ok(n) => return Ok(n > 0),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(RuntimeError::sys("poll the sync socket", e)),
            }
        }
    }

    /// Receives one message and any descriptors sent with it.
    pub fn recv_with_fds(&self) -> Result<Option<(Msg, Vec<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match crate::sys::recv_fds(self.fd.as_fd(), &mut buf, 4) {
                Ok((0, _)) => return Ok(None),
                Ok((n, fds)) => {
                    let msg = serde_json::from_slice(&buf[..n])
                        .map_err(|e| RuntimeError::Child(format!("bad message from child: {e}")))?;
                    return Ok(Some((msg, fds)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A peer that exits with our message unread makes the kernel report
                // ECONNRESET once, possibly ahead of what the peer sent before exiting (its
                // error report): read on, the queue and then end-of-stream follow.
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => continue,
                Err(e) => return Err(RuntimeError::sys("receive from runtime channel", e)),
            }
        }
    }

    /// An `Error` the peer already sent, if any, without waiting. Used when a step of the
    /// parent failed because the child died: the child's reason is the one to report.
    pub fn pending_error(&self) -> Option<String> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match rustix::net::recv(&self.fd, &mut buf, rustix::net::RecvFlags::DONTWAIT) {
                Ok((0, _)) => return None,
                Ok((n, _)) => n,
                // Reported once ahead of the queue (see recv_with_fds).
                Err(rustix::io::Errno::CONNRESET) | Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return None,
            };
            if let Ok(Msg::Error { msg }) = serde_json::from_slice(&buf[..n]) {
                return Some(msg);
            }
        }
    }

    /// Receives and insists on `Ack`; an `Error` becomes the error.
    pub fn expect_ack(&self, step: &str) -> Result<()> {
        match self.recv()? {
            Some(Msg::Ack) => Ok(()),
            Some(Msg::Error { msg }) => Err(RuntimeError::Child(msg)),
            Some(other) => Err(RuntimeError::Child(format!(
                "{step}: unexpected message {other:?}"
            ))),
            None => Err(RuntimeError::Child(format!("{step}: peer went away"))),
        }
    }

    /// The underlying descriptor.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
