//! Registry operations on manifests, tags and the session itself (ping, login, logout).

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode, Url};

use super::auth::{repository_scope, Challenge, Credentials};
use super::client::{join, read_small, RegistryClient, Request, Subject};
use super::config::{self, Lookup};
use super::error::{RegistryError, RegistryErrors, Result};
use super::names::{validate_repository, ManifestRef};
use crate::digest::{Algorithm, Digest, Digester};

/// Manifests larger than this are refused: real ones are a few KiB, and the limit keeps a
/// hostile registry from filling memory (containerd uses the same bound).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// The digest header registries send with manifests and blobs.
pub const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// A manifest as fetched: the bytes exactly as received, for hashing and storing as-is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub content_type: String,
    /// The verified digest of `bytes`: the reference when it was a digest, else the
    /// registry's `Docker-Content-Digest` when sent, else sha256 of the bytes.
    pub digest: Digest,
}

/// What a HEAD on a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// From `Docker-Content-Digest`, or the reference itself when it is a digest.
    pub digest: Option<Digest>,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

pub(super) fn digest_of(alg: Algorithm, bytes: &[u8]) -> Digest {
    let mut d = Digester::new(alg);
    d.update(bytes);
    d.finish()
}

/// The `Docker-Content-Digest` header, if present and well formed. A malformed one is an
/// error: a registry that sends garbage there cannot be trusted with the rest.
pub(super) fn header_digest(host: &str, headers: &HeaderMap) -> Result<Option<Digest>> {
    let Some(v) = headers.get(DOCKER_CONTENT_DIGEST) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| RegistryError::Protocol {
        host: host.to_string(),
        what: "Docker-Content-Digest is not ASCII".into(),
    })?;
    Digest::parse(s.trim())
        .map(Some)
        .map_err(|e| RegistryError::Protocol {
            host: host.to_string(),
            what: format!("bad Docker-Content-Digest: {e}"),
        })
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or(s).trim().to_string())
}

impl RegistryClient {
    pub(super) fn request<'a>(
        &self,
        method: Method,
        url: Url,
        what: &'a str,
        repository: &'a str,
        scopes: Vec<String>,
    ) -> Request<'a> {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            stream: None,
            what,
            repository,
            scopes,
            idempotent: true,
            timeout: Some(self.inner.opts.request_timeout),
            follow_redirects: true,
        }
    }

    pub(super) async fn repo_url(&self, host: &str, repository: &str, rest: &str) -> Result<Url> {
        validate_repository(repository)?;
        let base = self.base(host).await?;
        join(host, &base, &format!("v2/{repository}/{rest}"))
    }

    /// Checks that `host` speaks the distribution API (`GET /v2/`), authenticating if asked.
    pub async fn ping(&self, host: &str) -> Result<()> {
        let base = self.base(host).await?;
        let url = join(host, &base, "v2/")?;
        let resp = self
            .send(host, self.request(Method::GET, url, "ping", "", Vec::new()))
            .await?;
        if resp.status().is_success() {
            return Ok(());
        }
        Err(self
            .error_for(host, "", "ping", Subject::Repository, resp)
            .await)
    }

    /// Verifies credentials against `host` and records them in Docker's config.json (the
    /// configured one, or the default path).
    pub async fn login(&self, host: &str, username: &str, password: &str) -> Result<()> {
        let creds = Credentials::basic(username, password);
        let base = self.base(host).await?;
        let url = join(host, &base, "v2/")?;
        let resp = self
            .inner
            .http
            .get(url.clone())
            .timeout(self.inner.opts.request_timeout)
            .send()
            .await
            .map_err(|e| super::client::transport_error(host, "login", e))?;
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::parse_challenge);
        match (resp.status(), challenge) {
            (s, _) if s.is_success() => {}
            (StatusCode::UNAUTHORIZED, Some(Challenge::Bearer { realm, service, .. })) => {
                // A token with no scope is what `docker login` asks for: it proves the
                // credentials without claiming any repository.
                self.fetch_token(
                    host,
                    "",
                    &realm,
                    service.as_deref(),
                    &[],
                    &Lookup::Found(creds.clone()),
                )
                .await?;
            }
            (StatusCode::UNAUTHORIZED, _) => {
                let mut rb = self
                    .inner
                    .http
                    .get(url)
                    .timeout(self.inner.opts.request_timeout);
                if let Some(h) = creds.basic_header() {
                    rb = rb.header(reqwest::header::AUTHORIZATION, h);
                }
                let resp = rb
                    .send()
                    .await
                    .map_err(|e| super::client::transport_error(host, "login", e))?;
                if !resp.status().is_success() {
                    let status = resp.status().as_u16();
                    let body = read_small(host, "login", resp, 64 << 10)
                        .await
                        .unwrap_or_default();
                    let errors = RegistryErrors::parse(&body);
                    return Err(if status == 401 || status == 403 {
                        RegistryError::Unauthorized {
                            host: host.to_string(),
                            repository: String::new(),
                            errors,
                        }
                    } else {
                        RegistryError::UnexpectedStatus {
                            host: host.to_string(),
                            repository: String::new(),
                            what: "login".into(),
                            status,
                            errors,
                        }
                    });
                }
            }
            (_, _) => {
                return Err(self
                    .error_for(host, "", "login", Subject::Repository, resp)
                    .await)
            }
        }
        let path = self.config_path()?;
        let host_owned = host.to_string();
        let (user, pass) = (username.to_string(), password.to_string());
        blocking("writing the docker config", move || {
            config::store(&path, &host_owned, &user, &pass)
        })
        .await?;
        // Tokens fetched anonymously would hide the new identity until they expire.
        self.forget_tokens();
        Ok(())
    }

    /// Removes the credentials for `host` from Docker's config.json; returns whether there
    /// were any.
    pub async fn logout(&self, host: &str) -> Result<bool> {
        super::client::validate_host(host)?;
        let path = self.config_path()?;
        let host_owned = host.to_string();
        let removed = blocking("writing the docker config", move || {
            config::erase(&path, &host_owned)
        })
        .await?;
        self.forget_tokens();
        Ok(removed)
    }

    fn config_path(&self) -> Result<std::path::PathBuf> {
        self.inner
            .opts
            .credentials
            .config_path()
            .or_else(config::default_config_path)
            .ok_or_else(|| RegistryError::ConfigInvalid {
                path: "~/.docker/config.json".into(),
                reason: "neither DOCKER_CONFIG nor HOME is set".into(),
            })
    }

    /// Fetches a manifest by tag or digest, verifying its digest against the reference (when
    /// a digest) and against `Docker-Content-Digest` (when sent).
    pub async fn get_manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<FetchedManifest> {
        let mref = ManifestRef::parse(reference)?;
        let url = self
            .repo_url(host, repository, &format!("manifests/{mref}"))
            .await?;
        let mut req = self.request(
            Method::GET,
            url,
            "GET manifest",
            repository,
            vec![repository_scope(repository, false)],
        );
        req.headers = accept_headers(accept);
        let resp = self.send(host, req).await?;
        let resp = self
            .success(
                resp,
                host,
                repository,
                "GET manifest",
                Subject::Manifest(reference.to_string()),
            )
            .await?;
        let too_large = || RegistryError::ManifestTooLarge {
            host: host.to_string(),
            repository: repository.to_string(),
            reference: reference.to_string(),
            limit: MAX_MANIFEST_SIZE,
        };
        if resp.content_length().is_some_and(|l| l > MAX_MANIFEST_SIZE) {
            return Err(too_large());
        }
        let header = header_digest(host, resp.headers())?;
        let content_type = content_type(resp.headers()).unwrap_or_default();
        let bytes = read_small(host, "reading the manifest", resp, MAX_MANIFEST_SIZE)
            .await
            .map_err(|e| match e {
                RegistryError::Protocol { .. } => too_large(),
                e => e,
            })?;
        let mismatch = |expected: &Digest, actual| RegistryError::DigestMismatch {
            host: host.to_string(),
            repository: repository.to_string(),
            reference: reference.to_string(),
            expected: expected.clone(),
            actual,
        };
        for expected in [mref.digest(), header.as_ref()].into_iter().flatten() {
            let actual = digest_of(expected.algorithm(), &bytes);
            if &actual != expected {
                return Err(mismatch(expected, actual));
            }
        }
        let sha256 = digest_of(Algorithm::Sha256, &bytes);
        let digest = mref.digest().cloned().or(header).unwrap_or(sha256);
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// HEAD on a manifest: `None` if the registry does not have it.
    pub async fn head_manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<ManifestInfo>> {
        let mref = ManifestRef::parse(reference)?;
        let url = self
            .repo_url(host, repository, &format!("manifests/{mref}"))
            .await?;
        let mut req = self.request(
            Method::HEAD,
            url,
            "HEAD manifest",
            repository,
            vec![repository_scope(repository, false)],
        );
        req.headers = accept_headers(accept);
        let resp = self.send(host, req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self
            .success(
                resp,
                host,
                repository,
                "HEAD manifest",
                Subject::Manifest(reference.to_string()),
            )
            .await?;
        let header = header_digest(host, resp.headers())?;
        if let (Some(want), Some(got)) = (mref.digest(), &header) {
            if want.algorithm() == got.algorithm() && want != got {
                return Err(RegistryError::DigestMismatch {
                    host: host.to_string(),
                    repository: repository.to_string(),
                    reference: reference.to_string(),
                    expected: want.clone(),
                    actual: got.clone(),
                });
            }
        }
        let size = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Some(ManifestInfo {
            digest: mref.digest().cloned().or(header),
            content_type: content_type(resp.headers()),
            size,
        }))
    }

    /// Uploads a manifest under a tag or digest; returns its digest.
    pub async fn put_manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest> {
        let mref = ManifestRef::parse(reference)?;
        let digest = match mref.digest() {
            Some(want) => {
                let actual = digest_of(want.algorithm(), bytes);
                if &actual != want {
                    return Err(RegistryError::DigestMismatch {
                        host: host.to_string(),
                        repository: repository.to_string(),
                        reference: reference.to_string(),
                        expected: want.clone(),
                        actual,
                    });
                }
                actual
            }
            None => digest_of(Algorithm::Sha256, bytes),
        };
        let url = self
            .repo_url(host, repository, &format!("manifests/{mref}"))
            .await?;
        let mut req = self.request(
            Method::PUT,
            url,
            "PUT manifest",
            repository,
            vec![repository_scope(repository, true)],
        );
        let ct =
            HeaderValue::from_str(media_type).map_err(|_| RegistryError::InvalidReference {
                reference: media_type.to_string(),
                reason: "media type is not a valid header value",
            })?;
        req.headers.insert(CONTENT_TYPE, ct);
        req.body = Some(bytes::Bytes::copy_from_slice(bytes));
        let resp = self.send(host, req).await?;
        let resp = self
            .success(
                resp,
                host,
                repository,
                "PUT manifest",
                Subject::Manifest(reference.to_string()),
            )
            .await?;
        if let Some(got) = header_digest(host, resp.headers())? {
            if got.algorithm() == digest.algorithm() && got != digest {
                return Err(RegistryError::DigestMismatch {
                    host: host.to_string(),
                    repository: repository.to_string(),
                    reference: reference.to_string(),
                    expected: digest,
                    actual: got,
                });
            }
        }
        Ok(digest)
    }

    /// All tags of a repository, following `Link: <...>; rel="next"` pagination.
    pub async fn list_tags(&self, host: &str, repository: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.repo_url(host, repository, "tags/list").await?;
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.to_string()) {
                return Err(RegistryError::Protocol {
                    host: host.to_string(),
                    what: format!("tag list pagination of {repository} loops at {url}"),
                });
            }
            let req = self.request(
                Method::GET,
                url.clone(),
                "list tags",
                repository,
                vec![repository_scope(repository, false)],
            );
            let resp = self.send(host, req).await?;
            let resp = self
                .success(resp, host, repository, "list tags", Subject::Repository)
                .await?;
            let next = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(|l| join(host, &url, &l))
                .transpose()?;
            let body = read_small(host, "reading the tag list", resp, 16 << 20).await?;
            let page: TagList =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                    host: host.to_string(),
                    what: format!("tag list of {repository} is not JSON: {e}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => {
                    self.check_scheme(host, &n)?;
                    url = n;
                }
                None => return Ok(tags),
            }
        }
    }

    fn forget_tokens(&self) {
        self.clear_tokens();
    }
}

fn accept_headers(accept: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for a in accept {
        if let Ok(v) = HeaderValue::from_str(a) {
            h.append(ACCEPT, v);
        }
    }
    h
}

/// The target of `rel="next"` in a `Link` header (RFC 8288), e.g.
/// `</v2/x/tags/list?n=2&last=b>; rel="next"`.
pub(super) fn next_link(value: &str) -> Option<String> {
    for link in value.split(',') {
        let link = link.trim();
        let (target, params) = link.strip_prefix('<')?.split_once('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split(' ')
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

/// Runs blocking file work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RegistryError::Task {
            what,
            reason: e.to_string(),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/x/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://r/a>; rel="prev", <https://r/b>; rel=next"#).as_deref(),
            Some("https://r/b")
        );
        assert_eq!(next_link(r#"<https://r/a>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn digest_header() {
        let mut h = HeaderMap::new();
        assert_eq!(header_digest("h", &h).expect("none"), None);
        let d = Digest::sha256_of(b"x");
        h.insert(
            DOCKER_CONTENT_DIGEST,
            HeaderValue::from_str(&d.to_string()).expect("hv"),
        );
        assert_eq!(header_digest("h", &h).expect("some"), Some(d));
        h.insert(
            DOCKER_CONTENT_DIGEST,
            HeaderValue::from_static("sha256:nothex"),
        );
        assert!(header_digest("h", &h).is_err());
    }
}
