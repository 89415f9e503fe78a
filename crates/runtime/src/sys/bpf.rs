//! bpf(2) for the cgroup v2 device filter (see `cgroups::devices_bpf`): load, attach,
//! detach and query `BPF_PROG_TYPE_CGROUP_DEVICE` programs. Each attr struct is the prefix of
//! `union bpf_attr` that its command reads; the kernel zero-fills the rest.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::check_long;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_int = 15;
const BPF_PROG_QUERY: libc::c_int = 16;

/// `enum bpf_prog_type`: BPF_PROG_TYPE_CGROUP_DEVICE.
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`: BPF_CGROUP_DEVICE.
pub const BPF_CGROUP_DEVICE: u32 = 6;
/// Attach flag: several programs may be attached to one cgroup; all must allow.
pub const BPF_F_ALLOW_MULTI: u32 = 2;
/// Length of a BPF object name, NUL included.
const BPF_OBJ_NAME_LEN: usize = 16;

/// bpf_attr for BPF_PROG_LOAD, up to expected_attach_type.
#[repr(C)]
struct BpfProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
struct BpfAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// bpf_attr for BPF_PROG_QUERY, up to prog_cnt.
#[repr(C)]
struct BpfQueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// bpf_attr for BPF_PROG_GET_FD_BY_ID.
#[repr(C)]
struct BpfGetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf_attr for BPF_OBJ_GET_INFO_BY_FD.
#[repr(C)]
struct BpfObjInfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// struct bpf_prog_info, up to the name.
#[repr(C)]
#[derive(Default)]
struct BpfProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; BPF_OBJ_NAME_LEN],
}

/// bpf(2) with `attr` as the attribute block of `cmd`.
///
/// # Safety
///
/// `attr` must be the repr(C) attribute struct of `cmd`, and every pointer stored in it
/// (as a u64) must be valid for the accesses `cmd` makes, for the duration of the call.
unsafe fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: attr is a valid, writable object of size_of::<T>() bytes, the size passed;
    // the caller vouches for the pointers inside it.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    })
}

/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program.
///
/// `insns` are raw `struct bpf_insn` values, each in its in-memory layout (as produced by
/// `u64::from_ne_bytes`). `name` (up to 15 bytes, `[A-Za-z0-9_.]`) names the program in
/// `bpftool prog` and [`bpf_prog_name`]. A non-empty `log` asks for the verifier log
/// (level 1): on failure it holds the NUL-terminated reason; it must then be at least 128
/// bytes long.
pub fn bpf_prog_load_cgroup_device(
    insns: &[u64],
    license: &CStr,
    name: &str,
    log: &mut [u8],
) -> io::Result<OwnedFd> {
    let mut prog_name = [0u8; BPF_OBJ_NAME_LEN];
    if name.len() >= BPF_OBJ_NAME_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("BPF program name {name:?} is longer than 15 bytes"),
        ));
    }
    prog_name[..name.len()].copy_from_slice(name.as_bytes());
    let insn_cnt = u32::try_from(insns.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many BPF instructions"))?;
    let (log_level, log_size, log_buf) = if log.is_empty() {
        (0, 0, 0)
    } else {
        let size = u32::try_from(log.len()).unwrap_or(u32::MAX);
        (1, size, log.as_mut_ptr() as u64)
    };
    let mut attr = BpfProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    // SAFETY: attr is the BPF_PROG_LOAD attr; insns points to insn_cnt 8-byte instructions,
    // license to a NUL-terminated string and log_buf (if set) to log_size writable bytes,
    // all borrowed for the whole call.
    let fd = unsafe { bpf(BPF_PROG_LOAD, &mut attr) }?;
    // SAFETY: the kernel just returned this new descriptor (close-on-exec), owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// bpf(BPF_PROG_ATTACH): attaches `prog` to the cgroup directory `target`.
pub fn bpf_prog_attach(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    let mut attr = BpfAttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: flags,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is the BPF_PROG_ATTACH attr; it holds no pointers.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// bpf(BPF_PROG_DETACH) naming the program, as needed for programs attached with
/// BPF_F_ALLOW_MULTI (libbpf's bpf_prog_detach2).
pub fn bpf_prog_detach2(
    prog: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<()> {
    let mut attr = BpfAttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: 0,
        replace_bpf_fd: 0,
    };
    // SAFETY: attr is the BPF_PROG_DETACH attr; it holds no pointers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// bpf(BPF_PROG_QUERY): ids of the programs attached directly to the cgroup `target`
/// (not those inherited from ancestors) for `attach_type`.
pub fn bpf_prog_query(target: BorrowedFd<'_>, attach_type: u32) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = BpfQueryAttr {
            target_fd: fd_u32(target),
            attach_type,
            query_flags: 0,
            attach_flags: 0,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            _pad: 0,
        };
        // SAFETY: attr is the BPF_PROG_QUERY attr; prog_ids points to prog_cnt writable
        // u32s, borrowed for the call.
        match unsafe { bpf(BPF_PROG_QUERY, &mut attr) } {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // More programs than room: prog_cnt says how many there are.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSPC) && attr.prog_cnt as usize > ids.len() =>
            {
                ids.resize(attr.prog_cnt as usize, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// bpf(BPF_PROG_GET_FD_BY_ID).
pub fn bpf_prog_get_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = BpfGetFdByIdAttr {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
    };
    // SAFETY: attr is the BPF_PROG_GET_FD_BY_ID attr; it holds no pointers.
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }?;
    // SAFETY: the kernel just returned this new descriptor (close-on-exec), owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The name a BPF program was loaded with (bpf(BPF_OBJ_GET_INFO_BY_FD)), without the NUL.
pub fn bpf_prog_name(prog: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    let mut info = BpfProgInfo::default();
    let mut attr = BpfObjInfoAttr {
        bpf_fd: fd_u32(prog),
        info_len: std::mem::size_of::<BpfProgInfo>() as u32,
        info: &mut info as *mut BpfProgInfo as u64,
    };
    // SAFETY: attr is the BPF_OBJ_GET_INFO_BY_FD attr; info points to info_len writable
    // bytes, and the array pointers inside info are null with zero lengths.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    let len = info
        .name
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(info.name.len());
    Ok(info.name[..len].to_vec())
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    // A borrowed descriptor is never negative.
    fd.as_raw_fd() as u32
}
