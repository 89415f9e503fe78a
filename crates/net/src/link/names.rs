//! Interface names: what the kernel accepts, and the temporary name of a veth's container end
//! between its creation on the host and its rename inside the container.

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
}
