//! seccomp (placeholder, being written)
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("{0}")]
    Other(String),
}
