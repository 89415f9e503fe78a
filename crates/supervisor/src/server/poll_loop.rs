//! The shim's single-threaded loop: one `poll` over the socket, the processes' pidfds,
//! their output, their stdin (when input waits) and the clients, until the container's end
//! has reached every client.

use std::time::Duration;

use muelle_runtime::sys;
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;

use super::clients::{blocked, Client};
use super::io::Owner;
use super::{Shim, DRAIN, FINAL_FLUSH};

/// What a polled fd is.
enum Tag {
    Listener,
    Pidfd,
    Source(usize),
    ContainerStdin,
    ExecStdin(usize),
    Client(usize),
}

impl Shim {
    pub(super) fn run(&mut self) {
        // The container is set up: what parsing its spec allocated is free now, and so is
        // the stack its creation went deep into.
        sys::release_free_memory();
        sys::release_unused_stack();
        let mut swept = false;
        loop {
            self.reap();
            self.finish_execs();
            if self.finished.is_none() {
                if let Some(ex) = &self.exited {
                    let drained = self
                        .sources
                        .iter()
                        .filter(|s| s.owner == Owner::Container)
                        .all(|s| s.eof);
                    if drained || ex.at.elapsed() >= DRAIN {
                        self.finish();
                    }
                }
            }
            self.clients.retain(|c| !c.dead);
            let mut sweep = false;
            if let Some(at) = self.finished {
                let idle = self.clients.iter().all(|c| c.out.is_empty());
                if (idle && swept) || at.elapsed() >= FINAL_FLUSH {
                    break;
                }
                // Requests already sent (a wait racing the exit) are answered before the
                // socket goes: one more look at everything without waiting.
                sweep = idle;
            }
            swept = sweep;
            self.poll_once(sweep);
        }
        let _ = std::fs::remove_file(self.opts.state_dir.join("shim.sock"));
        let _ = std::fs::remove_file(self.opts.state_dir.join("shim.pid"));
    }

    fn timeout(&self) -> Option<Duration> {
        let mut t: Option<Duration> = None;
        let mut at = |d: Duration| t = Some(t.map_or(d, |x| x.min(d)));
        if let (Some(ex), None) = (&self.exited, self.finished) {
            at(DRAIN.saturating_sub(ex.at.elapsed()));
        }
        if let Some(f) = self.finished {
            at(FINAL_FLUSH.saturating_sub(f.elapsed()));
        }
        for e in &self.execs {
            if let Some(x) = e.exited_at {
                at(DRAIN.saturating_sub(x.elapsed()));
            }
            // Without a pidfd its exit would not wake the poll: look now and then.
            if e.pidfd.is_none() && e.exit_code.is_none() {
                at(Duration::from_millis(100));
            }
        }
        if self.init_pidfd.is_none() && self.exited.is_none() {
            at(Duration::from_millis(100));
        }
        t
    }

    fn poll_once(&mut self, no_wait: bool) {
        let mut tags = Vec::with_capacity(8 + self.sources.len() + self.clients.len());
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(tags.capacity());
        let r#in = PollFlags::IN;
        let out = PollFlags::OUT;
        fds.push(PollFd::new(&self.listener, r#in));
        tags.push(Tag::Listener);
        if let Some(p) = &self.init_pidfd {
            fds.push(PollFd::new(p, r#in));
            tags.push(Tag::Pidfd);
        }
        for e in &self.execs {
            if let Some(p) = &e.pidfd {
                fds.push(PollFd::new(p, r#in));
                tags.push(Tag::Pidfd);
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if !s.eof && !blocked(&self.clients, s.owner, s.stream) {
                fds.push(PollFd::new(&s.fd, r#in));
                tags.push(Tag::Source(i));
            }
        }
        let pending_for =
            |target: Option<i32>| self.clients.iter().any(|c| c.input_pending_for(target));
        if let Some(fd) = &self.stdin {
            if pending_for(None) {
                fds.push(PollFd::new(fd, out));
                tags.push(Tag::ContainerStdin);
            }
        }
        for (i, e) in self.execs.iter().enumerate() {
            if let Some(fd) = &e.stdin {
                if pending_for(Some(e.pid)) {
                    fds.push(PollFd::new(fd, out));
                    tags.push(Tag::ExecStdin(i));
                }
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            let mut ev = PollFlags::empty();
            if c.wants_read() {
                ev |= r#in;
            }
            if !c.out.is_empty() {
                ev |= out;
            }
            fds.push(PollFd::new(&c.conn, ev));
            tags.push(Tag::Client(i));
        }
        let timeout = if no_wait {
            Some(Duration::ZERO)
        } else {
            self.timeout()
        };
        let timeout = timeout.map(|d| rustix::event::Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(Errno::INTR) => return,
            Err(e) => {
                eprintln!("muelle-shim: poll: {e}");
                std::thread::sleep(Duration::from_millis(100));
                return;
            }
        }
        let ready: Vec<(Tag, PollFlags)> = tags
            .into_iter()
            .zip(fds.iter().map(|f| f.revents()))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        drop(fds);
        for (tag, rev) in ready {
            match tag {
                Tag::Listener => self.accept(),
                Tag::Pidfd => {}
                Tag::Source(i) => self.read_source(i),
                Tag::ContainerStdin => self.flush_stdin(None),
                Tag::ExecStdin(i) => {
                    if let Some(pid) = self.execs.get(i).map(|e| e.pid) {
                        self.flush_stdin(Some(pid));
                    }
                }
                Tag::Client(i) => self.client_event(i, rev),
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((conn, _)) => {
                    if conn.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.clients.push(Client::new(conn));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}
