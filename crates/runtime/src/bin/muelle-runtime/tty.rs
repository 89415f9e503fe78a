//! The console of a foreground `run` when the process has a terminal and no console socket
//! was given: our terminal goes raw and bytes are copied between it and the pty master.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::Result;
use muelle_runtime::{sys, Container};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::termios::{tcgetattr, tcsetattr, OptionalActions};

/// Restores the terminal's settings when dropped.
struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let Ok(t) = tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = t.clone();
        raw.make_raw();
        let _ = tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw);
        RawMode { saved: Some(t) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, t);
        }
    }
}

fn copy_winsize(master: &OwnedFd) {
    if let Ok((rows, cols)) = sys::get_winsize(0) {
        let _ = sys::set_winsize(master.as_raw_fd(), rows, cols);
    }
}

/// Copies stdin → master and master → stdout until the init exits; returns its exit code.
pub fn proxy(c: &Container, master: OwnedFd) -> Result<i32> {
    let _raw = RawMode::enter();
    copy_winsize(&master);
    let pid = c.saved.pid;
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        for s in sys::take_pending() {
            if s == libc::SIGWINCH {
                copy_winsize(&master);
            } else if s != libc::SIGCHLD {
                let _ = sys::kill(pid, s);
            }
        }
        let mut fds = vec![PollFd::new(&master, PollFlags::IN)];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        let n = match poll(&mut fds, Some(&timeout)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => 0,
            Err(e) => return Err(e.into()),
        };
        let master_ready = fds[0].revents();
        let stdin_ready = fds
            .get(1)
            .map(|f| f.revents())
            .unwrap_or(PollFlags::empty());
        drop(fds);
        if n > 0 && master_ready.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            match rustix::io::read(&master, &mut buf) {
                Ok(0) | Err(_) => {}
                Ok(k) => {
                    let _ = write_all(1, &buf[..k]);
                }
            }
        }
        if n > 0 && stdin_ready.intersects(PollFlags::IN | PollFlags::HUP) {
            match rustix::io::read(&stdin, &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(k) => {
                    let _ = write_all(master.as_raw_fd(), &buf[..k]);
                }
            }
        }
        if let Ok(Some((_, status))) = sys::waitpid(pid, libc::WNOHANG) {
            // Drain what the process wrote last.
            while let Ok(k) = rustix::io::read(&master, &mut buf) {
                if k == 0 {
                    break;
                }
                let _ = write_all(1, &buf[..k]);
                let mut fds = [PollFd::new(&master, PollFlags::IN)];
                if !matches!(poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0)
                {
                    break;
                }
            }
            return Ok(sys::exit_code(status));
        }
    }
}

fn write_all(fd: i32, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = sys::raw_write(fd, data)?;
        data = &data[n..];
    }
    Ok(())
}
