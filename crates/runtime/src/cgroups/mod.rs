//! cgroups v1 and v2 (placeholder, being written)
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("{0}")]
    Other(String),
}
