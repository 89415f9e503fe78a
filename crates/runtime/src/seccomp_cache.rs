//! Compiled seccomp programs kept in the runtime's root, so that a container's start loads
//! a BPF program instead of compiling its profile with libseccomp: compiling Docker's
//! default profile takes 8-12 ms here, on the start path of every container and every exec.
//! The engine (and docker or podman through this runtime) use one profile over and over.
//!
//! A program is stored under the SHA-256 of everything its bytes depend on: the profile as
//! the spec gives it, libseccomp's version, the kernel release (libseccomp probes the
//! kernel's features) and the architecture. The file (`<root>/@seccomp/KEY.bpf`, in a 0700
//! directory only root can write, as the runtime's state) holds the program followed by the
//! SHA-256 of the program, checked at every read; a file that does not check out is compiled
//! again. Profiles with notify actions, or flags the raw load cannot pass on, are always
//! compiled and loaded by libseccomp. Beside it, `KEY.enosys` holds the profile's ENOSYS stub
//! (`seccomp::enosys_stub`, which resolves every syscall name of the profile for each of its
//! architectures through libseccomp: about as long as the rest of a start's seccomp work),
//! in the same form; an empty program there means the profile has no stub.
//!
//! Must not: decide what a profile means (that is `seccomp`'s compile), or keep anything but
//! these files.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use libseccomp::ScmpFilterContext;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag};
use sha2::{Digest, Sha256};

use crate::seccomp::{
    build_filter, enosys_stub, load, uses_notify, EnosysStub, Insn, SeccompError,
};

/// The cache's directory in the runtime's root.
const SECCOMP_DIR: &str = "@seccomp";

/// The largest classic BPF program the kernel takes (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;
const INSN: usize = std::mem::size_of::<libc::sock_filter>();

/// A profile ready to load in the container's process, made before it enters the
/// container (where the runtime's root is out of reach).
pub enum Prepared {
    /// A program from the cache, the seccomp(2) flags of the profile and its ENOSYS stub.
    Raw {
        program: Vec<libc::sock_filter>,
        flags: u32,
        enosys: Option<EnosysStub>,
    },
    /// Compiled now (a first use, or a profile the cache does not take), and its stub.
    Filter(ScmpFilterContext, Option<EnosysStub>),
}

impl Prepared {
    /// The filter loaded after the profile's that answers ENOSYS above its newest syscall.
    pub fn enosys(&self) -> Option<&EnosysStub> {
        match self {
            Prepared::Raw { enosys, .. } | Prepared::Filter(_, enosys) => enosys.as_ref(),
        }
    }

    /// Installs the filter in the calling process: the notify listener's fd when the
    /// profile has one (only ever from libseccomp).
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        match self {
            Prepared::Raw { program, flags, .. } => {
                crate::sys::seccomp_filter_flags(program, *flags)
                    .map(|()| None)
                    .map_err(|e| SeccompError::RawLoad(e.to_string()))
            }
            Prepared::Filter(f, _) => load(f),
        }
    }
}

/// The program for `seccomp`: from the cache under `root` when it is there and whole, else
/// compiled (and stored for the next time; a store that fails costs only the next compile).
pub fn prepare(seccomp: &LinuxSeccomp, root: &Path) -> Result<Prepared, SeccompError> {
    let (Some(flags), Some(key)) = (raw_flags(seccomp), cache_key(seccomp)) else {
        let filter = build_filter(seccomp)?;
        return Ok(Prepared::Filter(filter, enosys_stub(seccomp)));
    };
    // "@" is in no container ID, so no container's state directory can be this one.
    let dir = root.join(SECCOMP_DIR);
    let path = dir.join(format!("{key}.bpf"));
    let stub_path = dir.join(format!("{key}.enosys"));
    if let Some(program) = std::fs::read(&path).ok().as_deref().and_then(decode) {
        let enosys = cached_stub(seccomp, &dir, &stub_path);
        return Ok(Prepared::Raw {
            program,
            flags,
            enosys,
        });
    }
    let filter = build_filter(seccomp)?;
    let _ = store(&filter, &dir, &path);
    let enosys = cached_stub(seccomp, &dir, &stub_path);
    Ok(Prepared::Filter(filter, enosys))
}

/// The profile's ENOSYS stub from `path`, or computed and stored there.
fn cached_stub(seccomp: &LinuxSeccomp, dir: &Path, path: &Path) -> Option<EnosysStub> {
    if let Some(stored) = std::fs::read(path).ok().as_deref().and_then(decode_stub) {
        return stored;
    }
    let stub = enosys_stub(seccomp);
    let program: Vec<libc::sock_filter> = stub
        .iter()
        .flat_map(|s| s.program.iter().map(|i| libc::sock_filter::from(*i)))
        .collect();
    let _ = write_checked(dir, path, &program_bytes(&program));
    stub
}

/// A stored stub: `Some(None)` for a profile without one, `None` for a file that does not
/// check out.
fn decode_stub(bytes: &[u8]) -> Option<Option<EnosysStub>> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, sum) = bytes.split_at(body_len);
    if !body.len().is_multiple_of(INSN) || body.len() / INSN > MAX_INSNS {
        return None;
    }
    if Sha256::digest(body).as_slice() != sum {
        return None;
    }
    if body.is_empty() {
        return Some(None);
    }
    let program = body.chunks_exact(INSN).map(insn_of).collect();
    Some(Some(EnosysStub { program }))
}

fn insn_of(c: &[u8]) -> Insn {
    Insn {
        code: u16::from_ne_bytes([c[0], c[1]]),
        jt: c[2],
        jf: c[3],
        k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
    }
}

fn program_bytes(program: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * INSN);
    for i in program {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

/// seccomp(2)'s flags for the profile's, or None for a profile the raw load cannot serve.
fn raw_flags(seccomp: &LinuxSeccomp) -> Option<u32> {
    if uses_notify(seccomp) {
        return None;
    }
    let mut flags = 0;
    for f in seccomp.flags().as_deref().unwrap_or(&[]) {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            _ => return None,
        } as u32;
    }
    Some(flags)
}

fn cache_key(seccomp: &LinuxSeccomp) -> Option<String> {
    let profile = serde_json::to_vec(seccomp).ok()?;
    let lib = libseccomp::ScmpVersion::current().ok()?;
    let uname = rustix::system::uname();
    let mut h = Sha256::new();
    h.update(b"muelle-seccomp-v1\0");
    h.update(&profile);
    h.update(format!("\0{}.{}.{}\0", lib.major, lib.minor, lib.micro));
    h.update(uname.release().to_bytes());
    h.update(b"\0");
    h.update(std::env::consts::ARCH);
    Some(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The program in a cache file: instructions, then the SHA-256 of their bytes.
fn decode(bytes: &[u8]) -> Option<Vec<libc::sock_filter>> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, sum) = bytes.split_at(body_len);
    if body.is_empty() || !body.len().is_multiple_of(INSN) || body.len() / INSN > MAX_INSNS {
        return None;
    }
    if Sha256::digest(body).as_slice() != sum {
        return None;
    }
    Some(
        body.chunks_exact(INSN)
            .map(|c| libc::sock_filter::from(insn_of(c)))
            .collect(),
    )
}

/// Exports `filter`'s program and writes it with its checksum, atomically.
fn store(filter: &ScmpFilterContext, dir: &Path, path: &Path) -> std::io::Result<()> {
    let mut exported = std::fs::File::from(rustix::fs::memfd_create(
        "muelle-seccomp",
        rustix::fs::MemfdFlags::CLOEXEC,
    )?);
    filter
        .export_bpf(&exported)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::io::Seek::rewind(&mut exported)?;
    let mut program = Vec::new();
    std::io::Read::read_to_end(&mut exported, &mut program)?;
    if decode_body_ok(&program).is_none() {
        return Err(std::io::Error::other(
            "libseccomp exported no usable program",
        ));
    }
    write_checked(dir, path, &program)
}

/// Writes `body` and its SHA-256 to `path` atomically, making the 0700 `dir` if needed.
fn write_checked(dir: &Path, path: &Path, body: &[u8]) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    let sum = Sha256::digest(body);
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(body).and_then(|()| f.write_all(&sum)))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn decode_body_ok(program: &[u8]) -> Option<()> {
    (!program.is_empty() && program.len().is_multiple_of(INSN) && program.len() / INSN <= MAX_INSNS)
        .then_some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn profile() -> LinuxSeccomp {
        serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","write","exit_group","getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn second_prepare_reads_the_stored_program() {
        let root = tempfile::tempdir().unwrap();
        let p = profile();
        assert!(matches!(
            prepare(&p, root.path()).unwrap(),
            Prepared::Filter(..)
        ));
        let Prepared::Raw { program, flags, .. } = prepare(&p, root.path()).unwrap() else {
            panic!("the second prepare compiled again");
        };
        assert!(program.len() > 4);
        assert_eq!(flags, 0);
        let dir = root.path().join(SECCOMP_DIR);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&dir).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_damaged_file_is_compiled_again() {
        let root = tempfile::tempdir().unwrap();
        let p = profile();
        prepare(&p, root.path()).unwrap();
        let file = std::fs::read_dir(root.path().join(SECCOMP_DIR))
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".bpf"))
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        assert!(matches!(
            prepare(&p, root.path()).unwrap(),
            Prepared::Filter(..)
        ));
        // Truncated to whole instructions, the checksum still fails.
        std::fs::write(&file, &bytes[..bytes.len() - 40]).unwrap();
        assert!(decode(&std::fs::read(&file).unwrap()).is_none());
    }

    #[test]
    fn the_enosys_stub_is_stored_and_read_back() {
        let root = tempfile::tempdir().unwrap();
        let p = profile();
        let want = enosys_stub(&p);
        assert!(want.is_some(), "an errno default has a stub");
        let first = prepare(&p, root.path()).unwrap();
        assert_eq!(first.enosys(), want.as_ref());
        let stored = std::fs::read_dir(root.path().join(SECCOMP_DIR))
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".enosys"))
            .unwrap()
            .path();
        let second = prepare(&p, root.path()).unwrap();
        assert!(matches!(second, Prepared::Raw { .. }));
        assert_eq!(second.enosys(), want.as_ref());
        // A damaged stub is computed again, not loaded.
        let mut bytes = std::fs::read(&stored).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&stored, &bytes).unwrap();
        assert!(decode_stub(&bytes).is_none());
        assert_eq!(prepare(&p, root.path()).unwrap().enosys(), want.as_ref());
        // A profile without a stub stores that it has none.
        let mut allow = profile();
        allow.set_default_action(oci_spec::runtime::LinuxSeccompAction::ScmpActAllow);
        assert!(prepare(&allow, root.path()).unwrap().enosys().is_none());
        assert!(prepare(&allow, root.path()).unwrap().enosys().is_none());
    }

    #[test]
    fn another_profile_is_another_key() {
        let a = profile();
        let mut b = profile();
        b.set_default_errno_ret(Some(1));
        assert_ne!(cache_key(&a), cache_key(&b));
    }
}
