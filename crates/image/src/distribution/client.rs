//! The request machinery shared by every operation: choosing http or https per host, attaching
//! credentials, answering auth challenges, retrying, and following redirects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};

use super::auth::{parse_challenge, Challenge, Credentials, TokenCache, TokenResponse};
use super::config::{CredentialSource, Lookup};
use super::error::{RegistryError, RegistryErrors, Result};
use super::retry::{parse_retry_after, RetryPolicy};

/// How a [`RegistryClient`] talks to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Hosts (`host` or `host:port`) that may be reached over plain HTTP. HTTPS is still
    /// tried first; HTTP is used only when HTTPS cannot connect at all.
    pub insecure_registries: Vec<String>,
    /// Lets loopback registries (`localhost`, `127.0.0.1`, `[::1]`, any port) fall back to
    /// plain HTTP as if they were listed in `insecure_registries`.
    pub insecure: bool,
    pub user_agent: String,
    pub credentials: CredentialSource,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// Longest silence while reading a response before the transfer is abandoned.
    pub read_timeout: Duration,
    /// Whole-request limit for small requests (manifests, tokens, HEAD, upload control).
    /// Blob bodies are bounded by `read_timeout` only, since a layer may take hours.
    pub request_timeout: Duration,
    /// Blobs up to this size are pushed with one PUT; larger ones in PATCH chunks.
    pub chunk_threshold: u64,
    /// Size of each PATCH when pushing in chunks. The PATCH body is streamed, so this is
    /// not memory: only a few small pieces of it are in flight.
    pub chunk_size: usize,
    /// Honour `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` from the environment.
    pub proxy_from_env: bool,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            insecure: false,
            user_agent: concat!("muelle/", env!("CARGO_PKG_VERSION")).to_string(),
            credentials: CredentialSource::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            // Small blobs (configs) go in one retryable PUT; the rest are streamed from the
            // store in bounded pieces, one PATCH per chunk as Docker does with one in all.
            chunk_threshold: 1 << 20,
            chunk_size: 1 << 30,
            proxy_from_env: true,
        }
    }
}

/// A client for OCI distribution registries. Cheap to clone; clones share connections, the
/// scheme chosen per host, auth challenges and cached tokens.
#[derive(Clone)]
pub struct RegistryClient {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("options", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) opts: RegistryOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Base URL (`https://host/` or `http://host/`) once a host has answered.
    bases: HashMap<String, Url>,
    /// The last challenge each host sent, so later requests authenticate up front instead of
    /// taking a 401 each time.
    challenges: HashMap<String, Challenge>,
    tokens: TokenCache,
}

/// Where a 404 points, for the error it becomes.
#[derive(Debug, Clone)]
pub(super) enum Subject {
    Repository,
    Manifest(String),
    Blob(crate::digest::Digest),
}

/// One logical request; rebuilt for each attempt, so the body is cheaply clonable bytes.
pub(super) struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// A body sent as it is produced (a blob upload), instead of `body`. It can be sent
    /// only once: a request with one is never repeated, whatever the policy.
    pub stream: Option<reqwest::Body>,
    /// For messages: "GET manifest", "PATCH blob upload"...
    pub what: &'a str,
    pub repository: &'a str,
    pub scopes: Vec<String>,
    /// May be repeated after the server saw it (false for upload steps that change state).
    pub idempotent: bool,
    /// Whole-request timeout; `None` for streamed blob bodies.
    pub timeout: Option<Duration>,
    pub follow_redirects: bool,
}

const MAX_REDIRECTS: usize = 10;

impl RegistryClient {
    /// Builds a client. TLS is rustls with the ring provider and the platform's trust store.
    pub fn new(options: RegistryOptions) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| RegistryError::TlsSetup(e.to_string()))?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| RegistryError::TlsSetup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // Redirects are followed by us: credentials must not follow a blob to its storage
            // host, and upload URLs must keep their query.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(options.user_agent.clone())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout);
        if !options.proxy_from_env {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::TlsSetup(e.to_string()))?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                http,
                opts: options,
                state: Mutex::new(State::default()),
            }),
        })
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.inner.opts
    }

    /// A client that shares this one's connections but authenticates with `credentials`:
    /// the daemon's view of a client's `X-Registry-Auth`. Tokens and challenges are not
    /// shared, since a token fetched for one user must not serve another.
    pub fn with_credentials(&self, credentials: CredentialSource) -> Self {
        let mut opts = self.inner.opts.clone();
        opts.credentials = credentials;
        RegistryClient {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                opts,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent (single inserts),
        // so a poisoned lock is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether plain HTTP may be used for `host`.
    pub(super) fn http_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        let listed = self
            .inner
            .opts
            .insecure_registries
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(name));
        listed || (self.inner.opts.insecure && is_loopback(name))
    }

    /// The base URL for `host`: HTTPS, or HTTP when HTTPS cannot connect and the host allows it.
    /// The first call probes `/v2/`, which also picks up the host's auth challenge.
    pub(super) async fn base(&self, host: &str) -> Result<Url> {
        validate_host(host)?;
        if let Some(u) = self.state().bases.get(host) {
            return Ok(u.clone());
        }
        let api = api_host(host);
        let https = parse_url(host, &format!("https://{api}/"))?;
        if !self.http_allowed(host) {
            self.state().bases.insert(host.to_string(), https.clone());
            return Ok(https);
        }
        let http = parse_url(host, &format!("http://{api}/"))?;
        let mut last = None;
        for attempt in 1..=self.inner.opts.retry.max_attempts.max(1) {
            for base in [&https, &http] {
                let url = join(host, base, "v2/")?;
                match self
                    .inner
                    .http
                    .get(url)
                    .timeout(self.inner.opts.request_timeout)
                    .send()
                    .await
                {
                    Ok(resp) => {
                        self.remember_challenge(host, &resp);
                        self.state().bases.insert(host.to_string(), base.clone());
                        return Ok(base.clone());
                    }
                    Err(e) => last = Some(e),
                }
            }
            if attempt < self.inner.opts.retry.max_attempts {
                tokio::time::sleep(self.inner.opts.retry.backoff(attempt)).await;
            }
        }
        Err(match last {
            Some(e) => transport_error(host, "connecting", e),
            None => RegistryError::Protocol {
                host: host.to_string(),
                what: "no connection attempt was made".into(),
            },
        })
    }

    pub(super) fn clear_tokens(&self) {
        self.state().tokens = TokenCache::default();
    }

    fn remember_challenge(&self, host: &str, resp: &Response) {
        if resp.status() != StatusCode::UNAUTHORIZED {
            return;
        }
        if let Some(c) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
        {
            self.state().challenges.insert(host.to_string(), c);
        }
    }

    pub(super) fn credentials(&self, host: &str) -> Result<Lookup> {
        self.inner.opts.credentials.lookup(host)
    }

    /// The `Authorization` value for a request needing `scopes`, from what the host last
    /// challenged with. `None` before the host has challenged (or when it never does).
    async fn authorization(
        &self,
        host: &str,
        scopes: &[String],
        repository: &str,
    ) -> Result<Option<String>> {
        let challenge = self.state().challenges.get(host).cloned();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic { .. }) => match self.credentials(host)? {
                Lookup::Found(c) => Ok(c.basic_header()),
                _ => Ok(None),
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let key = TokenCache::key(host, scopes);
                if let Some(t) = self.state().tokens.get(&key) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let creds = self.credentials(host)?;
                let token = self
                    .fetch_token(host, repository, &realm, service.as_deref(), scopes, &creds)
                    .await?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Asks the token realm for a token covering `scopes` and caches it.
    pub(super) async fn fetch_token(
        &self,
        host: &str,
        repository: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        creds: &Lookup,
    ) -> Result<String> {
        let mut url = parse_url(host, realm)?;
        self.check_scheme(host, &url)?;
        let mut req = match creds {
            Lookup::Found(Credentials::IdentityToken { token, .. }) => {
                // OAuth2 refresh-token grant (token spec, "oauth.md"): the identity token
                // from a previous login is exchanged for an access token.
                let mut form = Url::parse("x:/").map_err(|e| RegistryError::Protocol {
                    host: host.to_string(),
                    what: e.to_string(),
                })?;
                {
                    let mut q = form.query_pairs_mut();
                    q.append_pair("grant_type", "refresh_token");
                    q.append_pair("refresh_token", token);
                    q.append_pair("client_id", "muelle");
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    if !scopes.is_empty() {
                        q.append_pair("scope", &scopes.join(" "));
                    }
                }
                self.inner
                    .http
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.query().unwrap_or_default().to_string())
            }
            _ => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                    if let Lookup::Found(Credentials::Basic { username, .. }) = creds {
                        q.append_pair("account", username);
                    }
                }
                let mut r = self.inner.http.get(url);
                if let Lookup::Found(c) = creds {
                    if let Some(h) = c.basic_header() {
                        r = r.header(AUTHORIZATION, h);
                    }
                }
                r
            }
        };
        req = req.timeout(self.inner.opts.request_timeout);
        let resp = self.send_simple(host, req, "fetching a token").await?;
        let status = resp.status();
        let body = read_small(host, "reading the token", resp, 1 << 20).await?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            if let Lookup::Helper(helper) = creds {
                return Err(RegistryError::CredentialHelperUnsupported {
                    host: host.to_string(),
                    helper: helper.clone(),
                });
            }
            return Err(RegistryError::Unauthorized {
                host: host.to_string(),
                repository: repository.to_string(),
                errors: RegistryErrors::parse(&body),
            });
        }
        if !status.is_success() {
            return Err(RegistryError::UnexpectedStatus {
                host: host.to_string(),
                repository: repository.to_string(),
                what: "token request".into(),
                status: status.as_u16(),
                errors: RegistryErrors::parse(&body),
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
                host: host.to_string(),
                what: format!("token response is not JSON: {e}"),
            })?;
        let token = parsed
            .bearer()
            .ok_or_else(|| RegistryError::Protocol {
                host: host.to_string(),
                what: "token response has neither token nor access_token".into(),
            })?
            .to_string();
        self.state().tokens.put(
            TokenCache::key(host, scopes),
            token.clone(),
            parsed.lifetime(),
        );
        Ok(token)
    }

    /// Sends a request that needs no registry auth (token endpoint), with retries.
    async fn send_simple(
        &self,
        host: &str,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Response> {
        let policy = &self.inner.opts.retry;
        let mut attempt = 1;
        loop {
            let Some(r) = req.try_clone() else {
                return Err(RegistryError::Protocol {
                    host: host.to_string(),
                    what: format!("{what}: request cannot be repeated"),
                });
            };
            match r.send().await {
                Ok(resp)
                    if RetryPolicy::retryable_status(resp.status().as_u16())
                        && attempt < policy.max_attempts =>
                {
                    tokio::time::sleep(wait_for(policy, attempt, &resp)).await;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if e.is_connect() && attempt < policy.max_attempts => {
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
                Err(e) => return Err(transport_error(host, what, e)),
            }
            attempt += 1;
        }
    }

    /// Refuses URLs (realms, redirects, upload locations) that would downgrade to plain HTTP
    /// for a registry not allowed to use it, or that are not HTTP at all.
    pub(super) fn check_scheme(&self, host: &str, url: &Url) -> Result<()> {
        match url.scheme() {
            "https" => Ok(()),
            "http" => {
                let target = url_authority(url);
                if self.http_allowed(host) || self.http_allowed(&target) {
                    Ok(())
                } else {
                    Err(RegistryError::InsecureNotAllowed {
                        host: host.to_string(),
                        url: url.to_string(),
                    })
                }
            }
            _ => Err(RegistryError::UnsupportedScheme {
                host: host.to_string(),
                url: url.to_string(),
            }),
        }
    }

    /// Sends `req` to `host`'s registry: authenticates (answering one 401 challenge per
    /// request), retries per the policy, and follows redirects when asked. Returns the final
    /// response whatever its status; callers map statuses to errors with [`Self::error_for`].
    pub(super) async fn send(&self, host: &str, mut req: Request<'_>) -> Result<Response> {
        let base = self.base(host).await?;
        let policy = self.inner.opts.retry.clone();
        let mut attempt = 1u32;
        let mut reauthed = false;
        let mut redirects = 0usize;
        let single_shot = req.stream.is_some();
        loop {
            // Credentials go only to the registry itself, never to a storage host a blob was
            // redirected to.
            let same_host = url_authority(&req.url) == url_authority(&base)
                && req.url.scheme() == base.scheme();
            let auth = if same_host {
                self.authorization(host, &req.scopes, req.repository)
                    .await?
            } else {
                None
            };
            let mut rb = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .headers(req.headers.clone());
            if let Some(a) = &auth {
                rb = rb.header(AUTHORIZATION, a);
            }
            if let Some(stream) = req.stream.take() {
                rb = rb.body(stream);
            } else if let Some(b) = &req.body {
                rb = rb.body(b.clone());
            } else if matches!(req.method, Method::PUT | Method::POST | Method::PATCH) {
                rb = rb.header("content-length", HeaderValue::from_static("0"));
            }
            if let Some(t) = req.timeout {
                rb = rb.timeout(t);
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    // A request that never connected never reached the server, so even a
                    // state-changing upload step may be repeated.
                    let again =
                        e.is_connect() || (req.idempotent && (e.is_timeout() || e.is_request()));
                    if again && !single_shot && attempt < policy.max_attempts && !is_tls(&e) {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(transport_error(host, req.what, e));
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && same_host && !reauthed && !single_shot {
                reauthed = true;
                if self.on_unauthorized(host, &req.scopes, &resp, auth.is_some()) {
                    continue;
                }
                return Ok(resp);
            }
            if RetryPolicy::retryable_status(status.as_u16())
                && !single_shot
                && attempt < policy.max_attempts
            {
                let may_repeat = req.idempotent || status == StatusCode::TOO_MANY_REQUESTS;
                let wait = wait_for(&policy, attempt, &resp);
                if may_repeat && wait <= policy.max_retry_after {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            if req.follow_redirects
                && !single_shot
                && status.is_redirection()
                && status != StatusCode::NOT_MODIFIED
            {
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(RegistryError::Protocol {
                        host: host.to_string(),
                        what: format!("{}: more than {MAX_REDIRECTS} redirects", req.what),
                    });
                }
                let next = location(host, &req.url, &resp)?;
                self.check_scheme(host, &next)?;
                if status == StatusCode::SEE_OTHER && req.method != Method::HEAD {
                    req.method = Method::GET;
                    req.body = None;
                }
                req.url = next;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Handles a 401: records the challenge and drops the token that failed. Returns whether
    /// repeating the request can help (a new challenge, or credentials not yet tried).
    fn on_unauthorized(
        &self,
        host: &str,
        scopes: &[String],
        resp: &Response,
        had_auth: bool,
    ) -> bool {
        let Some(challenge) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
        else {
            return false;
        };
        let mut st = self.state();
        let key = TokenCache::key(host, scopes);
        st.tokens.remove(&key);
        let changed = st.challenges.get(host) != Some(&challenge);
        st.challenges.insert(host.to_string(), challenge.clone());
        match challenge {
            // A Bearer challenge always gets one token attempt: the cached one may just have
            // been revoked.
            Challenge::Bearer { .. } => true,
            Challenge::Basic { .. } => changed || !had_auth,
        }
    }

    /// The response if it succeeded, else the registry's error for it (see `error_for`).
    pub(super) async fn success(
        &self,
        resp: Response,
        host: &str,
        repository: &str,
        what: &str,
        subject: Subject,
    ) -> Result<Response> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.error_for(host, repository, what, subject, resp).await)
    }

    /// Turns a failed response into the error naming what failed.
    pub(super) async fn error_for(
        &self,
        host: &str,
        repository: &str,
        what: &str,
        subject: Subject,
        resp: Response,
    ) -> RegistryError {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_small(host, what, resp, 64 << 10)
            .await
            .unwrap_or_default();
        let errors = RegistryErrors::parse(&body);
        let (host, repository) = (host.to_string(), repository.to_string());
        match status.as_u16() {
            401 => {
                if let Ok(Lookup::Helper(helper)) = self.credentials(&host) {
                    return RegistryError::CredentialHelperUnsupported { host, helper };
                }
                RegistryError::Unauthorized {
                    host,
                    repository,
                    errors,
                }
            }
            403 => RegistryError::Denied {
                host,
                repository,
                errors,
            },
            404 if errors.has_code("NAME_UNKNOWN") => RegistryError::NameUnknown {
                host,
                repository,
                errors,
            },
            404 => match subject {
                Subject::Manifest(reference) => RegistryError::ManifestUnknown {
                    host,
                    repository,
                    reference,
                    errors,
                },
                Subject::Blob(digest) => RegistryError::BlobUnknown {
                    host,
                    repository,
                    digest,
                    errors,
                },
                Subject::Repository => RegistryError::NameUnknown {
                    host,
                    repository,
                    errors,
                },
            },
            429 => RegistryError::TooManyRequests {
                host,
                repository,
                retry_after,
            },
            s if s >= 500 => RegistryError::Server {
                host,
                repository,
                what: what.to_string(),
                status: s,
                attempts: self.inner.opts.retry.max_attempts,
                errors,
            },
            s => RegistryError::UnexpectedStatus {
                host,
                repository,
                what: what.to_string(),
                status: s,
                errors,
            },
        }
    }
}

fn wait_for(policy: &RetryPolicy, attempt: u32, resp: &Response) -> Duration {
    let backoff = policy.backoff(attempt);
    let asked = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    asked.map_or(backoff, |a| a.max(backoff))
}

/// Reads a body that is expected to be small, refusing more than `limit` bytes.
pub(super) async fn read_small(
    host: &str,
    what: &str,
    mut resp: Response,
    limit: u64,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(host, what, e))?
    {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(RegistryError::Protocol {
                host: host.to_string(),
                what: format!("{what}: response larger than {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `Location` resolved against the request URL (it may be relative), query kept.
pub(super) fn location(host: &str, base: &Url, resp: &Response) -> Result<Url> {
    let value = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Protocol {
            host: host.to_string(),
            what: format!("HTTP {} without a Location header", resp.status().as_u16()),
        })?;
    base.join(value).map_err(|e| RegistryError::Protocol {
        host: host.to_string(),
        what: format!("bad Location {value:?}: {e}"),
    })
}

pub(super) fn transport_error(host: &str, what: &str, e: reqwest::Error) -> RegistryError {
    let host = host.to_string();
    if is_tls(&e) {
        RegistryError::Tls { host, source: e }
    } else if e.is_timeout() {
        RegistryError::Timeout {
            host,
            what: what.to_string(),
        }
    } else if e.is_connect() {
        RegistryError::Connect { host, source: e }
    } else {
        RegistryError::Http {
            host,
            what: what.to_string(),
            source: e,
        }
    }
}

/// Whether a rustls error is somewhere in the cause chain (reqwest wraps it in hyper and io
/// errors).
fn is_tls(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

pub(super) fn parse_url(host: &str, s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| RegistryError::Protocol {
        host: host.to_string(),
        what: format!("bad URL {s:?}: {e}"),
    })
}

pub(super) fn join(host: &str, base: &Url, path: &str) -> Result<Url> {
    base.join(path).map_err(|e| RegistryError::Protocol {
        host: host.to_string(),
        what: format!("bad URL path {path:?}: {e}"),
    })
}

/// `host[:port]` of a URL, with the default port left out, as hosts are written.
fn url_authority(url: &Url) -> String {
    // host_str keeps the brackets of an IPv6 literal, as hosts are written.
    let h = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

/// Docker Hub's API lives on another name than the one images are named with.
pub(super) fn api_host(host: &str) -> &str {
    match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        h => h,
    }
}

/// The host without its port (`[::1]:5000` → `[::1]`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn is_loopback(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

/// A registry host is `name[:port]` or `[ipv6][:port]`; anything else (paths, userinfo,
/// schemes) would change the URL it ends up in.
pub(super) fn validate_host(host: &str) -> Result<()> {
    let bad = |reason| RegistryError::InvalidHost {
        host: host.to_string(),
        reason,
    };
    if host.is_empty() || host.len() > 255 {
        return Err(bad("must be 1 to 255 bytes long"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
    {
        return Err(bad(
            "allowed characters are letters, digits, '-', '.', '_', ':', '[' and ']'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "registry.example.com",
            "127.0.0.1:5000",
            "[::1]:443",
            "localhost",
        ] {
            validate_host(ok).expect(ok);
        }
        for bad in ["", "a/b", "user@host", "http://x", "a b", "h?x"] {
            assert!(validate_host(bad).is_err(), "{bad}");
        }
        assert_eq!(host_name("[::1]:5000"), "[::1]");
        assert_eq!(host_name("localhost:5000"), "localhost");
        assert_eq!(host_name("r.example"), "r.example");
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    }

    #[test]
    fn insecure_rules() {
        let c = |insecure, list: &[&str]| {
            RegistryClient::new(RegistryOptions {
                insecure,
                insecure_registries: list.iter().map(|s| s.to_string()).collect(),
                ..RegistryOptions::default()
            })
            .expect("client")
        };
        let plain = c(false, &[]);
        assert!(
            !plain.http_allowed("localhost:5000"),
            "loopback needs the flag"
        );
        assert!(!plain.http_allowed("r.example"));
        let lo = c(true, &[]);
        assert!(lo.http_allowed("localhost:5000"));
        assert!(lo.http_allowed("127.0.0.1:1"));
        assert!(lo.http_allowed("[::1]:5000"));
        assert!(
            !lo.http_allowed("r.example"),
            "the flag is for loopback only"
        );
        let listed = c(false, &["r.example:5000", "s.example"]);
        assert!(listed.http_allowed("r.example:5000"));
        assert!(!listed.http_allowed("r.example:5001"));
        assert!(listed.http_allowed("s.example:8080"));
        let https = Url::parse("https://r.example/").expect("url");
        let http = Url::parse("http://storage.example/x").expect("url");
        let ftp = Url::parse("ftp://r.example/").expect("url");
        plain.check_scheme("r.example", &https).expect("https");
        assert!(matches!(
            plain.check_scheme("r.example", &http),
            Err(RegistryError::InsecureNotAllowed { .. })
        ));
        assert!(matches!(
            plain.check_scheme("r.example", &ftp),
            Err(RegistryError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn authorities() {
        let u = |s: &str| url_authority(&Url::parse(s).expect("url"));
        assert_eq!(u("https://r.example/v2/"), "r.example");
        assert_eq!(u("https://r.example:443/v2/"), "r.example");
        assert_eq!(u("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(u("http://[::1]:5000/"), "[::1]:5000");
    }
}
