//! runc's "enosys stub": a filter of its own answering `ENOSYS` for syscalls numbered above
//! every syscall a profile names.

use libseccomp::{ScmpArch, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use super::*;

/// x32 syscalls have x86_64's audit arch; their numbers carry this bit.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;
pub(super) const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// Offsets in `struct seccomp_data`.
pub(super) const DATA_NR: u32 = 0;
pub(super) const DATA_ARCH: u32 = 4;

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl From<Insn> for libc::sock_filter {
    fn from(i: Insn) -> libc::sock_filter {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

/// A filter of its own that answers `ENOSYS` for syscalls above the highest one the profile
/// names (per architecture, as libseccomp numbers them) and lets everything else through to the
/// profile's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnosysStub {
    pub program: Vec<Insn>,
}

/// The highest syscall numbers a profile names on one audit architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Highest {
    audit_arch: u32,
    native: Option<u32>,
    /// x86_64's x32 ABI, told apart by [`X32_SYSCALL_BIT`].
    x32: Option<u32>,
}

/// The stub for `seccomp`, or `None` when its default action is not an errno (the stub only
/// changes which errno the default gives) or libseccomp knows none of its syscalls.
pub fn enosys_stub(seccomp: &LinuxSeccomp) -> Option<EnosysStub> {
    if seccomp.default_action() != LinuxSeccompAction::ScmpActErrno
        || seccomp.default_errno_ret() == Some(libc::ENOSYS as u32)
    {
        return None;
    }
    let mut archs = vec![ScmpArch::native()];
    for arch in seccomp.architectures().as_deref().unwrap_or(&[]) {
        let arch = scmp_arch(*arch);
        if arch != ScmpArch::Native && !archs.contains(&arch) {
            archs.push(arch);
        }
    }
    let names: Vec<&str> = seccomp
        .syscalls()
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .flat_map(|call| call.names().iter().map(String::as_str))
        .collect();
    let mut highest: Vec<Highest> = Vec::new();
    for arch in archs {
        let Some(audit_arch) = audit_arch(arch) else {
            continue;
        };
        let top = names
            .iter()
            .filter_map(|name| ScmpSyscall::from_name_by_arch(name, arch).ok())
            .filter_map(|nr| u32::try_from(nr.as_raw_syscall()).ok())
            .max();
        let at = match highest.iter().position(|h| h.audit_arch == audit_arch) {
            Some(at) => at,
            None => {
                highest.push(Highest {
                    audit_arch,
                    native: None,
                    x32: None,
                });
                highest.len() - 1
            }
        };
        let entry = &mut highest[at];
        if arch == ScmpArch::X32 {
            entry.x32 = top;
        } else {
            entry.native = top;
        }
    }
    highest.retain(|h| h.native.is_some() || h.x32.is_some());
    stub_program(&highest).map(|program| EnosysStub { program })
}

/// `ld arch`, then per architecture `jeq arch / ld nr / jgt highest`, jumping to `ret ALLOW` or
/// `ret ERRNO(ENOSYS)`; x86_64 first splits x32 numbers off with `jset`. `None` if a jump would
/// not fit the 8-bit offsets (it cannot with the architectures libseccomp has).
pub(super) fn stub_program(highest: &[Highest]) -> Option<Vec<Insn>> {
    if highest.is_empty() {
        return None;
    }
    let block_len = |h: &Highest| {
        if h.audit_arch == AUDIT_ARCH_X86_64 {
            5
        } else {
            3
        }
    };
    let total = 1 + highest.iter().map(block_len).sum::<usize>() + 2;
    let (allow, enosys) = (total - 2, total - 1);
    let stmt = |code: u32, k: u32| Insn {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let mut program = vec![stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, DATA_ARCH)];
    let jump = |program: &Vec<Insn>, op: u32, k: u32, jt: usize, jf: usize| {
        let next = program.len() + 1;
        Some(Insn {
            code: (libc::BPF_JMP | op | libc::BPF_K) as u16,
            jt: u8::try_from(jt.checked_sub(next)?).ok()?,
            jf: u8::try_from(jf.checked_sub(next)?).ok()?,
            k,
        })
    };
    // Above an unknown highest number nothing is: compare with the largest value.
    let above = |program: &Vec<Insn>, highest: Option<u32>| {
        jump(
            program,
            libc::BPF_JGT,
            highest.unwrap_or(u32::MAX),
            enosys,
            allow,
        )
    };
    for h in highest {
        let end = program.len() + block_len(h);
        let here = program.len();
        program.push(jump(&program, libc::BPF_JEQ, h.audit_arch, here + 1, end)?);
        program.push(stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, DATA_NR));
        if h.audit_arch == AUDIT_ARCH_X86_64 {
            let here = program.len();
            program.push(jump(
                &program,
                libc::BPF_JSET,
                X32_SYSCALL_BIT,
                here + 2,
                here + 1,
            )?);
            program.push(above(&program, h.native)?);
            program.push(above(&program, h.x32)?);
        } else {
            program.push(above(&program, h.native)?);
        }
    }
    program.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    program.push(stmt(
        libc::BPF_RET | libc::BPF_K,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    ));
    Some(program)
}

/// Adds the stub on top of the filter [`load`] installed. When two filters give the same kind
/// of answer the kernel takes the most recent one's, so the stub's `ENOSYS` wins over the
/// profile's default errno, while its "allow" leaves every other answer to the profile.
///
/// It fails when the profile itself refuses `prctl`; the caller then goes on without it, as
/// before the stub existed (such a profile answers its default errno to newer syscalls).
pub fn load_enosys_stub(stub: &EnosysStub) -> std::io::Result<()> {
    let program: Vec<libc::sock_filter> = stub.program.iter().map(|i| (*i).into()).collect();
    crate::sys::seccomp_filter(&program)
}

/// AUDIT_ARCH_* of the architectures the stub knows (x32 shares x86_64's).
pub(super) fn audit_arch(arch: ScmpArch) -> Option<u32> {
    Some(match arch {
        ScmpArch::Native => return audit_arch(ScmpArch::native()),
        ScmpArch::X8664 | ScmpArch::X32 => AUDIT_ARCH_X86_64,
        ScmpArch::X86 => 0x4000_0003,
        ScmpArch::Aarch64 => 0xC000_00B7,
        ScmpArch::Arm => 0x4000_0028,
        ScmpArch::Riscv64 => 0xC000_00F3,
        ScmpArch::S390X => 0x8000_0016,
        ScmpArch::S390 => 0x0000_0016,
        ScmpArch::Ppc64Le => 0xC000_0015,
        ScmpArch::Ppc64 => 0x8000_0015,
        ScmpArch::Ppc => 0x0000_0014,
        ScmpArch::Mips => 0x0000_0008,
        ScmpArch::Mipsel => 0x4000_0008,
        ScmpArch::Mips64 => 0x8000_0008,
        ScmpArch::Mipsel64 => 0xC000_0008,
        ScmpArch::Mips64N32 => 0xA000_0008,
        ScmpArch::Mipsel64N32 => 0xE000_0008,
        ScmpArch::Loongarch64 => 0xC000_0102,
        _ => return None,
    })
}
