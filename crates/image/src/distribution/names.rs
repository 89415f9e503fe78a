//! Validation of repository names and references before they are put into URLs.

use super::error::{RegistryError, Result};
use crate::digest::Digest;

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    Tag(String),
    Digest(Digest),
}

impl ManifestRef {
    /// A digest if it has a ':' (tags cannot), else a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
    pub fn parse(reference: &str) -> Result<Self> {
        let bad = |reason| RegistryError::InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        if reference.contains(':') {
            return Digest::parse(reference)
                .map(ManifestRef::Digest)
                .map_err(|e| bad(e.reason));
        }
        let mut bytes = reference.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !first_ok || reference.len() > 128 {
            return Err(bad(
                "a tag is 1 to 128 characters and starts with a letter, digit or '_'",
            ));
        }
        if !bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(bad(
                "a tag may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(ManifestRef::Tag(reference.to_string()))
    }

    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ManifestRef::Digest(d) => Some(d),
            ManifestRef::Tag(_) => None,
        }
    }
}

impl std::fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestRef::Tag(t) => f.write_str(t),
            ManifestRef::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// Repository names per the distribution spec: `/`-separated components of lowercase
/// alphanumerics joined by `.`, `_`, `__` or runs of `-`.
pub fn validate_repository(repository: &str) -> Result<()> {
    let bad = |reason| RegistryError::InvalidRepository {
        repository: repository.to_string(),
        reason,
    };
    if repository.is_empty() || repository.len() > 255 {
        return Err(bad("must be 1 to 255 characters long"));
    }
    for component in repository.split('/') {
        let b = component.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
            return Err(bad(
                "each path component must start and end with a lowercase letter or digit",
            ));
        }
        let mut i = 0;
        while i < b.len() {
            if alnum(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !alnum(b[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            if !ok {
                return Err(bad(
                    "components are lowercase letters and digits joined by '.', '_', '__' or '-'",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories() {
        for ok in [
            "busybox",
            "library/busybox",
            "a/b/c",
            "a.b_c__d---e",
            "x9/0y",
        ] {
            validate_repository(ok).expect(ok);
        }
        for bad in [
            "", "Busy", "a//b", "/a", "a/", "a..b", "a___b", "-a", "a-", "a b", "a/../b", "a?b",
            "a%2f",
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn references() {
        assert_eq!(
            ManifestRef::parse("latest").expect("tag"),
            ManifestRef::Tag("latest".into())
        );
        assert_eq!(
            ManifestRef::parse("_v1.2-rc").expect("tag"),
            ManifestRef::Tag("_v1.2-rc".into())
        );
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            ManifestRef::parse(&d.to_string()).expect("digest"),
            ManifestRef::Digest(d)
        );
        for bad in [
            "",
            ".x",
            "-x",
            "a/b",
            "a?b",
            "sha256:abc",
            "md5:00",
            &"t".repeat(129),
        ] {
            assert!(ManifestRef::parse(bad).is_err(), "{bad}");
        }
    }
}
