//! Making children: fork(2), and clone with new namespaces, optionally straight into a
//! cgroup2 directory.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Result of [`fork`].
pub enum Fork {
    Parent(i32),
    Child,
}

/// fork(2). The runtime is single-threaded whenever it forks (see the crate docs), so the
/// child may do anything the parent could.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: fork has no memory-safety preconditions in a single-threaded process; the
    // runtime never forks while other threads exist.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        p => Ok(Fork::Parent(p)),
    }
}

/// clone(2) with namespace flags and no new stack: like fork, but the child starts in the new
/// namespaces (PID 1 of a new pid namespace). Same single-thread condition as [`fork`].
pub fn clone_ns(flags: libc::c_int) -> io::Result<Fork> {
    let f = (flags as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: without CLONE_VM and with a null stack, clone behaves like fork: the child gets
    // a copy of the address space and continues from here. The process is single-threaded.
    let pid = unsafe { libc::syscall(libc::SYS_clone, f, 0usize, 0usize, 0usize, 0usize) };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        p => Ok(Fork::Parent(p as i32)),
    }
}

/// struct clone_args of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// [`clone_ns`] through clone3(2) with CLONE_INTO_CGROUP: the child is born in the cgroup2
/// directory `cgroup`, so no later move takes the kernel's global threadgroup lock (whose
/// first writer after a quiet spell waits for an RCU grace period). Fails with ENOSYS or
/// E2BIG on kernels without it (before 5.7).
pub fn clone_ns_into(flags: libc::c_int, cgroup: BorrowedFd<'_>) -> io::Result<Fork> {
    let mut args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: as clone_ns: no CLONE_VM and no stack, so the child continues from here on a
    // copy of the address space, like fork; the process is single-threaded. The args struct
    // is valid for the size passed.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        p => Ok(Fork::Parent(p as i32)),
    }
}
