//! muelle-shim: one per started container. See the crate docs and PROTOCOL.md.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use muelle_runtime::state::now_rfc3339;
use muelle_runtime::sys::{self, Fork};
use muelle_runtime::{sealed, spec, Container, CreateOptions, ExecOptions};
use muelle_supervisor::args::{LogDriver, Options};
use muelle_supervisor::frame;
use muelle_supervisor::logfile::{FailureReport, JsonFileLog, FAILURE_REPORT_EVERY};
use muelle_supervisor::protocol::{self, ExitRecord, Request, MAX_REQUEST};
use muelle_supervisor::ShimError;
use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;

/// One read from a process's output; also the largest frame payload.
const READ_BUF: usize = 16 * 1024;
/// A client whose unsent output reaches this stops the reading of the sources it receives
/// (backpressure, as Docker's attach): memory stays bounded and nothing is dropped.
const HIGH_WATER: usize = 32 * 1024;
/// How long output is still drained after a process exited while something else holds the
/// pipes open.
const DRAIN: Duration = Duration::from_secs(1);
/// How long the last bytes (255 frames, wait replies) may take to reach slow clients.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = std::io::stdout().write_all(&protocol::error_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    // Before anything of the container exists: the init and exec'd processes are forked
    // from this binary, so it must be a read-only view (CVE-2019-5736), as in the runtime.
    if let Err(e) = sealed::ensure_sealed() {
        let _ = std::io::stdout().write_all(&protocol::error_line(&e.to_string()));
        std::process::exit(1);
    }
    match sys::fork() {
        Ok(Fork::Parent(_)) => sys::exit_now(0),
        Ok(Fork::Child) => {}
        Err(e) => {
            let _ = std::io::stdout().write_all(&protocol::error_line(&format!("fork: {e}")));
            std::process::exit(1);
        }
    }
    // Out of the daemon's session and process group: its signals are not ours.
    let _ = sys::setsid();
    for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM, libc::SIGPIPE] {
        let _ = sys::ignore_signal(sig);
    }
    let code = match Shim::start(opts) {
        Some(mut shim) => {
            shim.run();
            0
        }
        None => 1,
    };
    std::process::exit(code);
}

/// Who produced a stream of output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    Container,
    Exec(i32),
}

/// A pipe or pty master the shim reads a process's output from.
struct Source {
    fd: OwnedFd,
    stream: u8,
    owner: Owner,
    tty: bool,
    eof: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
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

struct Client {
    conn: UnixStream,
    role: Role,
    /// The request line while reading it, then stdin bytes not yet written to the process.
    inbuf: Vec<u8>,
    out: Vec<u8>,
    input_done: bool,
    close_after_flush: bool,
    dead: bool,
}

impl Client {
    fn reply(&mut self, line: Vec<u8>) {
        self.out.extend_from_slice(&line);
    }

    fn wants_read(&self) -> bool {
        match self.role {
            Role::Request => true,
            _ => !self.input_done && self.inbuf.is_empty(),
        }
    }

    /// Sends what it can without blocking; a client that went away is marked dead.
    fn flush(&mut self) {
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
    fn receives(&self, owner: Owner, stream: u8) -> bool {
        match (self.role, owner) {
            (Role::Attach { stdout, stderr, .. }, Owner::Container) => {
                (stream == frame::STDOUT && stdout) || (stream == frame::STDERR && stderr)
            }
            (Role::Exec { pid, .. }, Owner::Exec(p)) => pid == p,
            _ => false,
        }
    }
}

/// An exec'd process.
struct Exec {
    pid: i32,
    pidfd: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
    exit_code: Option<i32>,
    exited_at: Option<Instant>,
}

struct Exited {
    code: i32,
    finished_at: String,
    at: Instant,
}

/// The stdio the shim's own fds 0, 1, 2 are restored to after a create or exec, which
/// hand them to the new process.
struct Stdio {
    devnull: OwnedFd,
    stderr: OwnedFd,
}

impl Stdio {
    fn set(&self, fds: [BorrowedFd<'_>; 3]) -> Result<(), ShimError> {
        for (n, fd) in fds.iter().enumerate() {
            sys::dup2(fd.as_raw_fd(), n as i32).map_err(|e| ShimError::io("dup2 stdio", e))?;
        }
        Ok(())
    }

    fn restore(&self) {
        let _ = sys::dup2(self.devnull.as_raw_fd(), 0);
        let _ = sys::dup2(self.devnull.as_raw_fd(), 1);
        let _ = sys::dup2(self.stderr.as_raw_fd(), 2);
    }
}

/// Child and parent ends of the stdio of a new process.
struct Pipes {
    child: [OwnedFd; 3],
    stdin: Option<OwnedFd>,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ShimError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| ShimError::io("pipe", e))
}

fn nonblock(fd: &OwnedFd) -> Result<(), ShimError> {
    rustix::io::ioctl_fionbio(fd, true).map_err(|e| ShimError::io("set O_NONBLOCK", e))
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, ShimError> {
    fd.try_clone().map_err(|e| ShimError::io("dup", e))
}

impl Pipes {
    fn new(stdin: bool, devnull: &OwnedFd) -> Result<Pipes, ShimError> {
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
struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    short: PathBuf,
}

impl ConsoleSocket {
    fn bind(dir_fd: &File, dir: &Path, name: &str) -> Result<ConsoleSocket, ShimError> {
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
    fn receive(&self) -> Result<OwnedFd, ShimError> {
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

fn exit_code_json(code: i32) -> Vec<u8> {
    format!("{{\"exit_code\":{code}}}").into_bytes()
}

/// Reports the outcome of a log write, rate-limited (see `Shim::log_failures`).
fn report_log_write(report: &mut FailureReport, r: Result<(), ShimError>) {
    let line = match r {
        Ok(()) => report.recovered(),
        Err(e) => report.failed(Instant::now(), &e),
    };
    if let Some(line) = line {
        eprintln!("muelle-shim: {line}");
    }
}

/// The exit record's name in the state dir, when the exit file could not be written.
const EXIT_FALLBACK: &str = "exit.json";

/// Temp file, fsync, rename, fsync of the directory: the exit record must survive a crash
/// of the machine, since it is all the daemon has left of the container's end.
fn write_durable(path: &Path, data: &[u8]) -> Result<(), ShimError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("exit"),
        std::process::id()
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| ShimError::path("create", &tmp, e))
        .and_then(|mut f| {
            f.write_all(data)
                .and_then(|()| f.sync_all())
                .map_err(|e| ShimError::path("write", &tmp, e))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| ShimError::path("rename", &tmp, e)));
    if let Err(e) = written {
        // A torn temporary file on a full disk would only hold on to space.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn unmount(path: &Path) {
    if let Err(e) = rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH) {
        if e != Errno::INVAL && e != Errno::NOENT {
            eprintln!("muelle-shim: unmount {}: {e}", path.display());
        }
    }
}

struct Shim {
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

enum Tag {
    Listener,
    Pidfd,
    Source(usize),
    ContainerStdin,
    ExecStdin(usize),
    Client(usize),
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
                let line = protocol::line(&serde_json::json!({ "pid": shim.init_pid }));
                let _ = ready.write_all(&line);
                Some(shim)
            }
            Err(e) => {
                for m in &opts.unmount {
                    unmount(m);
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
            (LogDriver::JsonFile, Some(p)) => {
                Some(JsonFileLog::open(p, opts.log_max_size, opts.log_max_file)?)
            }
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
                sources.push(Source {
                    fd: p.stdout,
                    stream: frame::STDOUT,
                    owner: Owner::Container,
                    tty: false,
                    eof: false,
                });
                sources.push(Source {
                    fd: p.stderr,
                    stream: frame::STDERR,
                    owner: Owner::Container,
                    tty: false,
                    eof: false,
                });
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
                sources.push(Source {
                    fd: master,
                    stream: frame::STDOUT,
                    owner: Owner::Container,
                    tty: true,
                    eof: false,
                });
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
        let init_pidfd = rustix::process::Pid::from_raw(init_pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
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

    fn run(&mut self) {
        // The container is set up: what parsing its spec allocated is free now.
        sys::release_free_memory();
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

    fn blocked(&self, s: &Source) -> bool {
        self.clients
            .iter()
            .any(|c| c.out.len() >= HIGH_WATER && c.receives(s.owner, s.stream))
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
            if !s.eof && !self.blocked(s) {
                fds.push(PollFd::new(&s.fd, r#in));
                tags.push(Tag::Source(i));
            }
        }
        let pending_for = |target: Option<i32>| {
            self.clients.iter().any(|c| {
                !c.inbuf.is_empty()
                    && match (c.role, target) {
                        (Role::Attach { stdin: true, .. }, None) => true,
                        (Role::Exec { pid, stdin: true }, Some(p)) => pid == p,
                        _ => false,
                    }
            })
        };
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
                    self.clients.push(Client {
                        conn,
                        role: Role::Request,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        input_done: false,
                        close_after_flush: false,
                        dead: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Collects every child that exited: the init, exec'd processes, and anything else
    /// reparented to this subreaper.
    fn reap(&mut self) {
        loop {
            match sys::waitpid(-1, libc::WNOHANG) {
                Ok(Some((pid, status))) => {
                    let code = sys::exit_code(status);
                    if pid == self.init_pid && self.exited.is_none() {
                        self.exited = Some(Exited {
                            code,
                            finished_at: now_rfc3339(),
                            at: Instant::now(),
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

    fn read_source(&mut self, i: usize) {
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

    fn client_event(&mut self, i: usize, rev: PollFlags) {
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
                    c.reply(protocol::error_line("request line too long"));
                    c.role = Role::Done;
                    c.close_after_flush = true;
                    c.flush();
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
    fn stdin_target(&self, i: usize) -> Option<Option<i32>> {
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
    fn client_stdin(&mut self, i: usize) {
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

    fn flush_stdin(&mut self, target: Option<i32>) {
        for i in 0..self.clients.len() {
            if self.stdin_target(i) == Some(target) {
                self.client_stdin(i);
            }
        }
    }

    fn exit_record(&self) -> Option<ExitRecord> {
        self.exited.as_ref().map(|e| ExitRecord {
            exit_code: e.code,
            finished_at: e.finished_at.clone(),
            oom_killed: false,
            pid: None,
        })
    }

    fn handle(&mut self, i: usize, line: &[u8]) {
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
        let ok = || protocol::line(&serde_json::json!({"ok": true}));
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
            Request::Status => Ok(Some(protocol::line(&serde_json::json!({
                "pid": self.init_pid,
                "running": self.started && self.exited.is_none(),
            })))),
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
                    frame::push(&mut line, frame::EXIT, &exit_code_json(code));
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
                Ok(Some(protocol::line(
                    &serde_json::json!({"ok": true, "pid": pid}),
                )))
            }
        }
    }

    fn set_role(&mut self, i: usize, role: Role) {
        if let Some(c) = self.clients.get_mut(i) {
            c.role = role;
        }
    }

    fn exec(
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
        let pidfd = rustix::process::Pid::from_raw(pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        let mut exec = Exec {
            pid,
            pidfd,
            stdin: None,
            exit_code: None,
            exited_at: None,
        };
        match (pipes, console) {
            (Some(p), _) => {
                exec.stdin = p.stdin;
                for (fd, stream) in [(p.stdout, frame::STDOUT), (p.stderr, frame::STDERR)] {
                    self.sources.push(Source {
                        fd,
                        stream,
                        owner: Owner::Exec(pid),
                        tty: false,
                        eof: false,
                    });
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
                self.sources.push(Source {
                    fd: master,
                    stream: frame::STDOUT,
                    owner: Owner::Exec(pid),
                    tty: true,
                    eof: false,
                });
            }
            (None, None) => {}
        }
        self.execs.push(exec);
        Ok(pid)
    }

    /// Ends the stream of every exec'd process that exited and whose output is drained.
    fn finish_execs(&mut self) {
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

    fn end_exec(&mut self, k: usize, code: i32) {
        let e = self.execs.remove(k);
        let owner = Owner::Exec(e.pid);
        self.sources.retain(|s| s.owner != owner);
        for c in self.clients.iter_mut() {
            if matches!(c.role, Role::Exec { pid, .. } if pid == e.pid) {
                frame::push(&mut c.out, frame::EXIT, &exit_code_json(code));
                c.role = Role::Done;
                c.close_after_flush = true;
                c.flush();
            }
        }
    }

    /// The container's end (PROTOCOL.md, "Exit"): log, exit file, runtime delete, unmounts,
    /// then the waiters and streams get their answers.
    fn finish(&mut self) {
        let Some(ex) = self.exited.as_ref() else {
            return;
        };
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
        let mut record = self.exit_record();
        if let Some(r) = &mut record {
            r.pid = Some(self.init_pid);
            let line = protocol::line(r);
            if let Err(e) = write_durable(&self.opts.exit_file, &line) {
                eprintln!("muelle-shim: exit file: {e}");
                // The data root may be full. The state dir is in the exec root, where the
                // daemon looks next, so a daemon restarted later still learns the code.
                let fallback = self.opts.state_dir.join(EXIT_FALLBACK);
                if let Err(e) = write_durable(&fallback, &line) {
                    eprintln!("muelle-shim: exit file: {e}");
                }
            }
        }
        match self.container.delete(true) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("muelle-shim: warning: {w}");
                }
            }
            Err(e) => eprintln!("muelle-shim: delete container: {e}"),
        }
        for m in &self.opts.unmount {
            unmount(m);
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
        if let Some(mut r) = record {
            r.pid = None;
            let wait_line = protocol::line(&r);
            for c in self.clients.iter_mut() {
                match c.role {
                    Role::Wait => c.reply(wait_line.clone()),
                    Role::Attach { .. } => {
                        frame::push(&mut c.out, frame::EXIT, &exit_code_json(code))
                    }
                    _ => continue,
                }
                c.role = Role::Done;
                c.close_after_flush = true;
                c.flush();
            }
        }
        self.finished = Some(Instant::now());
    }
}
