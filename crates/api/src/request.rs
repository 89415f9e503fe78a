//! Reading requests at the edge: query parameters, filters, JSON bodies and the
//! `X-Registry-Auth` header, each turned into typed values or a 400 naming what was wrong.

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine as _;
use muelle_image::distribution::Credentials;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

/// The query string's parameters, in order (a key may repeat: `names=a&names=b`).
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or("")))
    }
}

impl Params {
    pub fn parse(query: &str) -> Self {
        Params(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of `key` (Go's `FormValue` takes the first; clients send one).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value of `key`.
    pub fn string(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean as Docker's clients send them (`1`, `true`, `0`, `false`...). Docker
    /// itself takes any other text as true; here it is a 400, since a typo should not
    /// silently mean `force`.
    pub fn bool(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "" | "0" | "false" | "no" | "none" => Ok(false),
                "1" | "true" | "yes" => Ok(true),
                _ => Err(ApiError::bad_request(format!(
                    "invalid boolean value {v:?} for query parameter {key:?}"
                ))),
            },
        }
    }

    /// A non-negative integer.
    pub fn uint(&self, key: &str) -> ApiResult<Option<u64>> {
        match self.string(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value {v:?} for query parameter {key:?}: expected a non-negative integer"
                ))
            }),
        }
    }

    /// The `filters` parameter (see [`Filters`]).
    pub fn filters(&self, allowed: &[&str]) -> ApiResult<Filters> {
        Filters::parse(self.get("filters").unwrap_or(""), allowed)
    }
}

/// Docker's filters: JSON `{"key": ["v1", "v2"]}`, or the pre-1.26 form
/// `{"key": {"v1": true}}`. Keys outside the endpoint's list are refused as Docker does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

#[derive(Deserialize)]
#[serde(untagged)]
enum FilterValues {
    List(Vec<String>),
    Set(BTreeMap<String, bool>),
}

impl Filters {
    pub fn parse(text: &str, allowed: &[&str]) -> ApiResult<Self> {
        if text.trim().is_empty() {
            return Ok(Filters::default());
        }
        let raw: BTreeMap<String, FilterValues> = serde_json::from_str(text).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid filter: filters must be a JSON object of string lists: {e}"
            ))
        })?;
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad_request(format!("Invalid filter '{k}'")));
            }
            let values = match v {
                FilterValues::List(l) => l,
                FilterValues::Set(s) => s
                    .into_iter()
                    .filter(|(_, on)| *on)
                    .map(|(k, _)| k)
                    .collect(),
            };
            out.insert(k, values);
        }
        Ok(Filters(out))
    }

    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A boolean filter (`dangling=true`): None when absent, 400 when not a boolean or
    /// when given twice with different values.
    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        let mut result = None;
        for v in self.get(key) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid filter '{key}={v}': expected true or false"
                    )))
                }
            };
            if result.is_some_and(|r| r != b) {
                return Err(ApiError::bad_request(format!(
                    "invalid filter '{key}': conflicting values"
                )));
            }
            result = Some(b);
        }
        Ok(result)
    }

    /// `label=key` / `label=key=value` filters as (key, value) pairs.
    pub fn labels(&self, key: &str) -> Vec<(String, Option<String>)> {
        self.get(key)
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (l.clone(), None),
            })
            .collect()
    }
}

/// Parses a JSON body into `T`; a 400 names the field at fault.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(format!(
            "{what}: request body is empty"
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::bad_request(format!("{what}: invalid JSON: {}", e.inner()))
        } else {
            ApiError::bad_request(format!(
                "{what}: invalid JSON at field {path}: {}",
                e.inner()
            ))
        }
    })
}

/// A string that may also be sent as `null` (Go decodes that as ""; bollard sends it).
fn nullable_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// What `X-Registry-Auth` and `POST /auth` carry.
#[derive(Debug, Default, Deserialize)]
pub struct AuthConfig {
    #[serde(default, deserialize_with = "nullable_string")]
    pub username: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub password: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub auth: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub email: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub serveraddress: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub identitytoken: String,
    #[serde(default, deserialize_with = "nullable_string")]
    pub registrytoken: String,
}

impl AuthConfig {
    /// The credentials it holds, if any. `auth` is `base64(user:password)` as in config.json.
    pub fn credentials(&self) -> ApiResult<Option<Credentials>> {
        if !self.identitytoken.is_empty() {
            return Ok(Some(Credentials::IdentityToken {
                username: self.username.clone(),
                token: self.identitytoken.clone(),
            }));
        }
        if !self.username.is_empty() || !self.password.is_empty() {
            return Ok(Some(Credentials::basic(&self.username, &self.password)));
        }
        if !self.auth.is_empty() {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(self.auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid auth configuration: field auth is not base64 of user:password",
                    )
                })?;
            let (u, p) = decoded.split_once(':').ok_or_else(|| {
                ApiError::bad_request("invalid auth configuration: field auth is not user:password")
            })?;
            return Ok(Some(Credentials::basic(u, p)));
        }
        Ok(None)
    }
}

/// Decodes `X-Registry-Auth` (base64url JSON; padded or not, and plain base64 from old
/// clients). Absent, empty or `{}` mean anonymous.
pub fn registry_auth(headers: &HeaderMap) -> ApiResult<Option<Credentials>> {
    let Some(value) = headers.get("X-Registry-Auth") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header: not ASCII"))?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = URL_SAFE
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header: not base64url"))?;
    let cfg: AuthConfig = json_body(&bytes, "X-Registry-Auth header")?;
    cfg.credentials()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_bools() {
        let p = Params::parse("force=1&noprune=false&names=a&names=b%2Fc&x=maybe&n=-1");
        assert!(p.bool("force").unwrap());
        assert!(!p.bool("noprune").unwrap());
        assert!(!p.bool("absent").unwrap());
        assert!(p.bool("x").is_err());
        assert_eq!(p.all("names"), vec!["a", "b/c"]);
        assert!(p.uint("n").is_err());
    }

    #[test]
    fn filters_both_forms() {
        let f = Filters::parse(
            r#"{"dangling":["true"],"label":["a=b","c"]}"#,
            &["dangling", "label"],
        )
        .unwrap();
        assert_eq!(f.bool("dangling").unwrap(), Some(true));
        assert_eq!(
            f.labels("label"),
            vec![("a".into(), Some("b".into())), ("c".into(), None)]
        );
        let old = Filters::parse(r#"{"dangling":{"true":true}}"#, &["dangling"]).unwrap();
        assert_eq!(old.bool("dangling").unwrap(), Some(true));
        let e = Filters::parse(r#"{"bogus":["x"]}"#, &["dangling"]).unwrap_err();
        assert_eq!(e.message, "Invalid filter 'bogus'");
        assert!(Filters::parse("{not json", &[]).is_err());
        assert!(Filters::parse(r#"{"dangling":["maybe"]}"#, &["dangling"])
            .unwrap()
            .bool("dangling")
            .is_err());
    }

    #[test]
    fn registry_auth_header() {
        let mut h = HeaderMap::new();
        assert!(registry_auth(&h).unwrap().is_none());
        let enc = base64::engine::general_purpose::URL_SAFE
            .encode(r#"{"username":"u","password":"p","serveraddress":"127.0.0.1:5000"}"#);
        h.insert("X-Registry-Auth", enc.parse().unwrap());
        assert_eq!(
            registry_auth(&h).unwrap(),
            Some(Credentials::basic("u", "p"))
        );
        h.insert("X-Registry-Auth", "e30=".parse().unwrap());
        assert!(registry_auth(&h).unwrap().is_none());
        let nulls = base64::engine::general_purpose::URL_SAFE
            .encode(r#"{"username":null,"password":null,"serveraddress":null}"#);
        h.insert("X-Registry-Auth", nulls.parse().unwrap());
        assert!(registry_auth(&h).unwrap().is_none());
        h.insert("X-Registry-Auth", "!!!".parse().unwrap());
        assert!(registry_auth(&h).is_err());
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            username: String,
        }
        let e = json_body::<T>(br#"{"username": 1}"#, "auth").unwrap_err();
        assert!(e.message.contains("username"), "{}", e.message);
        let e = json_body::<T>(b"{", "auth").unwrap_err();
        assert!(e.message.contains("invalid JSON"), "{}", e.message);
    }
}
