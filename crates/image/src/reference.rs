//! Image references (`busybox`, `user/app:1.0`, `localhost:5000/x@sha256:...`), parsed and
//! normalised the way Docker does it, so that a name typed at our CLI or sent by any Docker
//! client names the same image it would name in Docker.
//!
//! Grammar (distribution/reference):
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path
//! domain     := host [ ":" port ]            host: DNS labels joined by '.', or "[" IPv6 "]"
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [\w][\w.-]{0,127}
//! ```
//!
//! Normalisation: the first component is a domain only if it contains `.` or `:`, is
//! `localhost`, or has an uppercase letter (which a path may not); otherwise the domain is
//! `docker.io`, and a single-component path on `docker.io` gets `library/` in front. With
//! neither tag nor digest the tag is `latest`. `index.docker.io` is spelled `docker.io`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::digest::{Digest, DigestError};

/// Docker Hub's name in references.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The host actually serving Docker Hub's registry API.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";
/// The tag used when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// Longest `domain/path` Docker accepts.
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A string that is not a valid image reference, and why.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid reference {input:?}: {problem}")]
pub struct ReferenceError {
    pub input: String,
    pub problem: ReferenceProblem,
}

/// What is wrong with a reference.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReferenceProblem {
    #[error("empty reference")]
    Empty,
    #[error("repository name must be lowercase")]
    Uppercase,
    #[error("64-character hexadecimal strings are image IDs, not repository names")]
    HexIdentifier,
    #[error("repository name must not be more than {NAME_MAX} characters")]
    NameTooLong,
    #[error("invalid domain {0:?}")]
    InvalidDomain(String),
    #[error("empty path component in repository name")]
    EmptyComponent,
    #[error("invalid path component {0:?} (lowercase letters and digits, separated by '.', '_', '__' or dashes)")]
    InvalidComponent(String),
    #[error("invalid tag {0:?} (up to {TAG_MAX} of [A-Za-z0-9_.-], not starting with '.' or '-')")]
    InvalidTag(String),
    #[error("invalid digest: {0}")]
    Digest(DigestError),
}

/// A normalised image reference. Always has a domain and a path, and a tag, a digest or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference as Docker's `ParseNormalizedNamed` + `TagNameOnly`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let err = |problem| ReferenceError {
            input: input.to_string(),
            problem,
        };
        if input.is_empty() {
            return Err(err(ReferenceProblem::Empty));
        }
        // A bare image ID must not silently become docker.io/library/<id>:latest.
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(err(ReferenceProblem::HexIdentifier));
        }
        let (domain, rest) = split_domain(input);
        if domain != DEFAULT_DOMAIN {
            validate_domain(domain).map_err(err)?;
        }
        let (name, digest) = match rest.split_once('@') {
            Some((name, digest)) => (
                name,
                Some(Digest::parse(digest).map_err(|e| err(ReferenceProblem::Digest(e)))?),
            ),
            None => (rest, None),
        };
        // `rest` holds no domain any more, so any ':' left separates the tag.
        let (path, tag) = match name.rsplit_once(':') {
            Some((path, tag)) => {
                validate_tag(tag).map_err(err)?;
                (path, Some(tag.to_string()))
            }
            None => (name, None),
        };
        validate_path(path).map_err(err)?;
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{path}")
        } else {
            path.to_string()
        };
        if domain.len() + 1 + path.len() > NAME_MAX {
            return Err(err(ReferenceProblem::NameTooLong));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            domain: domain.to_string(),
            path,
            tag,
            digest,
        })
    }

    /// The registry domain as written in references (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, e.g. `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// What to ask the registry's `manifests/` endpoint for: the digest if there is one (it
    /// wins over a tag given with it, as in Docker), else the tag, else `latest`.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The host to contact for the registry API: Docker Hub's API is not served at `docker.io`.
    pub fn registry_host(&self) -> &str {
        if self.domain == DEFAULT_DOMAIN {
            DOCKER_HUB_REGISTRY
        } else {
            &self.domain
        }
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        validate_tag(tag).map_err(|problem| ReferenceError {
            input: tag.to_string(),
            problem,
        })?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to a digest (and no tag).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The repository in Docker's short form for display: `busybox`, `user/app`,
    /// `localhost:5000/x`.
    ///
    /// Unlike Docker, `docker.io/` is kept when dropping it would make the first path component
    /// read as a domain (`docker.io/a.b/c`), so the short form always parses back to `self`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.repository();
        }
        if let Some(official) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            if !official.contains('/') {
                return official.to_string();
            }
        }
        let first = self.path.split('/').next().unwrap_or_default();
        if looks_like_domain(first) {
            self.repository()
        } else {
            self.path.clone()
        }
    }

    /// Docker's short form with tag and digest: `busybox:latest`, `user/app@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_tag_digest(&mut s);
        s
    }

    fn push_tag_digest(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
    }
}

/// Docker's `splitDockerDomain`, without validation.
fn split_domain(input: &str) -> (&str, &str) {
    let (domain, rest) = match input.split_once('/') {
        Some((first, rest))
            if looks_like_domain(first) || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, input),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, rest)
    } else {
        (domain, rest)
    }
}

fn looks_like_domain(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost"
}

fn validate_domain(domain: &str) -> Result<(), ReferenceProblem> {
    let bad = || ReferenceProblem::InvalidDomain(domain.to_string());
    let (host_ok, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
        let ok = !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        match after {
            "" => (ok, None),
            _ => (ok, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        let (host, port) = match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        };
        (!host.is_empty() && host.split('.').all(dns_label_ok), port)
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn dns_label_ok(label: &str) -> bool {
    let b = label.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

fn validate_tag(tag: &str) -> Result<(), ReferenceProblem> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= TAG_MAX
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReferenceProblem::InvalidTag(tag.to_string()))
    }
}

fn validate_path(path: &str) -> Result<(), ReferenceProblem> {
    for component in path.split('/') {
        if component.is_empty() {
            return Err(ReferenceProblem::EmptyComponent);
        }
        // Docker's own message for the most common mistake.
        if component.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceProblem::Uppercase);
        }
        if !component_ok(component.as_bytes()) {
            return Err(ReferenceProblem::InvalidComponent(component.to_string()));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`
fn component_ok(b: &[u8]) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if b.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

impl fmt::Display for Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.repository();
        self.push_tag_digest(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parse(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn problem(s: &str) -> ReferenceProblem {
        Reference::parse(s).expect_err(s).problem
    }

    #[test]
    fn docker_normalisation() {
        for (input, full, familiar) in [
            (
                "busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            ("user/app", "docker.io/user/app:latest", "user/app:latest"),
            (
                "docker.io/busybox:1.36",
                "docker.io/library/busybox:1.36",
                "busybox:1.36",
            ),
            (
                "index.docker.io/library/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            (
                "docker.io/library/a/b",
                "docker.io/library/a/b:latest",
                "library/a/b:latest",
            ),
            ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
            (
                "localhost:5000/x",
                "localhost:5000/x:latest",
                "localhost:5000/x:latest",
            ),
            (
                "127.0.0.1:5000/a/b:tag",
                "127.0.0.1:5000/a/b:tag",
                "127.0.0.1:5000/a/b:tag",
            ),
            ("[::1]:5000/a", "[::1]:5000/a:latest", "[::1]:5000/a:latest"),
            (
                "Registry.Example.com/x",
                "Registry.Example.com/x:latest",
                "Registry.Example.com/x:latest",
            ),
            (
                "a__b-d---e/f_g.h",
                "docker.io/a__b-d---e/f_g.h:latest",
                "a__b-d---e/f_g.h:latest",
            ),
        ] {
            let r = parse(input);
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(parse(&r.familiar()), r, "{input}");
        }
    }

    #[test]
    fn parts_and_hosts() {
        let r = parse("busybox");
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.path(), "library/busybox");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.repository(), "docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(r.registry_host(), "registry-1.docker.io");
        assert_eq!(parse("localhost:5000/x").registry_host(), "localhost:5000");
    }

    #[test]
    fn digests() {
        let d = format!("sha256:{HEX}");
        let r = parse(&format!("example.com/x@{d}"));
        assert_eq!(r.domain(), "example.com");
        assert_eq!(r.tag(), None, "a digest alone gets no default tag");
        assert_eq!(r.digest().map(|d| d.to_string()), Some(d.clone()));
        assert_eq!(r.to_string(), format!("example.com/x@{d}"));

        let r = parse(&format!("name:tag@{d}"));
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(r.to_string(), format!("docker.io/library/name:tag@{d}"));
        assert_eq!(r.familiar(), format!("name:tag@{d}"));

        let r = parse("busybox").with_digest(Digest::sha256_of(b""));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{d}"));
        let r = r.with_tag("1.0").expect("tag");
        assert_eq!(r.to_string(), "docker.io/library/busybox:1.0");
        assert!(r.with_tag("-x").is_err());
    }

    #[test]
    fn familiar_keeps_ambiguous_domains() {
        let r = parse("docker.io/a.b/c");
        assert_eq!(r.familiar(), "docker.io/a.b/c:latest");
        assert_eq!(parse(&r.familiar()), r);
    }

    #[test]
    fn rejections_name_the_problem() {
        assert_eq!(problem(""), ReferenceProblem::Empty);
        assert_eq!(problem("busyBox"), ReferenceProblem::Uppercase);
        assert_eq!(problem("docker.io/User/app"), ReferenceProblem::Uppercase);
        assert_eq!(problem(HEX), ReferenceProblem::HexIdentifier);
        assert_eq!(problem("a//b"), ReferenceProblem::EmptyComponent);
        assert_eq!(problem("example.com/"), ReferenceProblem::EmptyComponent);
        assert_eq!(problem("/x"), ReferenceProblem::EmptyComponent);
        assert_eq!(problem("a/"), ReferenceProblem::EmptyComponent);
        for bad in [
            "a..b", "a___b", "-a", "a-", "a_-b", ".a", "a.", "a b", "a+b",
        ] {
            assert!(
                matches!(problem(bad), ReferenceProblem::InvalidComponent(ref c) if !c.is_empty()),
                "{bad}"
            );
        }
        for bad in [
            "busybox:",
            "busybox:-x",
            "busybox:.x",
            "busybox:a+b",
            "x/y:a/b",
        ] {
            assert!(
                matches!(problem(bad), ReferenceProblem::InvalidTag(_)),
                "{bad}"
            );
        }
        assert!(matches!(
            problem(&format!("busybox:{}", "a".repeat(129))),
            ReferenceProblem::InvalidTag(_)
        ));
        parse(&format!("busybox:{}", "a".repeat(128)));
        for bad in [
            "busybox@",
            "busybox@sha256:abc",
            "busybox@md5:d41d8cd98f00b204e9800998ecf8427e",
            &format!("busybox@sha256:{}", HEX.to_uppercase()),
            &format!("busybox@sha256:{HEX}@sha256:{HEX}"),
        ] {
            assert!(matches!(problem(bad), ReferenceProblem::Digest(_)), "{bad}");
        }
        for bad in [
            "exa_mple.com/x",
            "-example.com/x",
            "example.com:/x",
            "example.com:50a/x",
            "[zz]:5000/x",
            "[::1/x",
            "[::1]5000/x",
            "a:b:c/x",
            "busybox:a/b",
        ] {
            assert!(
                matches!(problem(bad), ReferenceProblem::InvalidDomain(_)),
                "{bad}"
            );
        }
        let long = format!("example.com/{}", "a".repeat(250));
        assert_eq!(problem(&long), ReferenceProblem::NameTooLong);
        let msg = Reference::parse("Busybox/App")
            .expect_err("upper")
            .to_string();
        assert!(
            msg.contains("\"Busybox/App\"") && msg.contains("lowercase"),
            "{msg}"
        );
    }

    #[test]
    fn serde_as_string() {
        let r = parse("busybox");
        let json = serde_json::to_string(&r).expect("ser");
        assert_eq!(json, "\"docker.io/library/busybox:latest\"");
        assert_eq!(serde_json::from_str::<Reference>(&json).expect("de"), r);
        assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
    }

    fn component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,2}"
    }

    fn domain() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some("docker.io".to_string())),
            Just(Some("index.docker.io".to_string())),
            "localhost(:[0-9]{1,5})?".prop_map(Some),
            "[a-z][a-z0-9-]{0,5}[a-z0-9](\\.[a-z0-9]{1,6}){1,2}(:[0-9]{1,5})?".prop_map(Some),
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}:[0-9]{1,5}".prop_map(Some),
            "\\[[0-9a-f]{0,4}:[0-9a-f:]{0,10}\\](:[0-9]{1,4})?".prop_map(Some),
        ]
    }

    fn reference_string() -> impl Strategy<Value = String> {
        (
            domain(),
            prop::collection::vec(component(), 1..4),
            prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            prop::option::of("[0-9a-f]{64}"),
        )
            .prop_map(|(domain, path, tag, digest)| {
                let mut s = domain.map(|d| format!("{d}/")).unwrap_or_default();
                // Without an explicit domain, a first component that looks like a domain would
                // be taken as one: keep those out of the unprefixed form.
                let path: Vec<String> = path
                    .into_iter()
                    .map(|c| if s.is_empty() { c.replace('.', "-") } else { c })
                    .collect();
                s.push_str(&path.join("/"));
                if let Some(t) = tag {
                    s.push(':');
                    s.push_str(&t);
                }
                if let Some(h) = digest {
                    s.push_str("@sha256:");
                    s.push_str(&h);
                }
                s
            })
    }

    proptest! {
        #[test]
        fn parse_display_parse_round_trips(s in reference_string()) {
            prop_assume!(s.len() < 200);
            let r = Reference::parse(&s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let full = r.to_string();
            let again = Reference::parse(&full).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again, &r);
            prop_assert_eq!(again.to_string(), full);
            let short = Reference::parse(&r.familiar()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(short, r);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,80}") {
            if let Ok(r) = Reference::parse(&s) {
                prop_assert_eq!(Reference::parse(&r.to_string()).ok(), Some(r));
            }
        }
    }
}
