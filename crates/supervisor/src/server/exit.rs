//! The end of processes: reaping the init and exec'd processes, and the container's end
//! (PROTOCOL.md, "Exit"): the exit record (OOM kill included) written, the runtime container
//! deleted, the answers to waiters and streams, then the unmounts.

use std::path::Path;
use std::time::{Duration, Instant};

use muelle_runtime::state::now_rfc3339;
use muelle_runtime::sys;
use rustix::io::Errno;

use super::clients::Role;
use super::io::{report_log_write, Owner};
use super::Shim;
use crate::durable;
use crate::frame;
use crate::protocol::{self, ExitRecord};

/// The exit record's name in the state dir, when the exit file could not be written.
const EXIT_FALLBACK: &str = "exit.json";

/// The init's end, as reaped.
pub(crate) struct Exited {
    pub(crate) code: i32,
    pub(crate) finished_at: String,
    pub(crate) at: Instant,
    /// Learnt from the cgroup at the container's end, before the cgroup goes.
    pub(crate) oom_killed: bool,
}

pub(crate) fn unmount(path: &Path) {
    if let Err(e) = rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        if e != Errno::INVAL && e != Errno::NOENT {
            eprintln!("muelle-shim: unmount {}: {e}", path.display());
        }
    }
}

/// Writes the exit record, whole or not at all; to the state dir when the exit file cannot
/// be written. Not synced to disk: it is for a daemon that was away (killed, restarted), and
/// after a crash of the machine the container is gone whatever the record says.
fn write_exit_file(exit_file: &Path, state_dir: &Path, line: &[u8]) {
    let write = |p: &Path| durable::write_atomic(p, line);
    if let Err(e) = write(exit_file) {
        eprintln!("muelle-shim: exit file {}: {e}", exit_file.display());
        // The data root may be full. The state dir is in the exec root, where the daemon
        // looks next, so a daemon restarted later still learns the code.
        let fallback = state_dir.join(EXIT_FALLBACK);
        if let Err(e) = write(&fallback) {
            eprintln!("muelle-shim: exit file {}: {e}", fallback.display());
        }
    }
}

impl Shim {
    /// Collects every child that exited: the init, exec'd processes, and anything else
    /// reparented to this subreaper.
    pub(super) fn reap(&mut self) {
        loop {
            match sys::waitpid(-1, libc::WNOHANG) {
                Ok(Some((pid, status))) => {
                    let code = sys::exit_code(status);
                    if pid == self.init_pid && self.exited.is_none() {
                        self.exited = Some(Exited {
                            code,
                            finished_at: now_rfc3339(),
                            at: Instant::now(),
                            oom_killed: false,
                        });
                        self.init_pidfd = None;
                    } else if let Some(e) = self.execs.iter_mut().find(|e| e.pid == pid) {
                        e.exit_code = Some(code);
                        e.exited_at = Some(Instant::now());
                        e.pidfd = None;
                    }
                }
                Ok(None) => return,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    pub(super) fn exit_record(&self) -> Option<ExitRecord> {
        self.exited.as_ref().map(|e| ExitRecord {
            exit_code: e.code,
            finished_at: e.finished_at.clone(),
            oom_killed: e.oom_killed,
            pid: None,
        })
    }

    /// Whether the kernel's OOM killer killed anything in the container's cgroup, which
    /// is still there: Docker's OOMKilled (containerd reports any OOM kill of the task).
    fn oom_killed(&self) -> bool {
        let Some(cg) = self.container.saved.cgroup.as_ref() else {
            return false;
        };
        match cg.oom_kills() {
            Ok(n) => n > 0,
            Err(e) => {
                eprintln!("muelle-shim: read the OOM kill count: {e}");
                false
            }
        }
    }

    /// The container's end (PROTOCOL.md, "Exit"): log, exit file, runtime delete, then the
    /// waiters and streams get their answers, and only then the unmounts: an unmount waits
    /// for an RCU grace period (5-20 ms here), which nobody waiting for the exit needs to
    /// pay; the daemon unmounts too when it removes the container, whichever comes first.
    pub(super) fn finish(&mut self) {
        let oom_killed = self.exited.is_some() && self.oom_killed();
        let Some(ex) = self.exited.as_mut() else {
            return;
        };
        ex.oom_killed = oom_killed;
        let code = ex.code;
        let now = now_rfc3339();
        if let Some(log) = &mut self.log {
            let r = log.flush_all(&now);
            report_log_write(&mut self.log_failures, r);
        }
        if let Some(line) = self.log_failures.recovered() {
            eprintln!("muelle-shim: {line}");
        }
        self.log = None;
        self.sources.retain(|s| s.owner != Owner::Container);
        self.stdin = None;
        let record = self.exit_record();
        if let Some(r) = &record {
            let with_pid = ExitRecord {
                pid: Some(self.init_pid),
                ..r.clone()
            };
            write_exit_file(
                &self.opts.exit_file,
                &self.opts.state_dir,
                &protocol::line(&with_pid),
            );
        }
        match self.container.delete(true) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("muelle-shim: warning: {w}");
                }
            }
            Err(e) => eprintln!("muelle-shim: delete container: {e}"),
        }
        // Exec'd processes died with the container (its cgroup was emptied): collect them.
        let deadline = Instant::now() + Duration::from_millis(500);
        while self.execs.iter().any(|e| e.exit_code.is_none()) && Instant::now() < deadline {
            self.reap();
            std::thread::sleep(Duration::from_millis(5));
        }
        while let Some(e) = self.execs.first() {
            let c = e.exit_code.unwrap_or(128 + libc::SIGKILL);
            self.end_exec(0, c);
        }
        if let Some(r) = record {
            let wait_line = protocol::line(&r);
            let mut last = Vec::new();
            frame::push_exit(&mut last, code);
            for c in self.clients.iter_mut() {
                match c.role {
                    Role::Wait => c.answer_and_hold(&wait_line),
                    Role::Attach { .. } => c.end_with(&last),
                    _ => continue,
                }
            }
            // Streams end now; waiters are closed after the unmounts, which is how the
            // daemon knows it may mount on the same paths again.
            self.clients.retain(|c| !c.dead);
        }
        for m in &self.opts.unmount {
            unmount(m);
        }
        for c in self.clients.iter_mut().filter(|c| c.role == Role::Done) {
            c.close();
        }
        self.finished = Some(Instant::now());
    }
}
