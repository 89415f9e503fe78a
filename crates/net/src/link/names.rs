//! Interface names: what the kernel accepts, and the temporary name of a veth's container end
//! between its creation on the host and its rename inside the container.

use std::hash::{BuildHasher, Hasher};

use crate::{NetError, Result};

/// IFNAMSIZ less the terminating NUL.
const MAX_LEN: usize = 15;

/// The kernel's rule for a device name (`dev_valid_name`): 1 to 15 bytes, not `.` or `..`,
/// no `/`, `:` or whitespace. Checked before asking, so the error names the bad name instead
/// of a bare EINVAL.
pub(crate) fn check(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() > MAX_LEN
        || name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0');
    if bad {
        return Err(NetError::Invalid(format!(
            "invalid interface name {name:?}: 1 to {MAX_LEN} bytes without '/', ':' or spaces"
        )));
    }
    Ok(())
}

/// A fresh name for a veth's container end while it is still on the host: random, so that
/// concurrent attaches (and a leftover of a crash) never collide, and distinct from the
/// `veth` prefix the host ends use.
pub(crate) fn temp_peer() -> String {
    // RandomState is seeded per instance from the OS: random enough for a name, with no crate.
    let n = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut name = format!("mtmp{n:016x}");
    name.truncate(MAX_LEN);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_kernel_does() {
        for ok in ["eth0", "veth1234567", "br-0123456789a", "a", "x.y"] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_the_kernel_refuses() {
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "0123456789abcdef"] {
            let err = check(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("invalid interface name"), "{bad}: {err}");
        }
    }

    #[test]
    fn temporary_peer_names_are_valid_and_differ() {
        let a = temp_peer();
        let b = temp_peer();
        assert!(check(&a).is_ok(), "{a}");
        assert_eq!(a.len(), MAX_LEN);
        assert!(a.starts_with("mtmp") && !a.starts_with("veth"));
        assert_ne!(a, b);
    }
}
