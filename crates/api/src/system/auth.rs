//! `POST /auth`: checks credentials against a registry (`docker login`). Nothing is stored:
//! clients keep their own credentials.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use muelle_engine::Engine;
use muelle_image::distribution::CredentialSource;
use muelle_image::reference::Reference;
use muelle_types::system::AuthResponse;

use crate::error::{ApiError, ApiResult};
use crate::request::{json_body, AuthConfig};

/// The registry host a `serveraddress` names: `https://host/v1/` → `host`; Docker Hub's
/// aliases → the host serving its API.
fn registry_host(serveraddress: &str) -> ApiResult<String> {
    let s = serveraddress.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Ok("registry-1.docker.io".to_string());
    }
    let probe = format!("{host}/x");
    let reference = Reference::parse(&probe).map_err(|e| {
        ApiError::bad_request(format!("invalid serveraddress {serveraddress:?}: {e}"))
    })?;
    Ok(reference.registry_host().to_string())
}

/// A `GET /v2/` that must authenticate.
pub async fn auth(State(engine): State<Arc<Engine>>, body: Bytes) -> ApiResult<Json<AuthResponse>> {
    let cfg: AuthConfig = json_body(&body, "auth configuration")?;
    let host = registry_host(&cfg.serveraddress)?;
    let creds = cfg.credentials()?;
    let client = match creds {
        Some(c) => engine
            .images()
            .registry()
            .with_credentials(CredentialSource::Static(HashMap::from([(host.clone(), c)]))),
        None => engine
            .images()
            .registry()
            .with_credentials(CredentialSource::Anonymous),
    };
    client.ping(&host).await?;
    Ok(Json(AuthResponse {
        identity_token: String::new(),
        status: "Login Succeeded".to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(
            registry_host("http://127.0.0.1:5000/v2/").unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            registry_host("https://index.docker.io/v1/").unwrap(),
            "registry-1.docker.io"
        );
        assert_eq!(registry_host("").unwrap(), "registry-1.docker.io");
    }
}
