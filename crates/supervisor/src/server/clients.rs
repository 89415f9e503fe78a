//! The connections on `shim.sock`: what each client is (its role once its request line is
//! read), what it receives, its unsent output and the back-pressure that bounds it, and its
//! input routed to a process's stdin.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use rustix::event::PollFlags;
use rustix::io::Errno;

use super::io::Owner;
use super::{Shim, READ_BUF};
use crate::frame;
use crate::protocol::{self, MAX_REQUEST};

/// A client whose unsent output reaches this stops the reading of the sources it receives
/// (backpressure, as Docker's attach): memory stays bounded and nothing is dropped.
pub(crate) const HIGH_WATER: usize = 32 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// The request line is still being read.
    Request,
    Wait,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    Exec {
        pid: i32,
        stdin: bool,
    },
    /// Replied; the connection closes once its output is sent.
    Done,
}

pub(crate) struct Client {
    pub(crate) conn: UnixStream,
    pub(crate) role: Role,
    /// The request line while reading it, then stdin bytes not yet written to the process.
    pub(crate) inbuf: Vec<u8>,
    pub(crate) out: Vec<u8>,
    pub(crate) input_done: bool,
    pub(crate) close_after_flush: bool,
    pub(crate) dead: bool,
}

impl Client {
    /// A client just accepted, whose request line is still to come.
    pub(crate) fn new(conn: UnixStream) -> Client {
        Client {
            conn,
            role: Role::Request,
            inbuf: Vec::new(),
            out: Vec::new(),
            input_done: false,
            close_after_flush: false,
            dead: false,
        }
    }

    pub(crate) fn reply(&mut self, line: Vec<u8>) {
        self.out.extend_from_slice(&line);
    }

    /// Answers with `line` and closes the connection once it is sent.
    pub(crate) fn end_with(&mut self, line: &[u8]) {
        self.out.extend_from_slice(line);
        self.role = Role::Done;
        self.close_after_flush = true;
        self.flush();
    }

    /// Sends `line` but keeps the connection until [`Client::close`]: a waiter learns the
    /// exit at once and the shim's end (after its unmounts) from the close.
    pub(crate) fn answer_and_hold(&mut self, line: &[u8]) {
        self.out.extend_from_slice(line);
        self.role = Role::Done;
        self.flush();
    }

    /// Closes the connection once what is queued has been sent.
    pub(crate) fn close(&mut self) {
        self.close_after_flush = true;
        self.flush();
    }

    pub(crate) fn wants_read(&self) -> bool {
        match self.role {
            Role::Request => true,
            _ => !self.input_done && self.inbuf.is_empty(),
        }
    }

    /// Sends what it can without blocking; a client that went away is marked dead.
    pub(crate) fn flush(&mut self) {
        while !self.out.is_empty() {
            match self.conn.write(&self.out) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        if self.out.capacity() > HIGH_WATER * 2 && self.out.is_empty() {
            self.out = Vec::new();
        }
        if self.out.is_empty() && self.close_after_flush {
            self.dead = true;
        }
    }

    /// The stream frames of this client for output of `owner` on `stream`.
    pub(crate) fn receives(&self, owner: Owner, stream: u8) -> bool {
        match (self.role, owner) {
            (Role::Attach { stdout, stderr, .. }, Owner::Container) => {
                (stream == frame::STDOUT && stdout) || (stream == frame::STDERR && stderr)
            }
            (Role::Exec { pid, .. }, Owner::Exec(p)) => pid == p,
            _ => false,
        }
    }

    /// Has stdin bytes waiting for `target` (None: the container, Some: an exec'd pid).
    pub(crate) fn input_pending_for(&self, target: Option<i32>) -> bool {
        !self.inbuf.is_empty()
            && match (self.role, target) {
                (Role::Attach { stdin: true, .. }, None) => true,
                (Role::Exec { pid, stdin: true }, Some(p)) => pid == p,
                _ => false,
            }
    }
}

/// Output of `owner` on `stream` is not read while a client receiving it is full.
pub(crate) fn blocked(clients: &[Client], owner: Owner, stream: u8) -> bool {
    clients
        .iter()
        .any(|c| c.out.len() >= HIGH_WATER && c.receives(owner, stream))
}

impl Shim {
    pub(super) fn client_event(&mut self, i: usize, rev: PollFlags) {
        if rev.contains(PollFlags::OUT) {
            if let Some(c) = self.clients.get_mut(i) {
                c.flush();
            }
        }
        let Some(c) = self.clients.get(i) else {
            return;
        };
        if c.dead {
            return;
        }
        if c.wants_read() && rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.client_read(i);
        } else if rev.intersects(PollFlags::HUP | PollFlags::ERR) {
            if let Some(c) = self.clients.get_mut(i) {
                c.dead = true;
            }
        }
    }

    fn client_read(&mut self, i: usize) {
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        let n = match c.conn.read(&mut self.buf[..]) {
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::Interrupted =>
            {
                return
            }
            Err(_) => {
                c.dead = true;
                return;
            }
        };
        let data = &self.buf[..n];
        if c.role == Role::Request {
            if n == 0 {
                c.dead = true;
                return;
            }
            let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                c.inbuf.extend_from_slice(data);
                if c.inbuf.len() > MAX_REQUEST {
                    c.end_with(&protocol::error_line("request line too long"));
                }
                return;
            };
            let mut line = std::mem::take(&mut c.inbuf);
            line.extend_from_slice(&data[..nl]);
            // Whatever followed the request line is the first stdin of an attach or exec.
            c.inbuf.extend_from_slice(&data[nl + 1..]);
            self.handle(i, &line);
            self.client_stdin(i);
            return;
        }
        if n == 0 {
            c.input_done = true;
        } else if c.input_done {
            return;
        } else {
            c.inbuf.extend_from_slice(data);
        }
        self.client_stdin(i);
    }

    /// Where the stdin of client `i` goes: None when it has none (its input is dropped).
    pub(super) fn stdin_target(&self, i: usize) -> Option<Option<i32>> {
        match self.clients.get(i)?.role {
            Role::Attach { stdin: true, .. } if self.stdin.is_some() => Some(None),
            Role::Exec { pid, stdin: true } => self
                .execs
                .iter()
                .find(|e| e.pid == pid && e.stdin.is_some())
                .map(|e| Some(e.pid)),
            _ => None,
        }
    }

    /// Writes client `i`'s pending input to its process; on its end of input, closes the
    /// process's stdin where the protocol says so.
    pub(super) fn client_stdin(&mut self, i: usize) {
        let target = self.stdin_target(i);
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        let Some(target) = target else {
            c.inbuf.clear();
            return;
        };
        let fd = match target {
            None => self.stdin.as_ref(),
            Some(pid) => self
                .execs
                .iter()
                .find(|e| e.pid == pid)
                .and_then(|e| e.stdin.as_ref()),
        };
        let Some(fd) = fd else {
            c.inbuf.clear();
            return;
        };
        let mut broken = false;
        while !c.inbuf.is_empty() {
            match rustix::io::write(fd, &c.inbuf) {
                Ok(n) => {
                    c.inbuf.drain(..n);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            c.inbuf.clear();
        }
        if c.inbuf.capacity() > READ_BUF * 2 && c.inbuf.is_empty() {
            c.inbuf = Vec::new();
        }
        if !(c.input_done && c.inbuf.is_empty()) {
            return;
        }
        match target {
            None if self.opts.stdin_once => self.stdin = None,
            None => {}
            Some(pid) => {
                if let Some(e) = self.execs.iter_mut().find(|e| e.pid == pid) {
                    e.stdin = None;
                }
            }
        }
    }

    pub(super) fn flush_stdin(&mut self, target: Option<i32>) {
        for i in 0..self.clients.len() {
            if self.stdin_target(i) == Some(target) {
                self.client_stdin(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Client, UnixStream) {
        let (a, b) = match UnixStream::pair() {
            Ok(p) => p,
            Err(e) => panic!("socketpair: {e}"),
        };
        if let Err(e) = a.set_nonblocking(true) {
            panic!("nonblocking: {e}");
        }
        (Client::new(a), b)
    }

    #[test]
    fn roles_decide_what_a_client_receives() {
        let (mut c, _peer) = pair();
        assert!(!c.receives(Owner::Container, frame::STDOUT));
        assert!(c.wants_read());
        c.role = Role::Attach {
            stdin: false,
            stdout: true,
            stderr: false,
        };
        assert!(c.receives(Owner::Container, frame::STDOUT));
        assert!(!c.receives(Owner::Container, frame::STDERR));
        assert!(!c.receives(Owner::Exec(4), frame::STDOUT));
        c.role = Role::Exec {
            pid: 4,
            stdin: true,
        };
        assert!(c.receives(Owner::Exec(4), frame::STDERR));
        assert!(!c.receives(Owner::Exec(5), frame::STDOUT));
        assert!(!c.receives(Owner::Container, frame::STDOUT));
        c.role = Role::Wait;
        assert!(!c.receives(Owner::Container, frame::STDOUT));
    }

    #[test]
    fn input_is_read_one_chunk_at_a_time() {
        let (mut c, _peer) = pair();
        c.role = Role::Exec {
            pid: 4,
            stdin: true,
        };
        assert!(c.wants_read());
        c.inbuf.extend_from_slice(b"x");
        // Not read further until that chunk reached the process.
        assert!(!c.wants_read());
        assert!(c.input_pending_for(Some(4)));
        assert!(!c.input_pending_for(Some(5)));
        assert!(!c.input_pending_for(None));
        c.inbuf.clear();
        c.input_done = true;
        assert!(!c.wants_read());
    }

    #[test]
    fn back_pressure_stops_only_the_sources_a_full_client_receives() {
        let (mut slow, peer) = pair();
        slow.role = Role::Attach {
            stdin: false,
            stdout: true,
            stderr: false,
        };
        let (mut other, _p2) = pair();
        other.role = Role::Exec {
            pid: 9,
            stdin: false,
        };
        // Nobody reads `peer`: the socket buffer fills, then the client's own buffer.
        let chunk = vec![b'a'; READ_BUF];
        let mut rounds = 0;
        while slow.out.len() < HIGH_WATER {
            frame::push(&mut slow.out, frame::STDOUT, &chunk);
            slow.flush();
            rounds += 1;
            assert!(rounds < 10_000, "the socket never filled");
        }
        assert!(!slow.dead);
        let clients = [slow, other];
        assert!(blocked(&clients, Owner::Container, frame::STDOUT));
        assert!(!blocked(&clients, Owner::Container, frame::STDERR));
        assert!(!blocked(&clients, Owner::Exec(9), frame::STDOUT));
        // Once the peer reads, the client drains and the source flows again.
        let [mut slow, other] = clients;
        let mut peer = peer;
        if let Err(e) = peer.set_nonblocking(true) {
            panic!("nonblocking: {e}");
        }
        let mut buf = vec![0u8; 64 * 1024];
        while !slow.out.is_empty() {
            let _ = peer.read(&mut buf);
            slow.flush();
        }
        assert!(!blocked(&[slow, other], Owner::Container, frame::STDOUT));
    }

    #[test]
    fn a_client_that_went_away_is_dead_and_a_finished_one_closes() {
        let (mut c, peer) = pair();
        drop(peer);
        c.reply(b"{\"ok\":true}\n".to_vec());
        c.flush();
        assert!(c.dead);
        let (mut c, mut peer) = pair();
        c.end_with(b"{\"ok\":true}\n");
        assert!(c.dead, "closes once its reply is sent");
        assert_eq!(c.role, Role::Done);
        let mut got = [0u8; 12];
        assert!(peer.read_exact(&mut got).is_ok());
        assert_eq!(&got, b"{\"ok\":true}\n");
    }
}
