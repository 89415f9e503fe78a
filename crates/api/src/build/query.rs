//! `POST /build`'s query string as the docker CLI, docker-py and compose send it (moby's
//! `imageBuildOptionsToQuery`), read into the engine's [`BuildOptions`]. Everything that is
//! wrong here is a 400 before the stream starts; what the legacy builder accepts and ignores
//! (resource limits of the RUN containers, isolation, squash) is accepted and ignored here too.

use std::collections::BTreeMap;

use base64::Engine as _;
use muelle_engine::builds::BuildOptions;
use muelle_image::reference::Reference;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::request::Params;

/// The parameters the legacy builder reads as integers and refuses when malformed; the other
/// limits (`memory`, `cpushares` …) dockerd reads as zero when malformed, so they are not
/// looked at.
const STRICT_INTEGERS: &[&str] = &["shmsize"];

/// Reads the query of a build request.
pub fn parse(params: &Params) -> ApiResult<BuildOptions> {
    check_version(params)?;
    if let Some(remote) = params.string("remote") {
        return Err(ApiError::bad_request(format!(
            "remote build contexts are not supported (remote={remote:?}): send the context as a tar in the request body"
        )));
    }
    for key in STRICT_INTEGERS {
        if let Some(v) = params.string(key) {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value {v:?} for query parameter {key:?}: expected an integer"
                ))
            })?;
        }
    }
    let tags = tags(params)?;
    let build_args: BTreeMap<String, Option<String>> =
        json_param(params, "buildargs", "error reading build args")?.unwrap_or_default();
    let labels: BTreeMap<String, String> =
        json_param(params, "labels", "error reading labels")?.unwrap_or_default();
    let cache_from: Vec<String> =
        json_param(params, "cachefrom", "error reading cache-from images")?.unwrap_or_default();
    // `rm` defaults to true: only an explicit false keeps the intermediate containers.
    let remove = match params.get("rm") {
        None => true,
        Some(_) => params.bool("rm")?,
    };
    Ok(BuildOptions {
        dockerfile: params.string("dockerfile").unwrap_or_default().to_string(),
        tags,
        build_args,
        labels,
        target: params.string("target").map(str::to_string),
        no_cache: params.bool("nocache")?,
        pull: params.bool("pull")?,
        cache_from,
        remove,
        force_remove: params.bool("forcerm")?,
        network_mode: params.string("networkmode").map(str::to_string),
        platform: params.string("platform").map(str::to_string),
        quiet: params.bool("q")?,
        extra_hosts: params
            .all("extrahosts")
            .into_iter()
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect(),
        secrets: secrets(params)?,
    })
}

/// `version=1` (or none) is the legacy builder, the one muelled has; `version=2` asks for a
/// BuildKit session over a hijacked connection, which it does not speak.
fn check_version(params: &Params) -> ApiResult<()> {
    match params.string("version") {
        None | Some("1") => Ok(()),
        Some("2") => Err(ApiError::bad_request(
            "BuildKit builds (version=2) are not supported: muelled has the classic builder only; use version=1 (DOCKER_BUILDKIT=0)",
        )),
        Some(v) => Err(ApiError::bad_request(format!(
            "invalid builder version {v:?}: only version 1 is supported"
        ))),
    }
}

/// `t` may repeat; each must be a valid name to tag (a digest cannot be a tag).
fn tags(params: &Params) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for t in params.all("t").into_iter().filter(|t| !t.is_empty()) {
        let r = Reference::parse(t).map_err(|e| {
            ApiError::bad_request(format!("invalid reference format: {}", e.problem))
        })?;
        if r.digest().is_some() {
            return Err(ApiError::bad_request(format!(
                "invalid tag {t:?}: a build cannot be tagged with a digest"
            )));
        }
        out.push(t.to_string());
    }
    Ok(out)
}

/// A JSON-valued parameter; absent or empty is `None`, malformed a 400 saying which.
fn json_param<T: DeserializeOwned>(params: &Params, key: &str, what: &str) -> ApiResult<Option<T>> {
    match params.string(key) {
        None => Ok(None),
        Some(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("{what}: {e}"))),
    }
}

/// `secrets`: muelled's own parameter (the legacy API has no secrets), a JSON object of
/// secret id → base64 of its contents, sent by `muelle build --secret`.
fn secrets(params: &Params) -> ApiResult<BTreeMap<String, Vec<u8>>> {
    let raw: BTreeMap<String, String> =
        json_param(params, "secrets", "error reading secrets")?.unwrap_or_default();
    raw.into_iter()
        .map(|(id, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map(|v| (id.clone(), v))
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "error reading secrets: the value of secret {id:?} is not base64"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse_q(q: &str) -> ApiResult<BuildOptions> {
        parse(&Params::parse(q))
    }

    #[test]
    fn what_the_docker_cli_sends() {
        let o = parse_q(
            "t=a%3A1&t=b&dockerfile=sub%2FDf&q=1&nocache=1&rm=0&forcerm=1&pull=1\
             &buildargs=%7B%22A%22%3A%221%22%2C%22B%22%3Anull%7D&labels=%7B%22l%22%3A%22v%22%7D\
             &cachefrom=%5B%22x%3A1%22%5D&target=t&networkmode=host&platform=linux%2Famd64\
             &extrahosts=h%3A1.2.3.4&extrahosts=g%3A5.6.7.8&shmsize=0&memory=bogus&version=1",
        )
        .unwrap();
        assert_eq!(o.tags, vec!["a:1", "b"]);
        assert_eq!(o.dockerfile, "sub/Df");
        assert!(o.quiet && o.no_cache && !o.remove && o.force_remove && o.pull);
        assert_eq!(o.build_args.get("A"), Some(&Some("1".to_string())));
        assert_eq!(o.build_args.get("B"), Some(&None));
        assert_eq!(o.labels.get("l").map(String::as_str), Some("v"));
        assert_eq!(o.cache_from, vec!["x:1"]);
        assert_eq!(o.target.as_deref(), Some("t"));
        assert_eq!(o.network_mode.as_deref(), Some("host"));
        assert_eq!(o.platform.as_deref(), Some("linux/amd64"));
        assert_eq!(o.extra_hosts, vec!["h:1.2.3.4", "g:5.6.7.8"]);
    }

    #[test]
    fn defaults() {
        let o = parse_q("").unwrap();
        assert!(o.remove && !o.force_remove && !o.quiet);
        assert!(o.tags.is_empty() && o.dockerfile.is_empty());
    }

    #[test]
    fn refusals() {
        let msg = |q: &str| parse_q(q).unwrap_err().message;
        assert!(msg("buildargs=notjson").starts_with("error reading build args: "));
        assert!(msg("labels=%5B%5D").starts_with("error reading labels: "));
        assert!(msg("remote=https%3A%2F%2Fx%2Fy.git").contains("remote build contexts"));
        assert!(msg("version=2").contains("version=1"));
        assert!(msg("version=3").contains("invalid builder version"));
        assert!(msg("t=Bad%3Atag").starts_with("invalid reference format"));
        assert!(msg("shmsize=abc").contains("shmsize"));
        assert!(msg("q=maybe").contains("\"q\""));
    }

    #[test]
    fn secrets_are_base64() {
        let o = parse_q("secrets=%7B%22s%22%3A%22aGk%3D%22%7D").unwrap();
        assert_eq!(o.secrets.get("s").map(Vec::as_slice), Some(&b"hi"[..]));
        assert!(parse_q("secrets=%7B%22s%22%3A%22%21%21%22%7D").is_err());
    }
}
