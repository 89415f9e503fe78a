//! cgroup v2 device controller: the spec's device rules become a
//! BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup.
//!
//! v2 has no devices.allow/devices.deny files; the kernel instead runs every program
//! attached to the cgroup (and its ancestors) on each device open and mknod, and the access
//! is allowed only if all of them return 1. The rule list is first reduced to the state
//! the v1 devices controller would end up in after the same writes ([`Policy`]): a default
//! (allow or deny) plus exceptions. This keeps v1's semantics exactly, including the ones
//! that surprise (a rule only removes an exception with the very same type, major and
//! minor, so "deny c 1:* rwm" after "allow c 1:3 rwm" leaves 1:3 allowed); the v1 manager
//! writes the same list to the real v1 controller, so a spec behaves alike on both.
//! The program then checks the exceptions and returns the opposite of the default on a
//! match, the default otherwise.
//!
//! Programs are loaded under the name [`PROG_NAME`]. `set` attaches the new program before
//! detaching the previous ones of that name, so that during the swap both filters apply
//! (an access must pass both) and there is no moment without one.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;
use crate::sys;

/// Name of the programs this manager loads, used to find them again on the next `set`.
pub(super) const PROG_NAME: &str = "muelle_devices";

/// A cgroup device program uses no helper, so any license string is accepted.
const LICENSE: &CStr = c"Apache-2.0";

/// Size of the verifier log asked for when a load fails.
const LOG_SIZE: usize = 256 * 1024;

// struct bpf_cgroup_dev_ctx: u32 access_type (low 16 bits: device type, high 16 bits:
// access), u32 major, u32 minor.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;

/// BPF_DEVCG_DEV_* device types.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// BPF_DEVCG_ACC_* access bits.
const ACC_MKNOD: u8 = 1;
const ACC_READ: u8 = 2;
const ACC_WRITE: u8 = 4;
const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// A tiny eBPF assembler: the instructions the device filter needs, encoded as the
/// kernel's `struct bpf_insn`.
pub(super) mod asm {
    // Instruction classes.
    const LDX: u8 = 0x01;
    const ALU: u8 = 0x04;
    const JMP: u8 = 0x05;
    const ALU64: u8 = 0x07;
    // Load size and mode.
    const W: u8 = 0x00;
    const MEM: u8 = 0x60;
    // Operand source: immediate or register.
    const K: u8 = 0x00;
    const X: u8 = 0x08;
    // ALU operations.
    pub const AND: u8 = 0x50;
    pub const RSH: u8 = 0x70;
    const MOV: u8 = 0xb0;
    // Jump operations.
    pub const JEQ: u8 = 0x10;
    pub const JNE: u8 = 0x50;
    const EXIT: u8 = 0x90;

    /// Registers: R0 is the return value, R1 the context pointer on entry.
    pub const R0: u8 = 0;
    pub const R1: u8 = 1;
    pub const R2: u8 = 2;
    pub const R3: u8 = 3;
    pub const R4: u8 = 4;
    pub const R5: u8 = 5;

    /// One `struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Insn {
        pub code: u8,
        pub dst: u8,
        pub src: u8,
        pub off: i16,
        pub imm: i32,
    }

    impl Insn {
        /// The instruction's 8 bytes as the kernel reads them from memory. The register
        /// nibbles are C bitfields, whose order follows the byte order.
        pub fn raw(self) -> u64 {
            let regs = if cfg!(target_endian = "little") {
                (self.src << 4) | (self.dst & 0x0f)
            } else {
                (self.dst << 4) | (self.src & 0x0f)
            };
            let off = self.off.to_ne_bytes();
            let imm = self.imm.to_ne_bytes();
            u64::from_ne_bytes([
                self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
            ])
        }

        /// The operation bits, without class and source (`JNE` for any JNE).
        pub fn op(self) -> u8 {
            self.code & 0xf0
        }

        pub fn is_jump(self) -> bool {
            self.code & 0x07 == JMP && self.op() != EXIT
        }

        #[cfg(test)]
        pub fn is_exit(self) -> bool {
            self.code == JMP | EXIT
        }

        /// Whether the second operand is a register (else `imm`).
        #[cfg(test)]
        pub fn uses_src_reg(self) -> bool {
            self.code & X != 0
        }

        /// Whether an ALU operation works on 32 bits (the result is zero-extended).
        #[cfg(test)]
        pub fn is_alu32(self) -> bool {
            self.code & 0x07 == ALU
        }

        #[cfg(test)]
        pub fn is_alu(self) -> bool {
            matches!(self.code & 0x07, ALU | ALU64)
        }

        #[cfg(test)]
        pub fn is_load_word(self) -> bool {
            self.code == LDX | MEM | W
        }
    }

    const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// dst = *(u32 *)(src + off)
    pub const fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
        insn(LDX | MEM | W, dst, src, off, 0)
    }

    /// dst = (u32)dst `op` imm (32-bit ALU, upper half zeroed).
    pub const fn alu32_imm(op: u8, dst: u8, imm: i32) -> Insn {
        insn(ALU | op | K, dst, 0, 0, imm)
    }

    /// dst = src (64 bits).
    pub const fn mov64_reg(dst: u8, src: u8) -> Insn {
        insn(ALU64 | MOV | X, dst, src, 0, 0)
    }

    /// dst = imm, sign-extended to 64 bits.
    pub const fn mov64_imm(dst: u8, imm: i32) -> Insn {
        insn(ALU64 | MOV | K, dst, 0, 0, imm)
    }

    /// dst = (u32)imm, zero-extended: loads any u32 constant.
    pub const fn mov32_imm(dst: u8, imm: i32) -> Insn {
        insn(ALU | MOV | K, dst, 0, 0, imm)
    }

    /// if dst `op` imm (sign-extended, 64-bit compare) goto pc + 1 + off.
    pub const fn jmp_imm(op: u8, dst: u8, imm: i32, off: i16) -> Insn {
        insn(JMP | op | K, dst, 0, off, imm)
    }

    /// if dst `op` src (64-bit compare) goto pc + 1 + off.
    pub const fn jmp_reg(op: u8, dst: u8, src: u8, off: i16) -> Insn {
        insn(JMP | op | X, dst, src, off, 0)
    }

    /// return r0
    pub const fn exit() -> Insn {
        insn(JMP | EXIT, 0, 0, 0, 0)
    }
}

use asm::{Insn, R0, R1, R2, R3, R4, R5};

/// Device type of an exception (v1 rules of type "a" reset the policy instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DevType {
    Block,
    Char,
}

impl DevType {
    fn bpf(self) -> i32 {
        match self {
            DevType::Block => DEV_BLOCK,
            DevType::Char => DEV_CHAR,
        }
    }
}

/// One v1 exception: a device pattern (None = any number) and the access bits it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exception {
    pub typ: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl Exception {
    fn same_device_pattern(&self, other: &Exception) -> bool {
        self.typ == other.typ && self.major == other.major && self.minor == other.minor
    }

    #[cfg(test)]
    fn matches_device(&self, typ: DevType, major: u32, minor: u32) -> bool {
        self.typ == typ
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
    }
}

/// The state of a v1 devices cgroup: the default and the exceptions to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Policy {
    pub default_allow: bool,
    pub exceptions: Vec<Exception>,
}

impl Default for Policy {
    /// A new cgroup allows every device until told otherwise.
    fn default() -> Self {
        Policy {
            default_allow: true,
            exceptions: Vec::new(),
        }
    }
}

/// The access bits of a rule's "rwm" string; absent or empty means all.
fn access_bits(access: Option<&str>) -> Result<u8, CgroupError> {
    let access = access.filter(|a| !a.is_empty()).unwrap_or("rwm");
    let mut bits = 0;
    for c in access.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(CgroupError::InvalidResource {
                    what: "devices access".into(),
                    reason: format!("{access:?} may only contain r, w and m"),
                })
            }
        };
    }
    Ok(bits)
}

/// A rule's major or minor: absent or negative is the wildcard.
fn device_number(what: &str, n: Option<i64>) -> Result<Option<u32>, CgroupError> {
    match n {
        Some(n) if n >= 0 => u32::try_from(n)
            .map(Some)
            .map_err(|_| CgroupError::InvalidResource {
                what: format!("devices {what}"),
                reason: format!("{n} does not fit a 32-bit device number"),
            }),
        _ => Ok(None),
    }
}

impl Policy {
    /// Applies the rules in order, as the v1 controller applies writes to devices.allow
    /// and devices.deny (security/device_cgroup.c):
    /// - a rule of type "a" resets: the default becomes the rule's verdict and all
    ///   exceptions go, whatever its numbers and access;
    /// - a rule with the default's verdict removes its access bits from the exception
    ///   with the same type, major and minor (if any), dropping it once empty;
    /// - a rule with the other verdict adds an exception, merging its access into one with
    ///   the same type, major and minor.
    ///
    /// Type "u" is a character device; "p" (FIFO) rules are ignored, as the controller
    /// only checks block and character devices.
    pub fn from_rules(rules: &[LinuxDeviceCgroup]) -> Result<Policy, CgroupError> {
        let mut p = Policy::default();
        for rule in rules {
            let typ = match rule.typ().unwrap_or(LinuxDeviceType::A) {
                LinuxDeviceType::A => {
                    // Still validated, so that a typo is not silently accepted.
                    access_bits(rule.access().as_deref())?;
                    p = Policy {
                        default_allow: rule.allow(),
                        exceptions: Vec::new(),
                    };
                    continue;
                }
                LinuxDeviceType::B => DevType::Block,
                LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
                LinuxDeviceType::P => continue,
            };
            let ex = Exception {
                typ,
                major: device_number("major", rule.major())?,
                minor: device_number("minor", rule.minor())?,
                access: access_bits(rule.access().as_deref())?,
            };
            if rule.allow() == p.default_allow {
                p.remove(&ex);
            } else {
                p.add(ex);
            }
        }
        Ok(p)
    }

    fn add(&mut self, ex: Exception) {
        match self
            .exceptions
            .iter_mut()
            .find(|e| e.same_device_pattern(&ex))
        {
            Some(e) => e.access |= ex.access,
            None => self.exceptions.push(ex),
        }
    }

    fn remove(&mut self, ex: &Exception) {
        for e in self
            .exceptions
            .iter_mut()
            .filter(|e| e.same_device_pattern(ex))
        {
            e.access &= !ex.access;
        }
        self.exceptions.retain(|e| e.access != 0);
    }

    /// Whether an access (ACC_* bits) to a device is allowed, as the v1 controller
    /// decides: with a deny default one exception must cover all the requested bits;
    /// with an allow default no exception may cover any of them.
    #[cfg(test)]
    pub fn allows(&self, typ: DevType, major: u32, minor: u32, access: u8) -> bool {
        let mut matching = self
            .exceptions
            .iter()
            .filter(|e| e.matches_device(typ, major, minor));
        if self.default_allow {
            !matching.any(|e| access & e.access != 0)
        } else {
            matching.any(|e| access & !e.access == 0)
        }
    }

    /// The filter program.
    ///
    /// r2 = device type, r3 = requested access, r4 = major, r5 = minor; then one block
    /// per exception that falls through to the next block when the device or the access
    /// does not match, and otherwise returns the opposite of the default; the default is
    /// returned at the end. r1 (the context, no longer needed) is the scratch register.
    pub fn program(&self) -> Vec<Insn> {
        let mut prog = vec![
            asm::ldx_w(R2, R1, CTX_ACCESS_TYPE),
            asm::alu32_imm(asm::AND, R2, 0xffff),
            asm::ldx_w(R3, R1, CTX_ACCESS_TYPE),
            asm::alu32_imm(asm::RSH, R3, 16),
            asm::ldx_w(R4, R1, CTX_MAJOR),
            asm::ldx_w(R5, R1, CTX_MINOR),
        ];
        let verdict_on_match = i32::from(!self.default_allow);
        for ex in &self.exceptions {
            // Jumps to "next block" carry NEXT as offset, patched once the length is known.
            const NEXT: i16 = i16::MIN;
            let mut block = vec![asm::jmp_imm(asm::JNE, R2, ex.typ.bpf(), NEXT)];
            if ex.access != ACC_ALL {
                block.push(asm::mov64_reg(R1, R3));
                if self.default_allow {
                    // A deny exception applies if it covers any requested bit.
                    block.push(asm::alu32_imm(asm::AND, R1, i32::from(ex.access)));
                    block.push(asm::jmp_imm(asm::JEQ, R1, 0, NEXT));
                } else {
                    // An allow exception applies if it covers all requested bits.
                    block.push(asm::alu32_imm(asm::AND, R1, !i32::from(ex.access)));
                    block.push(asm::jmp_imm(asm::JNE, R1, 0, NEXT));
                }
            }
            for (reg, number) in [(R4, ex.major), (R5, ex.minor)] {
                let Some(n) = number else { continue };
                match i32::try_from(n) {
                    Ok(imm) => block.push(asm::jmp_imm(asm::JNE, reg, imm, NEXT)),
                    Err(_) => {
                        // Immediates are sign-extended in 64-bit compares: above
                        // i32::MAX, compare against a zero-extended register instead.
                        block.push(asm::mov32_imm(R1, n as i32));
                        block.push(asm::jmp_reg(asm::JNE, reg, R1, NEXT));
                    }
                }
            }
            block.push(asm::mov64_imm(R0, verdict_on_match));
            block.push(asm::exit());
            let len = block.len();
            for (i, insn) in block.iter_mut().enumerate() {
                if insn.is_jump() && insn.off == NEXT {
                    // Blocks are a handful of instructions, far below i16::MAX.
                    insn.off = (len - i - 1) as i16;
                }
            }
            prog.extend(block);
        }
        prog.push(asm::mov64_imm(R0, i32::from(self.default_allow)));
        prog.push(asm::exit());
        prog
    }
}

fn load(insns: &[Insn]) -> Result<OwnedFd, CgroupError> {
    let raw: Vec<u64> = insns.iter().map(|i| i.raw()).collect();
    match sys::bpf_prog_load_cgroup_device(&raw, LICENSE, PROG_NAME, &mut []) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            // Load again with the verifier log to say why; permission errors have none.
            let mut log = vec![0u8; LOG_SIZE];
            let source = match sys::bpf_prog_load_cgroup_device(&raw, LICENSE, PROG_NAME, &mut log)
            {
                Ok(fd) => return Ok(fd),
                Err(e) => e,
            };
            let len = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let verifier_log = String::from_utf8_lossy(&log[..len]).trim().to_string();
            // ENOSPC on the second load only means the log did not fit.
            let source = if source.raw_os_error() == Some(libc::ENOSPC) {
                first
            } else {
                source
            };
            let hint = if source.raw_os_error() == Some(libc::EPERM) {
                " (loading BPF programs needs CAP_SYS_ADMIN or CAP_BPF, and before Linux 5.11 \
                 a sufficient RLIMIT_MEMLOCK)"
            } else {
                ""
            };
            Err(CgroupError::BpfLoad {
                insns: insns.len(),
                hint,
                verifier_log,
                source,
            })
        }
    }
}

fn bpf_error(what: &'static str, dir: &Path, source: io::Error) -> CgroupError {
    CgroupError::Bpf {
        what,
        path: dir.to_path_buf(),
        source,
    }
}

/// The programs named [`PROG_NAME`] attached directly to the cgroup.
fn attached_filters(cgroup: BorrowedFd<'_>, dir: &Path) -> Result<Vec<OwnedFd>, CgroupError> {
    let ids = sys::bpf_prog_query(cgroup, sys::BPF_CGROUP_DEVICE)
        .map_err(|e| bpf_error("list the device programs attached to", dir, e))?;
    let mut out = Vec::new();
    for id in ids {
        let prog = match sys::bpf_prog_get_fd_by_id(id) {
            Ok(p) => p,
            // Detached and freed since the query.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(bpf_error("open a device program attached to", dir, e)),
        };
        let name = sys::bpf_prog_name(prog.as_fd())
            .map_err(|e| bpf_error("read the name of a device program attached to", dir, e))?;
        if name == PROG_NAME.as_bytes() {
            out.push(prog);
        }
    }
    Ok(out)
}

/// Compiles the rules, attaches the program to the cgroup directory `dir` and detaches
/// the programs a previous call attached.
pub(super) fn set(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let program = Policy::from_rules(rules)?.program();
    let prog = load(&program)?;
    let cgroup = File::open(dir).map_err(|source| CgroupError::Io {
        what: "open",
        path: dir.to_path_buf(),
        source,
    })?;
    let previous = attached_filters(cgroup.as_fd(), dir)?;
    sys::bpf_prog_attach(
        prog.as_fd(),
        cgroup.as_fd(),
        sys::BPF_CGROUP_DEVICE,
        sys::BPF_F_ALLOW_MULTI,
    )
    .map_err(|e| bpf_error("attach the device program to", dir, e))?;
    for old in previous {
        match sys::bpf_prog_detach2(old.as_fd(), cgroup.as_fd(), sys::BPF_CGROUP_DEVICE) {
            Ok(()) => {}
            // Already detached by a concurrent update.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(bpf_error("detach the previous device program from", dir, e)),
        }
    }
    Ok(())
}

/// Loads (and drops) an allow-all device program: whether the kernel and the caller's
/// privileges allow the v2 device filter at all.
pub(super) fn probe() -> Result<(), CgroupError> {
    load(&Policy::default().program()).map(drop)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        typ: &str,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut v = serde_json::json!({ "allow": allow, "access": access });
        if !typ.is_empty() {
            v["type"] = typ.into();
        }
        if let Some(m) = major {
            v["major"] = m.into();
        }
        if let Some(m) = minor {
            v["minor"] = m.into();
        }
        serde_json::from_value(v).unwrap()
    }

    fn deny_all() -> LinuxDeviceCgroup {
        rule(false, "a", None, None, "rwm")
    }

    /// Runs a filter program on a context: an interpreter of exactly the instructions the
    /// generator emits, so that the program can be checked against [`Policy::allows`].
    fn run(prog: &[Insn], typ: DevType, major: u32, minor: u32, access: u8) -> u64 {
        let ctx = [(u32::from(access) << 16) | typ.bpf() as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            pc += 1;
            if i.is_exit() {
                return r[0];
            }
            let operand = if i.uses_src_reg() {
                r[i.src as usize]
            } else {
                i.imm as i64 as u64
            };
            let d = i.dst as usize;
            if i.is_load_word() {
                assert_eq!(i.src, R1, "only the context is read");
                r[d] = u64::from(ctx[(i.off / 4) as usize]);
            } else if i.is_jump() {
                let taken = match i.op() {
                    asm::JEQ => r[d] == operand,
                    asm::JNE => r[d] != operand,
                    op => panic!("unexpected jump {op:#x}"),
                };
                if taken {
                    pc = (pc as i64 + i64::from(i.off)) as usize;
                }
            } else if i.is_alu() {
                let v = match i.op() {
                    asm::AND => r[d] & operand,
                    asm::RSH => r[d] >> (operand & 63),
                    0xb0 => operand,
                    op => panic!("unexpected alu op {op:#x}"),
                };
                r[d] = if i.is_alu32() { v & 0xffff_ffff } else { v };
            } else {
                panic!("unexpected instruction {i:?}");
            }
        }
        panic!("program did not terminate")
    }

    /// The program's verdict equals the v1 model's for every type, access combination and
    /// a set of device numbers around the rules' ones.
    fn check_program(p: &Policy) {
        let prog = p.program();
        assert!(prog.last().unwrap().is_exit());
        let mut numbers = vec![0u32, 1, 3, 5, 7, 8, 136, 200, u32::MAX];
        for e in &p.exceptions {
            numbers.extend(e.major.iter().chain(e.minor.iter()).copied());
        }
        for typ in [DevType::Block, DevType::Char] {
            for &major in &numbers {
                for &minor in &numbers {
                    for access in 1..=ACC_ALL {
                        let want = p.allows(typ, major, minor, access);
                        let got = run(&prog, typ, major, minor, access);
                        assert_eq!(
                            got,
                            u64::from(want),
                            "{typ:?} {major}:{minor} access {access:#b} under {p:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn insn_encoding() {
        // r0 = 1; exit — as `llvm-objdump` shows them: b7 00 00 00 01 00 00 00, 95 00...
        assert_eq!(
            asm::mov64_imm(R0, 1).raw().to_ne_bytes(),
            [0xb7, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(asm::exit().raw().to_ne_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        // r2 = *(u32 *)(r1 + 4): dst in the low nibble on little endian.
        if cfg!(target_endian = "little") {
            assert_eq!(
                asm::ldx_w(R2, R1, 4).raw().to_ne_bytes(),
                [0x61, 0x12, 4, 0, 0, 0, 0, 0]
            );
            assert_eq!(
                asm::jmp_imm(asm::JNE, R4, 200, -3).raw().to_ne_bytes(),
                [0x55, 0x04, 0xfd, 0xff, 200, 0, 0, 0]
            );
        }
    }

    #[test]
    fn docker_style_rules() {
        let rules = [
            deny_all(),
            rule(true, "c", Some(1), Some(3), "rwm"),
            rule(true, "c", None, None, "m"),
            rule(true, "b", Some(8), None, "r"),
            rule(false, "c", Some(10), Some(200), ""),
            rule(true, "p", None, None, "rwm"),
            rule(true, "u", Some(136), None, "rw"),
        ];
        let p = Policy::from_rules(&rules).unwrap();
        assert!(!p.default_allow);
        assert_eq!(p.exceptions.len(), 4);
        assert_eq!(
            p.exceptions[3],
            Exception {
                typ: DevType::Char,
                major: Some(136),
                minor: None,
                access: ACC_READ | ACC_WRITE
            }
        );
        assert!(p.allows(DevType::Char, 1, 3, ACC_READ | ACC_WRITE));
        assert!(p.allows(DevType::Char, 99, 1, ACC_MKNOD));
        assert!(!p.allows(DevType::Char, 99, 1, ACC_READ));
        assert!(p.allows(DevType::Block, 8, 1, ACC_READ));
        assert!(!p.allows(DevType::Block, 8, 1, ACC_READ | ACC_WRITE));
        assert!(!p.allows(DevType::Char, 1, 5, ACC_READ));
        // 6 + c 1:3 rwm (3 compares + return 2) + c *:* m (1 + 3 + 2) + b 8:* r (1 + 3 + 1
        // + 2) + c 136:* rw (1 + 3 + 1 + 2) + 2.
        assert_eq!(p.program().len(), 6 + 5 + 6 + 7 + 7 + 2);
        check_program(&p);
    }

    #[test]
    fn test_rule_lists_of_the_integration_test() {
        let p =
            Policy::from_rules(&[deny_all(), rule(true, "c", Some(1), Some(3), "rwm")]).unwrap();
        assert_eq!(p.program().len(), 6 + 5 + 2);
        assert!(p.allows(DevType::Char, 1, 3, ACC_READ));
        assert!(!p.allows(DevType::Char, 1, 5, ACC_READ));
        check_program(&p);
    }

    #[test]
    fn v1_semantics() {
        // Nothing, or only allow rules on the allow default: allow everything.
        let p = Policy::from_rules(&[rule(true, "c", Some(1), Some(3), "rwm")]).unwrap();
        assert_eq!(p, Policy::default());
        assert_eq!(p.program().len(), 6 + 2);
        check_program(&p);

        // Deny exceptions on the allow default; any overlap denies.
        let p = Policy::from_rules(&[
            rule(false, "c", Some(1), Some(5), "w"),
            rule(false, "b", None, None, "m"),
        ])
        .unwrap();
        assert!(p.default_allow);
        assert!(!p.allows(DevType::Char, 1, 5, ACC_READ | ACC_WRITE));
        assert!(p.allows(DevType::Char, 1, 5, ACC_READ));
        assert!(!p.allows(DevType::Block, 7, 0, ACC_MKNOD));
        check_program(&p);

        // A rule removes only the exception with the very same numbers: v1 does not punch
        // holes into wildcard exceptions, nor carve them out of specific ones.
        let p = Policy::from_rules(&[
            deny_all(),
            rule(true, "c", Some(1), None, "rwm"),
            rule(false, "c", Some(1), Some(3), "rwm"),
            rule(true, "c", Some(5), Some(0), "rwm"),
            rule(false, "c", Some(5), None, "rwm"),
        ])
        .unwrap();
        assert!(p.allows(DevType::Char, 1, 3, ACC_READ));
        assert!(p.allows(DevType::Char, 5, 0, ACC_READ));
        check_program(&p);

        // Partial removal and merging.
        let p = Policy::from_rules(&[
            deny_all(),
            rule(true, "c", Some(1), Some(3), "r"),
            rule(true, "c", Some(1), Some(3), "w"),
            rule(false, "c", Some(1), Some(3), "r"),
            rule(true, "c", Some(1), Some(5), "rw"),
            rule(false, "c", Some(1), Some(5), "rwm"),
        ])
        .unwrap();
        assert_eq!(p.exceptions.len(), 1);
        assert_eq!(p.exceptions[0].access, ACC_WRITE);
        check_program(&p);

        // Type "a" anywhere resets, whatever its numbers.
        let p = Policy::from_rules(&[
            deny_all(),
            rule(true, "c", Some(1), Some(3), "rwm"),
            rule(true, "a", Some(4), None, "r"),
            rule(false, "b", Some(8), Some(0), "rwm"),
        ])
        .unwrap();
        assert!(p.default_allow);
        assert_eq!(p.exceptions.len(), 1);
        let p = Policy::from_rules(&[rule(false, "", None, None, "")]).unwrap();
        assert!(!p.default_allow && p.exceptions.is_empty());
        assert_eq!(p.program().len(), 8);
        check_program(&p);
    }

    #[test]
    fn large_device_numbers() {
        let big = i64::from(u32::MAX) - 1;
        let p =
            Policy::from_rules(&[deny_all(), rule(true, "b", Some(big), Some(2), "rw")]).unwrap();
        // Major through a register: 2 instructions instead of 1.
        assert_eq!(p.program().len(), 6 + (1 + 3 + 2 + 1 + 2) + 2);
        assert!(p.allows(DevType::Block, u32::MAX - 1, 2, ACC_READ));
        check_program(&p);
        let err = Policy::from_rules(&[rule(true, "c", Some(1 << 32), None, "r")]).unwrap_err();
        assert!(err.to_string().contains("devices major"), "{err}");
    }

    #[test]
    fn load_failure_carries_the_verifier_log() {
        assert!(
            rustix::process::geteuid().is_root(),
            "loading BPF programs needs root"
        );
        // Exit without setting r0: the verifier refuses to read an uninitialised R0.
        let err = load(&[asm::exit()]).unwrap_err();
        let CgroupError::BpfLoad {
            insns,
            ref verifier_log,
            ..
        } = err
        else {
            panic!("unexpected error {err}")
        };
        assert_eq!(insns, 1);
        assert!(verifier_log.contains("R0"), "{verifier_log}");
        let msg = err.to_string();
        assert!(msg.contains("verifier log:") && msg.contains("R0"), "{msg}");
        eprintln!("{msg}");
        probe().unwrap();
    }

    #[test]
    fn invalid_access() {
        for bad in [
            rule(true, "c", Some(1), Some(1), "rx"),
            rule(false, "a", None, None, "q"),
        ] {
            let err = Policy::from_rules(&[bad]).unwrap_err();
            assert!(
                err.to_string().contains("may only contain r, w and m"),
                "{err}"
            );
        }
    }
}
