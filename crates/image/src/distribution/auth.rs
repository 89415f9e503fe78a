//! Authentication: `WWW-Authenticate` challenges, credentials, scopes and the token cache.
//!
//! The flow is Docker's token auth (distribution `docs/spec/auth/token.md`): a registry that
//! wants a token answers 401 with `WWW-Authenticate: Bearer realm=..,service=..,scope=..`; the
//! client asks the realm for a token covering the scopes it needs (with Basic credentials when
//! it has some, anonymously otherwise) and repeats the request with `Authorization: Bearer`.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

/// What a registry asked for in a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        /// Scopes the registry named; requested on top of ours since they are what it checks.
        scope: Vec<String>,
    },
}

/// Parses one `WWW-Authenticate` value. Only the first challenge is read: registries send one.
/// Returns `None` for schemes we do not speak or a Bearer challenge without a realm.
pub fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = match value.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, ""),
    };
    let params = parse_params(rest);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic {
            realm: get("realm"),
        });
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let realm = get("realm")?;
        let scope = get("scope")
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        return Some(Challenge::Bearer {
            realm,
            service: get("service"),
            scope,
        });
    }
    None
}

/// `k=v, k="quoted, with \"escapes\""` → pairs. Lenient: a malformed tail is dropped rather
/// than failing the whole header, since the realm usually comes first.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' || c.is_ascii_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            return out;
        }
        while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace()) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            return out;
        }
        chars.next();
        while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return out,
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => val.push(c),
                        None => return out,
                    },
                    Some(c) => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_ascii_whitespace() {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        out.push((key, val));
    }
}

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password (or personal access token), sent as Basic auth.
    Basic { username: String, password: String },
    /// A refresh token from an OAuth2 login (`identitytoken` in config.json), exchanged at the
    /// token realm with `grant_type=refresh_token`.
    IdentityToken { username: String, token: String },
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::IdentityToken { .. } => None,
        }
    }
}

/// Secrets never reach logs through `{:?}`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => {
                write!(
                    f,
                    "Basic {{ username: {username:?}, password: <redacted> }}"
                )
            }
            Credentials::IdentityToken { username, .. } => {
                write!(
                    f,
                    "IdentityToken {{ username: {username:?}, token: <redacted> }}"
                )
            }
        }
    }
}

/// The access a request needs (a token scope, `repository:<name>:<actions>`).
pub fn repository_scope(repository: &str, push: bool) -> String {
    if push {
        format!("repository:{repository}:pull,push")
    } else {
        format!("repository:{repository}:pull")
    }
}

/// The token endpoint's answer. `token` is the spec's name, `access_token` OAuth2's; both may
/// appear and are then equal.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    pub fn bearer(&self) -> Option<&str> {
        self.token
            .as_deref()
            .or(self.access_token.as_deref())
            .filter(|t| !t.is_empty())
    }

    /// How long the token may be reused. The spec's default lifetime is 60 seconds; a margin
    /// is kept so a token does not expire between our check and the registry's.
    pub fn lifetime(&self) -> Duration {
        let secs = self.expires_in.filter(|s| *s > 0).unwrap_or(60);
        Duration::from_secs(secs.saturating_sub(secs.min(10) / 2))
    }
}

/// Tokens per (host, sorted scope set), each until its expiry.
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: HashMap<(String, String), (String, Instant)>,
}

impl TokenCache {
    pub fn key(host: &str, scopes: &[String]) -> (String, String) {
        let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
        s.sort_unstable();
        s.dedup();
        (host.to_string(), s.join(" "))
    }

    pub fn get(&self, key: &(String, String)) -> Option<String> {
        self.tokens
            .get(key)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }

    pub fn put(&mut self, key: (String, String), token: String, lifetime: Duration) {
        // Expired entries are dropped here, so the map stays as small as the live set.
        let now = Instant::now();
        self.tokens.retain(|_, (_, until)| *until > now);
        self.tokens.insert(key, (token, now + lifetime));
    }

    pub fn remove(&mut self, key: &(String, String)) {
        self.tokens.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: vec!["repository:library/busybox:pull".into()],
            })
        );
    }

    #[test]
    fn challenge_variants() {
        assert_eq!(
            parse_challenge(r#"basic realm="Registry Realm""#),
            Some(Challenge::Basic {
                realm: Some("Registry Realm".into())
            })
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm = "r\"x", scope="a:b:pull c:d:push",error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "r\"x".into(),
                service: None,
                scope: vec!["a:b:pull".into(), "c:d:push".into()],
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None, "no realm");
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(""), None);
        assert_eq!(
            parse_challenge(r#"Bearer realm="unterminated"#),
            None,
            "a broken quote loses the realm"
        );
    }

    #[test]
    fn token_response_fields() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":300}"#).expect("json");
        assert_eq!(t.bearer(), Some("a"));
        assert_eq!(t.lifetime(), Duration::from_secs(295));
        let t: TokenResponse = serde_json::from_str(r#"{"token":"t"}"#).expect("json");
        assert_eq!(t.bearer(), Some("t"));
        assert_eq!(t.lifetime(), Duration::from_secs(55));
        let t: TokenResponse = serde_json::from_str(r#"{"token":""}"#).expect("json");
        assert_eq!(t.bearer(), None);
    }

    #[test]
    fn token_cache_keys_ignore_scope_order_and_expire() {
        let mut c = TokenCache::default();
        let k1 = TokenCache::key("h", &["b".into(), "a".into()]);
        let k2 = TokenCache::key("h", &["a".into(), "b".into(), "a".into()]);
        assert_eq!(k1, k2);
        c.put(k1.clone(), "tok".into(), Duration::from_secs(60));
        assert_eq!(c.get(&k2).as_deref(), Some("tok"));
        c.put(k1.clone(), "old".into(), Duration::ZERO);
        assert_eq!(c.get(&k1), None, "expired");
        assert_eq!(c.get(&TokenCache::key("other", &["a".into()])), None);
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials::basic("me", "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(c.basic_header().as_deref(), Some("Basic bWU6czNjcmV0"));
    }
}
