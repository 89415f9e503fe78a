//! API errors: a status code and Docker's `{"message": "..."}` body. Every library error is
//! mapped to a status here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muelle_engine::EngineError;
use muelle_image::distribution::RegistryError;
use muelle_image::unpack::UnpackError;
use muelle_image::ImageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, message)
    }

    /// A background task (spawn_blocking, a spawned stream) died instead of answering.
    pub fn task(e: tokio::task::JoinError) -> Self {
        Self::internal(format!("internal error: request task failed: {e}"))
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "message": self.message })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), message = %self.message, "request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), message = %self.message, "request refused");
        }
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// The first 12 hex digits of an ID, as Docker shows IDs in messages.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

fn registry_status(e: &RegistryError) -> StatusCode {
    use RegistryError as R;
    match e {
        R::InvalidHost { .. } | R::InvalidRepository { .. } | R::InvalidReference { .. } => {
            StatusCode::BAD_REQUEST
        }
        R::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        R::Denied { .. } => StatusCode::FORBIDDEN,
        R::ManifestUnknown { .. } | R::BlobUnknown { .. } | R::NameUnknown { .. } => {
            StatusCode::NOT_FOUND
        }
        R::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> Self {
        use ImageError as I;
        match e {
            I::NotFound { name } => ApiError::not_found(format!("No such image: {name}")),
            I::MultipleRepositories { id, .. } => ApiError::conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                short_id(&id.to_string())
            )),
            I::Reference { source, .. } => {
                ApiError::bad_request(format!("invalid reference format: {}", source.problem))
            }
            I::Ambiguous { .. } => ApiError::bad_request(e.to_string()),
            I::Registry { ref source, .. } => ApiError::new(registry_status(source), e.to_string()),
            I::Platform { .. } => ApiError::not_found(e.to_string()),
            I::PlatformMismatch { .. } => ApiError::bad_request(e.to_string()),
            I::PathNotFound { .. } => ApiError::not_found(e.to_string()),
            I::NotADirectory { .. } => ApiError::bad_request(e.to_string()),
            // A bad or hostile archive is the client's fault; a failure writing into the
            // container's rootfs is ours.
            I::Extract { ref source, .. } => match **source {
                UnpackError::Refused { .. }
                | UnpackError::Tar { .. }
                | UnpackError::Read { .. }
                | UnpackError::CompressionMismatch { .. }
                | UnpackError::UnsupportedMediaType { .. } => ApiError::bad_request(e.to_string()),
                _ => ApiError::internal(e.to_string()),
            },
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Image(e) => e.into(),
            EngineError::Container(c) => c.into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        ApiError::new(registry_status(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_docker() {
        let e: ApiError = ImageError::NotFound {
            name: "busybox:nope".into(),
        }
        .into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(
            e.body(),
            serde_json::json!({"message": "No such image: busybox:nope"})
        );
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
