//! Filesystem helpers the engine's stores share: durable writes (a reader or a crash sees
//! the old or the new content, never part), private directories, the leftovers of writes
//! cut short, the size of a tree, and whether an executable needs a loader.

use std::path::Path;

// The shim writes its exit record the same way: one implementation, the supervisor's.
pub(crate) use muelle_supervisor::durable::{
    write_atomic, write_atomic_mode, write_durable, write_durable_mode,
};

/// Removes what a write cut short by a crash or a full disk left in a directory:
/// `write_durable`'s `.NAME.tmp` (the shim's exit record is written the same way).
pub(crate) fn remove_temporary_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Creates `dir` (and missing parents) and closes it to other host users: a container's
/// directories hold its config, logs and rootfs, and a rootfs reachable by others would let
/// them run setuid binaries planted by container root (CVE-2021-41091).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The bytes of the regular files under `p`, not following links; unreadable parts count
/// as empty (a size is an estimate for `ps -s`, not a reason to fail).
pub(crate) fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

/// The program interpreter (`PT_INTERP`: the dynamic loader) a 64-bit little-endian ELF
/// executable asks for; `None` for a static one.
pub(crate) fn elf_interpreter(p: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut f = std::fs::File::open(p)?;
    let mut h = [0u8; 64];
    f.read_exact(&mut h)?;
    if &h[..4] != b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return Err(bad("not a 64-bit little-endian ELF executable"));
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let (phoff, phentsize, phnum) = (u64_at(&h, 32), u16_at(&h, 54), u16_at(&h, 56));
    if phentsize < 56 {
        return Err(bad("program headers too small"));
    }
    let mut ph = vec![0u8; usize::from(phentsize)];
    for i in 0..u64::from(phnum) {
        f.seek(SeekFrom::Start(phoff + i * u64::from(phentsize)))?;
        f.read_exact(&mut ph)?;
        // PT_INTERP
        if u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) == 3 {
            let (off, size) = (u64_at(&ph, 8), u64_at(&ph, 32).min(4096));
            let mut name = vec![0u8; size as usize];
            f.seek(SeekFrom::Start(off))?;
            f.read_exact(&mut name)?;
            let name = String::from_utf8_lossy(&name)
                .trim_end_matches('\0')
                .to_string();
            return Ok(Some(name));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_interpreter_of_a_dynamic_executable_and_of_a_non_elf() {
        let exe = std::env::current_exe().unwrap();
        let interp = elf_interpreter(&exe).unwrap().unwrap();
        assert!(interp.contains("ld-linux"), "{interp}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("script");
        std::fs::write(&p, vec![b'#'; 100]).unwrap();
        assert!(elf_interpreter(&p).is_err());
    }

    #[test]
    fn durable_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rec.json");
        write_durable(&p, b"one").unwrap();
        write_durable(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        std::fs::write(dir.path().join(".rec.json.tmp"), b"torn").unwrap();
        remove_temporary_files(dir.path());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rec.json")]);
        assert_eq!(dir_size(dir.path()), 3);
    }
}
