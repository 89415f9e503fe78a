//! Just enough of Docker's reference grammar for a client: split name, tag and digest, default
//! the tag, find the registry a name lives on (for credentials) and print names in their
//! familiar form. The daemon does the full normalisation.

use anyhow::{bail, Result};

pub const DOCKER_HUB: &str = "docker.io";
/// The key docker's config.json uses for Docker Hub credentials.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(s: &str) -> Result<Reference> {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (s, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(rest[slash + i + 1..].to_owned())),
            None => (rest, None),
        };
        if name.is_empty() || tag.as_deref() == Some("") || digest.as_deref() == Some("") {
            bail!("invalid reference format");
        }
        let path = match name.split_once('/') {
            Some((first, p)) if is_domain(first) => p,
            _ => name,
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            bail!("invalid reference format: repository name ({path}) must be lowercase");
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':');
        if !name.chars().all(ok) || name.starts_with(['.', '-', '_', '/']) || name.ends_with('/') {
            bail!("invalid reference format");
        }
        if let Some(t) = &tag {
            if t.len() > 128
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                bail!("invalid reference format");
            }
        }
        if let Some(d) = &digest {
            if !d.contains(':') {
                bail!("invalid reference format");
            }
        }
        Ok(Reference {
            name: name.to_owned(),
            tag,
            digest,
        })
    }

    /// The tag the API should be asked for: the digest if there is one, else the tag or "latest".
    pub fn api_tag(&self) -> String {
        self.digest
            .clone()
            .or_else(|| self.tag.clone())
            .unwrap_or_else(|| "latest".to_owned())
    }

    /// `docker.io/library/busybox:latest`, as `docker pull -q` prints it.
    pub fn normalized(&self) -> String {
        let mut s = normalize_name(&self.name);
        match (&self.tag, &self.digest) {
            (_, Some(d)) => {
                if let Some(t) = &self.tag {
                    s.push(':');
                    s.push_str(t);
                }
                s.push('@');
                s.push_str(d);
            }
            (Some(t), None) => {
                s.push(':');
                s.push_str(t);
            }
            (None, None) => s.push_str(":latest"),
        }
        s
    }

    pub fn domain(&self) -> &str {
        match self.name.split_once('/') {
            Some((first, _)) if is_domain(first) => first,
            _ => DOCKER_HUB,
        }
    }
}

fn is_domain(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

pub fn normalize_name(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if is_domain(first) => name.to_owned(),
        Some(_) => format!("{DOCKER_HUB}/{name}"),
        None => format!("{DOCKER_HUB}/library/{name}"),
    }
}

/// `docker.io/library/busybox:latest` → `busybox:latest`, as docker lists names.
pub fn familiar(s: &str) -> &str {
    let s = s.strip_prefix("docker.io/").unwrap_or(s);
    s.strip_prefix("library/")
        .filter(|rest| !rest.contains('/'))
        .unwrap_or(s)
}

/// The credentials key for a registry host.
pub fn auth_key(domain: &str) -> String {
    if domain == DOCKER_HUB || domain == "index.docker.io" || domain == "registry-1.docker.io" {
        DOCKER_HUB_AUTH_KEY.to_owned()
    } else {
        domain.to_owned()
    }
}

/// Splits `repo:tag` (the tag is after the last `/`).
pub fn split_tag(s: &str) -> (&str, Option<&str>) {
    let slash = s.rfind('/').map_or(0, |i| i + 1);
    match s[slash..].rfind(':') {
        Some(i) => (&s[..slash + i], Some(&s[slash + i + 1..])),
        None => (s, None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_normalise() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(
            (r.name.as_str(), r.api_tag()),
            ("busybox", "latest".to_owned())
        );
        assert_eq!(r.normalized(), "docker.io/library/busybox:latest");
        assert_eq!(r.domain(), "docker.io");
        let r = Reference::parse("127.0.0.1:5000/a/b:v1").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000/a/b", Some("v1"))
        );
        assert_eq!(r.domain(), "127.0.0.1:5000");
        assert_eq!(r.normalized(), "127.0.0.1:5000/a/b:v1");
        let r = Reference::parse("localhost:5000/x@sha256:abc").unwrap();
        assert_eq!(r.api_tag(), "sha256:abc");
        assert_eq!(
            Reference::parse("me/app").unwrap().normalized(),
            "docker.io/me/app:latest"
        );
        assert!(Reference::parse("Busybox").is_err());
        assert!(Reference::parse("busybox:").is_err());
        assert!(Reference::parse("a b").is_err());
        assert!(Reference::parse("").is_err());
    }

    #[test]
    fn familiar_names() {
        assert_eq!(
            familiar("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar("docker.io/me/app:1"), "me/app:1");
        assert_eq!(familiar("busybox:latest"), "busybox:latest");
        assert_eq!(familiar("127.0.0.1:5000/x:1"), "127.0.0.1:5000/x:1");
        assert_eq!(
            split_tag("127.0.0.1:5000/x:1"),
            ("127.0.0.1:5000/x", Some("1"))
        );
        assert_eq!(split_tag("127.0.0.1:5000/x"), ("127.0.0.1:5000/x", None));
        assert_eq!(auth_key("docker.io"), DOCKER_HUB_AUTH_KEY);
    }
}
