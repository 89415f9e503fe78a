//! Carrying out the request that opens a connection (PROTOCOL.md, "Requests"): its reply,
//! and the role it gives the client.

use std::os::fd::AsRawFd;

use muelle_runtime::sys;

use super::clients::Role;
use super::io::Owner;
use super::Shim;
use crate::error::ShimError;
use crate::frame;
use crate::protocol::{self, Ack, ExecStarted, Request, Status};

impl Shim {
    pub(super) fn handle(&mut self, i: usize, line: &[u8]) {
        let reply = match Request::parse(line) {
            Err(e) => Err(e),
            Ok(req) => self.request(i, req),
        };
        let Some(c) = self.clients.get_mut(i) else {
            return;
        };
        match reply {
            Ok(Some(line)) => {
                c.reply(line);
                if c.role == Role::Request {
                    c.role = Role::Done;
                    c.close_after_flush = true;
                }
            }
            Ok(None) => {}
            Err(e) => {
                c.reply(protocol::error_line(&e.to_string()));
                c.role = Role::Done;
                c.close_after_flush = true;
            }
        }
        c.flush();
    }

    /// Carries out a request; returns the reply line, after which the connection closes
    /// unless the request gave the client a role.
    fn request(&mut self, i: usize, req: Request) -> Result<Option<Vec<u8>>, ShimError> {
        let done = self.finished.is_some();
        let ok = || protocol::line(&Ack::OK);
        match req {
            Request::Start => {
                if self.exited.is_some() {
                    return Err(ShimError::Request("container has exited".into()));
                }
                for w in self.container.start()? {
                    eprintln!("muelle-shim: warning: {w}");
                }
                self.started = true;
                Ok(Some(ok()))
            }
            Request::Wait => {
                if done {
                    return Ok(self.exit_record().map(|r| protocol::line(&r)));
                }
                self.set_role(i, Role::Wait);
                Ok(None)
            }
            Request::Status => Ok(Some(protocol::line(&Status {
                pid: self.init_pid,
                running: self.started && self.exited.is_none(),
            }))),
            Request::Resize { height, width } => {
                let master = self
                    .sources
                    .iter()
                    .find(|s| s.owner == Owner::Container && s.tty);
                // Without a pty there is nothing to resize: ok, as containerd's shim.
                if let Some(m) = master {
                    sys::set_winsize(m.fd.as_raw_fd(), height, width)
                        .map_err(|e| ShimError::io("resize the pty", e))?;
                }
                Ok(Some(ok()))
            }
            Request::ExecResize { pid, height, width } => {
                if !self.execs.iter().any(|e| e.pid == pid) {
                    return Err(ShimError::Request(format!("no exec'd process {pid}")));
                }
                if let Some(m) = self
                    .sources
                    .iter()
                    .find(|s| s.owner == Owner::Exec(pid) && s.tty)
                {
                    sys::set_winsize(m.fd.as_raw_fd(), height, width)
                        .map_err(|e| ShimError::io("resize the pty", e))?;
                }
                Ok(Some(ok()))
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let mut line = ok();
                if let Some(code) = self.exited.as_ref().filter(|_| done).map(|e| e.code) {
                    frame::push_exit(&mut line, code);
                    return Ok(Some(line));
                }
                self.set_role(
                    i,
                    Role::Attach {
                        stdin,
                        stdout,
                        stderr,
                    },
                );
                Ok(Some(line))
            }
            Request::Exec {
                process,
                tty,
                stdin,
            } => {
                let pid = self.exec(*process, tty, stdin)?;
                self.set_role(i, Role::Exec { pid, stdin });
                Ok(Some(protocol::line(&ExecStarted { ok: true, pid })))
            }
        }
    }

    fn set_role(&mut self, i: usize, role: Role) {
        if let Some(c) = self.clients.get_mut(i) {
            c.role = role;
        }
    }
}
