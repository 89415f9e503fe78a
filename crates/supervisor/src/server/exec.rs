//! Exec'd processes: starting one in the running container with its own pipes or pty, and
//! ending its stream once it exited and its output is drained.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use muelle_runtime::sys;
use muelle_runtime::ExecOptions;

use super::clients::Role;
use super::io::{dup, ConsoleSocket, Owner, Pipes, Source};
use super::{Shim, DRAIN};
use crate::error::ShimError;
use crate::frame;

/// An exec'd process.
pub(crate) struct Exec {
    pub(crate) pid: i32,
    pub(crate) pidfd: Option<OwnedFd>,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) exit_code: Option<i32>,
    pub(crate) exited_at: Option<Instant>,
}

/// A pidfd of `pid`, which wakes the poll loop when it exits (None on kernels without).
pub(crate) fn pidfd(pid: i32) -> Option<OwnedFd> {
    rustix::process::Pid::from_raw(pid)
        .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok())
}

impl Shim {
    pub(super) fn exec(
        &mut self,
        mut process: oci_spec::runtime::Process,
        tty: bool,
        stdin: bool,
    ) -> Result<i32, ShimError> {
        if !self.started || self.exited.is_some() {
            return Err(ShimError::Request(format!(
                "container {} is not running",
                self.opts.id
            )));
        }
        process.set_terminal(Some(tty));
        self.exec_seq += 1;
        let console = if tty {
            Some(ConsoleSocket::bind(
                &self.state_dir,
                &self.opts.state_dir,
                &format!("exec-{}.sock", self.exec_seq),
            )?)
        } else {
            None
        };
        let pipes = if tty {
            None
        } else {
            Some(Pipes::new(stdin, &self.stdio.devnull)?)
        };
        let eopts = ExecOptions {
            process,
            console_socket: console.as_ref().map(|c| c.short.clone()),
            pid_file: None,
            preserve_fds: 0,
            detach: true,
        };
        if let Some(p) = &pipes {
            self.stdio
                .set([p.child[0].as_fd(), p.child[1].as_fd(), p.child[2].as_fd()])?;
        }
        let r = self.container.exec(&eopts);
        self.stdio.restore();
        let pid = r?;
        let mut exec = Exec {
            pid,
            pidfd: pidfd(pid),
            stdin: None,
            exit_code: None,
            exited_at: None,
        };
        match (pipes, console) {
            (Some(p), _) => {
                exec.stdin = p.stdin;
                for (fd, stream) in [(p.stdout, frame::STDOUT), (p.stderr, frame::STDERR)] {
                    self.sources
                        .push(Source::new(fd, stream, Owner::Exec(pid), false));
                }
            }
            (None, Some(c)) => {
                // The process runs already: without its pty it could not be talked to, so
                // it is killed if the master cannot be had.
                let master = c.receive().inspect_err(|_| {
                    let _ = sys::kill(pid, libc::SIGKILL);
                })?;
                if stdin {
                    exec.stdin = Some(dup(&master)?);
                }
                self.sources
                    .push(Source::new(master, frame::STDOUT, Owner::Exec(pid), true));
            }
            (None, None) => {}
        }
        self.execs.push(exec);
        Ok(pid)
    }

    /// Ends the stream of every exec'd process that exited and whose output is drained.
    pub(super) fn finish_execs(&mut self) {
        let mut k = 0;
        while k < self.execs.len() {
            let e = &self.execs[k];
            let (Some(code), Some(at)) = (e.exit_code, e.exited_at) else {
                k += 1;
                continue;
            };
            let owner = Owner::Exec(e.pid);
            let drained = self
                .sources
                .iter()
                .filter(|s| s.owner == owner)
                .all(|s| s.eof);
            if !drained && at.elapsed() < DRAIN {
                k += 1;
                continue;
            }
            self.end_exec(k, code);
        }
    }

    pub(super) fn end_exec(&mut self, k: usize, code: i32) {
        let e = self.execs.remove(k);
        let owner = Owner::Exec(e.pid);
        self.sources.retain(|s| s.owner != owner);
        let mut last = Vec::new();
        frame::push_exit(&mut last, code);
        for c in self.clients.iter_mut() {
            if matches!(c.role, Role::Exec { pid, .. } if pid == e.pid) {
                c.end_with(&last);
            }
        }
    }
}
