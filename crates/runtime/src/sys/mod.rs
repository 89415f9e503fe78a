//! The syscall layer: the only module of the runtime with `unsafe`.
//!
//! Each wrapper turns a raw libc call into a `std::io::Result`, so that everything above
//! works with safe, typed values. Where rustix offers a safe call it is used directly by
//! the callers instead of being wrapped here.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

mod bpf;
mod clone;
pub use clone::*;
mod pages;
pub use bpf::*;
pub use pages::release_file_pages;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn check_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Leave the process at once, without running destructors or atexit handlers: used by forked
/// children that must not flush or drop state they share with the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// unshare(2).
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall taking an integer.
    check(unsafe { libc::unshare(flags) }).map(drop)
}

/// A fresh network namespace for the calling thread only (unshare(CLONE_NEWNET) affects the
/// calling task, not its sibling threads): the way to make a namespace that outlives nothing
/// but the thread, until something (a bind mount of its nsfs file) holds it.
pub fn unshare_net_thread() -> io::Result<()> {
    unshare(libc::CLONE_NEWNET)
}

/// setns(2).
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is a valid borrowed descriptor for the duration of the call.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// mount(2) with raw flags and optional data.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |s: Option<&CStr>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is either null or a valid NUL-terminated string that outlives the call.
    check(unsafe {
        libc::mount(
            p(source),
            target.as_ptr(),
            p(fstype),
            flags,
            p(data) as *const libc::c_void,
        )
    })
    .map(drop)
}

/// umount2(2).
pub fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: target is a valid C string.
    check(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

/// sethostname(2).
pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes.
    check(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// setdomainname(2).
pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes.
    check(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// setresuid(2) for the calling thread only (the raw syscall, not glibc's all-threads broadcast).
pub fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check_long(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

/// setresgid(2), raw syscall.
pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check_long(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

/// setgroups(2), raw syscall.
pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: pointer and length describe the slice.
    check_long(unsafe { libc::syscall(libc::SYS_setgroups, gids.len(), gids.as_ptr()) }).map(drop)
}

/// prctl(2) with integer arguments.
pub fn prctl(option: libc::c_int, a2: libc::c_ulong, a3: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: only integer-argument prctl options are passed through this wrapper.
    check(unsafe { libc::prctl(option, a2, a3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): adds a classic-BPF filter to the calling
/// thread (libseccomp's filters go through libseccomp; this is for programs built here).
/// Not `seccomp_filter_flags(program, 0)`: the enosys stub is loaded under the profile's
/// filter, which may refuse seccomp(2) but allow prctl (runtime test
/// `syscalls_above_the_profile_get_enosys`).
pub fn seccomp_filter(program: &[libc::sock_filter]) -> io::Result<()> {
    let len =
        u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `len` initialised instructions that outlive the call; the kernel
    // copies the program and never writes through the pointer.
    check(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    })
    .map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, program): a classic BPF filter with the given
/// SECCOMP_FILTER_FLAG_* (TSYNC, LOG, SPEC_ALLOW), as libseccomp's load passes them.
pub fn seccomp_filter_flags(program: &[libc::sock_filter], flags: u32) -> io::Result<()> {
    let len =
        u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `len` initialised instructions that outlive the call; the kernel
    // copies the program and never writes through the pointer.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })
    .map(drop)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The calling thread's (effective, permitted, inheritable) capability masks.
pub fn capget() -> io::Result<(u64, u64, u64)> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: hdr and data are valid, properly laid out (v3 needs two data structs).
    check_long(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |lo: u32, hi: u32| (u64::from(hi) << 32) | u64::from(lo);
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// capset(2) of the calling thread.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = |v: u64| (v & 0xffff_ffff) as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        CapData {
            effective: lo(effective),
            permitted: lo(permitted),
            inheritable: lo(inheritable),
        },
        CapData {
            effective: hi(effective),
            permitted: hi(permitted),
            inheritable: hi(inheritable),
        },
    ];
    // SAFETY: hdr and data are valid for the v3 ABI (two data structs).
    check_long(unsafe {
        libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr())
    })
    .map(drop)
}

/// prlimit(2) on the calling process.
pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is a valid rlimit64; the old-limit pointer is null.
    check(unsafe { libc::prlimit64(0, resource as _, &lim, std::ptr::null_mut()) }).map(drop)
}

/// personality(2).
pub fn personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: plain syscall with an integer argument.
    check(unsafe { libc::personality(persona) }).map(drop)
}

/// umask(2); returns the old mask.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: plain syscall with an integer argument; cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) }
}

/// kill(2).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Marks every fd from `first` up as close-on-exec, so nothing of the runtime leaks into the
/// container's process across execve (the leaked-fd class of runc CVEs, e.g. CVE-2024-21626).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Old kernels: walk /proc/self/fd.
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
        else {
            continue;
        };
        if fd >= first as RawFd {
            // SAFETY: fcntl on a possibly stale fd just fails with EBADF.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Closes every descriptor from 3 up except `keep` (sorted or not). A process that is about
/// to become visible inside a container calls this first: whatever the caller had open (a
/// supervisor's state directory, a daemon's cgroup or /proc handles, an inherited host
/// directory) must not be reachable through /proc/PID/fd or ptrace (CVE-2024-21626 class).
pub fn close_fds_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&fd| fd >= 3)
        .map(|&fd| fd as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo: u32 = 3;
    let mut ranges = Vec::with_capacity(keep.len() + 1);
    for &k in &keep {
        if k > lo {
            ranges.push((lo, k - 1));
        }
        lo = k + 1;
    }
    ranges.push((lo, u32::MAX));
    for (first, last) in ranges {
        // SAFETY: close_range takes integers; closing descriptors the Rust side still owns
        // is avoided by the caller passing every fd it keeps using in `keep`.
        let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
        if r != 0 {
            return close_fds_walk(&keep);
        }
    }
    Ok(())
}

/// [`close_fds_except`] for kernels without close_range (before 5.9).
fn close_fds_walk(keep: &[u32]) -> io::Result<()> {
    let mut open = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        if let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        {
            open.push(fd);
        }
    }
    for fd in open {
        if fd >= 3 && keep.binary_search(&fd).is_err() {
            // SAFETY: the fd is not one the caller keeps; the directory-listing fd is
            // already closed, so a stale number just fails with EBADF.
            unsafe { libc::close(fd as RawFd) };
        }
    }
    Ok(())
}

/// Brings the loopback interface of the current network namespace up (SIOCSIFFLAGS with
/// IFF_UP), as runc does for every network namespace it creates: a server bound to
/// 127.0.0.1 inside the container must be reachable from the container itself.
pub fn loopback_up() -> io::Result<()> {
    let sock = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags into `req`, which outlives
    // the call.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: the union's flags member is the one SIOCGIFFLAGS filled in.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    if flags & libc::IFF_UP as libc::c_short != 0 {
        return Ok(());
    }
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS only reads `req`.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) }).map(drop)
}

/// Gives the heap's free pages back to the kernel (malloc_trim). A long-lived process that
/// parsed something large once (the supervisor and a spec with Docker's seccomp profile:
/// ~600 KiB of freed parse buffers) otherwise keeps them as private memory for its life.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only inspects and shrinks the allocator's own free lists.
    unsafe { libc::malloc_trim(0) };
}

/// Gives the kernel back the main thread's stack pages below the caller's frame, which a
/// deep call touched once (the supervisor's container setup: ~70 KiB of its private memory
/// for the container's whole life otherwise). Call it from a shallow frame of the main
/// thread; pages touched again later come back zeroed, as a fresh stack's do.
pub fn release_unused_stack() {
    /// Left in place below the caller: this function's own frames, the red zone, and the
    /// next calls of a loop.
    const MARGIN: usize = 16 * 1024;
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let Some(low) = maps
        .lines()
        .filter(|l| l.ends_with("[stack]"))
        .filter_map(|l| l.split(['-', ' ']).next())
        .find_map(|a| usize::from_str_radix(a, 16).ok())
    else {
        return;
    };
    // SAFETY: sysconf only reads a system constant.
    let Ok(page) = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) else {
        return;
    };
    if !page.is_power_of_two() {
        return;
    }
    let high = here.saturating_sub(MARGIN) & !(page - 1);
    // Not the main thread's stack (or too shallow to matter): nothing to give back.
    if high <= low || here - low > 64 << 20 {
        return;
    }
    // SAFETY: [low, high) is the part of this thread's own stack mapping that lies below
    // the live frames (MARGIN under this one): no reference points into it, and
    // MADV_DONTNEED on private anonymous memory only makes its pages read as zero later.
    unsafe { libc::madvise(low as *mut libc::c_void, high - low, libc::MADV_DONTNEED) };
}

/// Clears close-on-exec on `fd` so it is inherited (for --preserve-fds and LISTEN_FDS).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer descriptor; fails with EBADF if it is not open.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop)
}

/// dup2(2) onto a raw descriptor number (stdio of the container process).
pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: dup2 on integer descriptors; on success `new` refers to `old`'s file.
    check(unsafe { libc::dup2(old, new) }).map(drop)
}

/// execve(2): only returns on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: path, argv and envp are NUL-terminated arrays of valid C strings that live
    // across the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// fexecve-like execveat(fd, "", AT_EMPTY_PATH): only returns on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    let empty = c"";
    // SAFETY: valid fd, empty path with AT_EMPTY_PATH, NUL-terminated argument arrays.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            empty.as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// memfd_create(2) with close-on-exec and sealing allowed.
pub fn memfd_create(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: name is a valid C string.
    let fd = check(unsafe {
        libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: the kernel just returned this new descriptor, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Applies every write/grow/shrink seal to a memfd, making its content immutable.
pub fn seal_all(fd: BorrowedFd<'_>) -> io::Result<()> {
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl with integer arguments on a valid descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }).map(drop)
}

/// The seals on a memfd (0 or an error for anything else).
pub fn get_seals(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: fcntl with integer arguments on a valid descriptor.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })
}

/// ioctl(TIOCSCTTY): make the terminal on `fd` the controlling terminal.
pub fn set_controlling_terminal(fd: RawFd) -> io::Result<()> {
    // SAFETY: ioctl with an integer argument on a descriptor.
    check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
}

/// ioctl(TIOCSWINSZ).
pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: ws is a valid winsize struct.
    check(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) }).map(drop)
}

/// ioctl(TIOCGWINSZ).
pub fn get_winsize(fd: RawFd) -> io::Result<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: ws is a valid, writable winsize struct.
    check(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) })?;
    Ok((ws.ws_row, ws.ws_col))
}

/// setsid(2).
pub fn setsid() -> io::Result<()> {
    // SAFETY: no arguments.
    check(unsafe { libc::setsid() }).map(drop)
}

/// Writes one byte to an arbitrary fd number without taking ownership of it.
pub fn raw_write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Installs a handler that does nothing for `sig`, so that a blocking call gets EINTR and
/// the signal is noted by [`take_pending`]; used by `run` and `exec` to forward signals.
pub fn catch_signals(sigs: &[i32]) -> io::Result<()> {
    for &sig in sigs {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler is an
        // async-signal-safe function that only stores to an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = note_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            check(libc::sigaction(sig, &sa, std::ptr::null_mut()))?;
        }
    }
    Ok(())
}

static PENDING: [std::sync::atomic::AtomicBool; 65] =
    [const { std::sync::atomic::AtomicBool::new(false) }; 65];

extern "C" fn note_signal(sig: libc::c_int) {
    if let Some(slot) = usize::try_from(sig).ok().and_then(|s| PENDING.get(s)) {
        slot.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Signals caught by [`catch_signals`] since the last call.
pub fn take_pending() -> Vec<i32> {
    let mut out = Vec::new();
    for (i, slot) in PENDING.iter().enumerate() {
        if slot.swap(false, std::sync::atomic::Ordering::SeqCst) {
            out.push(i as i32);
        }
    }
    out
}

/// Restores default dispositions and an empty mask for every signal: the container's process
/// must not inherit the runtime's handlers or blocked set.
pub fn reset_signals() {
    for sig in 1..65 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting SIG_DFL is always valid; invalid numbers just fail.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an empty set built by sigemptyset; null old-set pointer.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Ignores SIGPIPE (the runtime writes to sockets whose peer may be gone).
pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN for SIGPIPE is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Ignores `sig` (SIG_IGN). Used by long-lived supervisors that must not die of a terminal's
/// or a session's signals; the container's process gets default dispositions back through
/// [`reset_signals`] before exec.
pub fn ignore_signal(sig: i32) -> io::Result<()> {
    // SAFETY: SIG_IGN is a valid disposition for any catchable signal; invalid numbers and
    // SIGKILL/SIGSTOP just fail with EINVAL.
    let old = unsafe { libc::signal(sig, libc::SIG_IGN) };
    if old == libc::SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// waitpid(pid, 0) that retries on EINTR unless `interrupt` says stop; returns the raw status.
pub fn waitpid(pid: i32, flags: libc::c_int) -> io::Result<Option<(i32, i32)>> {
    let mut status = 0;
    // SAFETY: status is a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, flags) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some((p, status))),
    }
}

/// Decodes a wait status into a shell-style exit code (128 + signal for signalled).
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// Sends `fds` with one byte of payload over a unix socket (SCM_RIGHTS).
pub fn send_fds(sock: BorrowedFd<'_>, payload: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let mut space =
        vec![std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    if !cmsg.push(SendAncillaryMessage::ScmRights(fds)) {
        return Err(io::Error::other("control message buffer too small"));
    }
    let iov = [io::IoSlice::new(payload)];
    sendmsg(sock, &iov, &mut cmsg, SendFlags::NOSIGNAL)?;
    Ok(())
}

/// Receives a message with up to `max_fds` descriptors.
pub fn recv_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    max_fds: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = vec![std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(max_fds))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg(sock, &mut iov, &mut cmsg, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(r) = m {
            fds.extend(r);
        }
    }
    Ok((msg.bytes, fds))
}

/// mount_attr for mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `path`, recursively when `recursive`.
pub fn mount_setattr(path: &CStr, recursive: bool, set: u64, clr: u64) -> io::Result<()> {
    let mut attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive {
        libc::AT_RECURSIVE as libc::c_uint
    } else {
        0
    };
    // SAFETY: path is a valid C string, attr a valid struct whose size is passed.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// statvfs(2) mount flags (ST_*), used to keep locked flags when remounting a bind mount.
pub fn statvfs_flags(path: &CStr) -> io::Result<libc::c_ulong> {
    // SAFETY: a zeroed statvfs is a valid out-buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is a valid C string and st a valid out-pointer.
    check(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_flag)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring.
pub fn keyctl_join_session_keyring() -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name pointer is allowed and means an anonymous keyring.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    })
    .map(drop)
}

/// mount_setattr(2) on a detached mount fd: make it idmapped through the user namespace
/// `userns` (MOUNT_ATTR_IDMAP), recursively when `recursive`.
pub fn mount_setattr_idmap(
    mnt: BorrowedFd<'_>,
    userns: BorrowedFd<'_>,
    recursive: bool,
) -> io::Result<()> {
    let mut attr = MountAttr {
        attr_set: libc::MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: valid fds, an empty C string path with AT_EMPTY_PATH, and a valid attr struct
    // whose size is passed.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// mount_setattr(2) on a (detached) mount fd: set and clear MOUNT_ATTR_* flags.
pub fn mount_setattr_fd(mnt: BorrowedFd<'_>, set: u64, clr: u64) -> io::Result<()> {
    let mut attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: a valid fd, an empty C string path with AT_EMPTY_PATH, and a valid attr struct
    // whose size is passed.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}
