//! The kinds of failure, as moby's `errdefs`: each library error says which kind it is
//! (`kind()`), and the API maps kinds to HTTP status codes in one `match`. A new resource
//! (volumes, networks) needs no API code for its errors.

/// What kind of failure an error is, independent of the layer that raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request names something wrong: a bad flag value, reference, body field (400).
    InvalidParameter,
    /// Credentials are missing or wrong (401).
    Unauthorized,
    /// The caller may not do this (403).
    Forbidden,
    /// The object does not exist (404).
    NotFound,
    /// The object's state does not allow it: in use, running, name taken (409).
    Conflict,
    /// Nothing to do: already started, already stopped (304).
    NotModified,
    /// A peer asks to slow down (429).
    TooManyRequests,
    /// The daemon does not offer this (501).
    NotImplemented,
    /// A service the operation needs is not there, e.g. not a swarm manager (503).
    Unavailable,
    /// Everything else: the host or the daemon failed (500).
    System,
}

impl ErrorKind {
    /// The HTTP status code of this kind, as dockerd answers it.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidParameter => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::NotModified => 304,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::NotImplemented => 501,
            ErrorKind::Unavailable => 503,
            ErrorKind::System => 500,
        }
    }
}

/// The body of every error answer: `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}
