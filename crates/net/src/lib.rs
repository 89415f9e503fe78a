//! muelle-net: the host side of container networking, as values and syscalls with no notion
//! of containers or of the Docker API.
//!
//! It owns:
//! - `netns`: network namespace files (a namespace bind-mounted on a path, so it outlives
//!   the process that made it and survives a daemon restart) and running code inside one;
//! - `link`: bridges and veth pairs over netlink (rtnetlink), addresses, routes, MTU, and the
//!   host's routes and default MTU;
//! - `ipam`: subnet pools, choosing a free subnet, allocating addresses within one (pure
//!   arithmetic; who holds which address is the engine's to record);
//! - `firewall`: the daemon's own nftables tables (published ports, masquerade, internal
//!   networks, hairpin, the path from the host's loopback), rendered whole and applied as one
//!   `nft -f -` transaction, and the sysctls that routing across bridges needs;
//! - `ports`: host port reservations (a bound socket held while a port is published, so a
//!   port in use is an error at start and nothing else can take it meanwhile);
//! - `dns`: the embedded resolver a container on a user-defined network queries at
//!   127.0.0.11, answering from a lookup the caller supplies and forwarding the rest.
//!
//! It must not touch the engine's database, container records or processes, HTTP, or the
//! Docker API's JSON shapes: the engine passes plain values in and records what comes out.

#![forbid(unsafe_code)]

pub mod dns;
mod error;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod netns;
pub mod ports;

pub use error::NetError;

/// Results of this crate.
pub type Result<T> = std::result::Result<T, NetError>;
