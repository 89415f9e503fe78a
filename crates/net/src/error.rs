//! The one error type of the crate. Variants are added by the module that needs them; each
//! names what failed (the interface, subnet, port or rule) so the engine can pass the message
//! on unchanged.

/// What went wrong in host networking.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Bad input from the caller (an address outside its subnet, an overlapping subnet, ...).
    #[error("{0}")]
    Invalid(String),
    /// Something that exists is in the way (a host port already bound, a name in use).
    #[error("{0}")]
    Conflict(String),
    /// A system call, netlink request or nft run failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}
