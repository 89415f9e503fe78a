//! The shim's server: one container's supervisor from its creation to its exit record
//! (PROTOCOL.md). [`serve`] detaches from the daemon, creates the container, answers on the
//! ready pipe and runs the poll loop until the container's end has been told to everyone.
//!
//! The state lives in one [`Shim`]; each concept's part of it is in its own file: the poll
//! loop, the clients of `shim.sock` (roles, back-pressure, stdin), the processes' stdio,
//! the requests, exec'd processes, and the exit.

mod clients;
mod exec;
mod exit;
mod io;
mod poll_loop;
mod requests;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use muelle_runtime::sys::{self, Fork};
use muelle_runtime::{sealed, spec, Container, CreateOptions};

use crate::args::{LogDriver, Options};
use crate::error::ShimError;
use crate::frame;
use crate::logfile::{FailureReport, JsonFileLog, FAILURE_REPORT_EVERY};
use crate::protocol::{self, Ready};
use clients::Client;
use exec::Exec;
use exit::Exited;
use io::{dup, ConsoleSocket, Owner, Pipes, Source, Stdio};

/// One read from a process's output; also the largest frame payload.
const READ_BUF: usize = 16 * 1024;
/// How long output is still drained after a process exited while something else holds the
/// pipes open.
const DRAIN: Duration = Duration::from_secs(1);
/// How long the last bytes (255 frames, wait replies) may take to reach slow clients.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

/// Runs a shim for `opts` as the daemon starts it (stdout the ready pipe): returns the
/// process's exit status.
pub fn serve(opts: Options) -> i32 {
    // Started through a descriptor of a read-only view of the binary (the daemon's way of
    // sparing the re-execution below), the kernel names the process after the descriptor's
    // number: `ps`, `pgrep` and the container's init before its exec should say what it is.
    let _ = rustix::thread::set_name(c"muelle-shim");
    // Before anything of the container exists: the init and exec'd processes are forked
    // from this binary, so it must be a read-only view (CVE-2019-5736), as in the runtime.
    if let Err(e) = sealed::ensure_sealed() {
        let _ = std::io::stdout().write_all(&protocol::error_line(&e.to_string()));
        return 1;
    }
    match sys::fork() {
        Ok(Fork::Parent(_)) => sys::exit_now(0),
        Ok(Fork::Child) => {}
        Err(e) => {
            let _ = std::io::stdout().write_all(&protocol::error_line(&format!("fork: {e}")));
            return 1;
        }
    }
    // Out of the daemon's session and process group: its signals are not ours.
    let _ = sys::setsid();
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM, libc::SIGPIPE] {
        let _ = sys::ignore_signal(sig);
    }
    match Shim::start(opts) {
        Some(mut shim) => {
            shim.run();
            0
        }
        None => 1,
    }
}

/// Everything one shim holds.
pub(crate) struct Shim {
    opts: Options,
    container: Container,
    init_pid: i32,
    init_pidfd: Option<OwnedFd>,
    started: bool,
    exited: Option<Exited>,
    finished: Option<Instant>,
    sources: Vec<Source>,
    stdin: Option<OwnedFd>,
    log: Option<JsonFileLog>,
    /// Log writes fail for every chunk of output while the disk is full: reported
    /// rate-limited, so `shim.log` (in the exec root) stays small.
    log_failures: FailureReport,
    listener: UnixListener,
    clients: Vec<Client>,
    execs: Vec<Exec>,
    buf: Box<[u8]>,
    state_dir: File,
    stdio: Stdio,
    exec_seq: u64,
}

impl Shim {
    /// Creates the container and the socket, answers on the ready pipe (fd 1); None when
    /// the shim must exit.
    fn start(opts: Options) -> Option<Shim> {
        let ready = match std::io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("muelle-shim: ready pipe: {e}");
                return None;
            }
        };
        let mut ready = File::from(ready);
        match Shim::create(&opts) {
            Ok(shim) => {
                let line = protocol::line(&Ready { pid: shim.init_pid });
                let _ = ready.write_all(&line);
                Some(shim)
            }
            Err(e) => {
                for m in &opts.unmount {
                    exit::unmount(m);
                }
                let _ = std::fs::remove_file(opts.state_dir.join("shim.pid"));
                let _ = std::fs::remove_file(opts.state_dir.join("shim.sock"));
                let _ = ready.write_all(&protocol::error_line(&e.to_string()));
                None
            }
        }
    }

    fn create(opts: &Options) -> Result<Shim, ShimError> {
        let devnull = File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| ShimError::path("open", "/dev/null", e))?;
        let stdio = Stdio {
            devnull: OwnedFd::from(devnull),
            stderr: std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| ShimError::io("dup stderr", e))?,
        };
        // From here on fds 0 and 1 are /dev/null: the ready pipe is written through its
        // dup, and no process forked later may hold the daemon's pipe as its stdout.
        stdio.restore();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&opts.state_dir)
            .map_err(|e| ShimError::path("create", &opts.state_dir, e))?;
        let state_dir =
            File::open(&opts.state_dir).map_err(|e| ShimError::path("open", &opts.state_dir, e))?;
        muelle_runtime::state::write_atomic(
            &opts.state_dir.join("shim.pid"),
            std::process::id().to_string().as_bytes(),
        )?;
        let log = match (opts.log_driver, &opts.log_path) {
            (LogDriver::JsonFile, Some(p)) => Some(JsonFileLog::open(
                p,
                opts.log_max_size,
                opts.log_max_file,
                opts.log_compress,
            )?),
            _ => None,
        };
        let spec = spec::load_bundle(&opts.bundle)?;
        let console = if opts.tty {
            Some(ConsoleSocket::bind(
                &state_dir,
                &opts.state_dir,
                "console.sock",
            )?)
        } else {
            None
        };
        let pipes = if opts.tty {
            None
        } else {
            Some(Pipes::new(opts.stdin, &stdio.devnull)?)
        };
        let copts = CreateOptions {
            id: opts.id.clone(),
            bundle: opts.bundle.clone(),
            root: opts.runtime_root.clone(),
            console_socket: console.as_ref().map(|c| c.short.clone()),
            subreaper: true,
            start_immediately: false,
            ..Default::default()
        };
        if let Some(p) = &pipes {
            stdio.set([p.child[0].as_fd(), p.child[1].as_fd(), p.child[2].as_fd()])?;
        }
        let created = Container::create_from(&copts, spec);
        stdio.restore();
        let container = created?;
        let mut sources = Vec::new();
        let stdin = match (pipes, &console) {
            (Some(p), _) => {
                sources.push(Source::new(
                    p.stdout,
                    frame::STDOUT,
                    Owner::Container,
                    false,
                ));
                sources.push(Source::new(
                    p.stderr,
                    frame::STDERR,
                    Owner::Container,
                    false,
                ));
                p.stdin
            }
            (None, Some(c)) => {
                let master = match c.receive() {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = container.delete(true);
                        return Err(e);
                    }
                };
                let stdin = if opts.stdin {
                    Some(dup(&master)?)
                } else {
                    None
                };
                sources.push(Source::new(master, frame::STDOUT, Owner::Container, true));
                stdin
            }
            (None, None) => None,
        };
        drop(console);
        let init_pid = container.saved.pid;
        let listen = || -> Result<UnixListener, ShimError> {
            let _ = std::fs::remove_file(opts.state_dir.join("shim.sock"));
            let l =
                UnixListener::bind(format!("/proc/self/fd/{}/shim.sock", state_dir.as_raw_fd()))
                    .map_err(|e| {
                        ShimError::path("listen on", opts.state_dir.join("shim.sock"), e)
                    })?;
            l.set_nonblocking(true)
                .map_err(|e| ShimError::io("shim.sock", e))?;
            Ok(l)
        };
        let listener = match listen() {
            Ok(l) => l,
            Err(e) => {
                let _ = container.delete(true);
                return Err(e);
            }
        };
        let init_pidfd = exec::pidfd(init_pid);
        Ok(Shim {
            opts: opts.clone(),
            container,
            init_pid,
            init_pidfd,
            started: false,
            exited: None,
            finished: None,
            sources,
            stdin,
            log,
            listener,
            clients: Vec::new(),
            execs: Vec::new(),
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            state_dir,
            stdio,
            exec_seq: 0,
            log_failures: FailureReport::new(FAILURE_REPORT_EVERY),
        })
    }
}
