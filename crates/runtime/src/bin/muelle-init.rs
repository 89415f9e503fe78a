//! `muelle-init`: a tiny init for containers (the role of tini, injected by `--init`).
//!
//! It runs its arguments as a child, forwards the signals it receives to that child (or its
//! process group with `-g`), reaps every zombie re-parented to it, and exits with the child's
//! status (128+signal when killed), so a container whose program does not reap or handle
//! signals still stops cleanly.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use muelle_runtime::sys;

fn usage() -> ExitCode {
    eprintln!("usage: muelle-init [-g] [-s] [--] PROGRAM [ARGS...]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut group = false;
    while let Some(a) = args.first() {
        match a.as_str() {
            "-g" => group = true,
            "-s" => {
                // Not PID 1: become a subreaper so orphans still come to us.
                if let Err(e) = sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0) {
                    eprintln!("muelle-init: become subreaper: {e}");
                }
            }
            "--" => {
                args.remove(0);
                break;
            }
            s if s.starts_with('-') => return usage(),
            _ => break,
        }
        args.remove(0);
    }
    let Some((prog, rest)) = args.split_first() else {
        return usage();
    };
    let forwarded: Vec<i32> = (1..32)
        .filter(|s| {
            ![
                libc::SIGKILL,
                libc::SIGSTOP,
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGILL,
                libc::SIGFPE,
            ]
            .contains(s)
        })
        .collect();
    if let Err(e) = sys::catch_signals(&forwarded) {
        eprintln!("muelle-init: install signal handlers: {e}");
        return ExitCode::from(1);
    }
    let mut cmd = Command::new(prog);
    cmd.args(rest);
    if group {
        cmd.process_group(0);
    }
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("muelle-init: exec {prog}: {e}");
            return ExitCode::from(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    let pid = child.id() as i32;
    let target = if group { -pid } else { pid };
    loop {
        for s in sys::take_pending() {
            if s != libc::SIGCHLD {
                let _ = sys::kill(target, s);
            }
        }
        loop {
            match sys::waitpid(-1, libc::WNOHANG) {
                Ok(Some((p, status))) if p == pid => {
                    // Reap whatever else is already dead, then leave with the child's status.
                    while let Ok(Some(_)) = sys::waitpid(-1, libc::WNOHANG) {}
                    return ExitCode::from(sys::exit_code(status) as u8);
                }
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => break,
            }
        }
        // Interrupted at once by any caught signal, SIGCHLD included.
        let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        });
    }
}
