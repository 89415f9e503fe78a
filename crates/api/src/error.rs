//! API errors: a kind of failure and Docker's `{"message": "..."}` body. Every library error
//! reports its kind (`muelle_types::ErrorKind`); `status_of` is the one map from kinds to
//! status codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use muelle_engine::containers::ContainerError;
use muelle_engine::EngineError;
use muelle_image::distribution::RegistryError;
use muelle_image::ImageError;
use muelle_types::errdefs::ErrorResponse;
use muelle_types::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The one map from a kind of failure to the status code dockerd answers with.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::System => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.kind)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::System, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotImplemented, message)
    }

    /// A background task (spawn_blocking, a spawned stream) died instead of answering.
    pub fn task(e: tokio::task::JoinError) -> Self {
        Self::internal(format!("internal error: request task failed: {e}"))
    }

    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), message = %self.message, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), message = %self.message, "request refused");
        }
        // 304 carries no body.
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        (status, axum::Json(self.body())).into_response()
    }
}

/// The first 12 hex digits of an ID, as Docker shows IDs in messages.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

/// Docker's wording where it differs from the library's message.
fn image_message(e: &ImageError) -> String {
    match e {
        ImageError::NotFound { name } => format!("No such image: {name}"),
        ImageError::MultipleRepositories { id, .. } => format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            short_id(&id.to_string())
        ),
        ImageError::Reference { source, .. } => {
            format!("invalid reference format: {}", source.problem)
        }
        other => other.to_string(),
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> Self {
        ApiError::new(e.kind(), image_message(&e))
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Image(e) => e.into(),
            other => ApiError::new(other.kind(), other.to_string()),
        }
    }
}

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_docker() {
        let e: ApiError = ImageError::NotFound {
            name: "busybox:nope".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            serde_json::to_value(e.body()).unwrap(),
            serde_json::json!({"message": "No such image: busybox:nope"})
        );
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
