//! Networks: the network objects (`store`: records under `<data-root>/networks`; `builtin`:
//! `bridge`, `host`, `none`; `create`, `ops`: create, lookup, list, remove, prune with their
//! events; `connect`: a container joining or leaving a network; `config`: the pools and
//! `bip`; `routes`: the host's routes IPAM avoids), the datapath that makes endpoints real,
//! and what a container's network looks like from inside: the `/etc/hosts`,
//! `/etc/hostname` and `/etc/resolv.conf` each container gets (bind-mounted from its data
//! directory; `extra_hosts` reads `--add-host`, `resolv` builds the file from `--dns*`), for the modes muelle has (`bridge` and `none`, which share the no-network
//! setup for now, and `host`). The facade over the `net` crate (bridges, endpoints, port
//! mappings) comes here.
//!
//! Must not touch containers' records or lifecycle: callers pass what the files need.

mod builtin;
mod config;
mod connect;
mod create;
pub(crate) mod datapath;
mod error;
mod etc_files;
pub mod extra_hosts;
pub mod model;
mod ops;
pub mod ports;
pub mod resolv;
mod routes;
mod store;

pub use builtin::{ensure_builtins, is_predefined};
pub use config::{
    NetworkConfig, DEFAULT_BRIDGE, OPT_BRIDGE_NAME, OPT_ICC, OPT_MASQUERADE, OPT_MTU,
};
pub use error::NetworkError;
pub use etc_files::{hostname, hosts, resolv_conf, write_etc_files, EtcFiles};
pub use model::{ipam_address, ActiveEndpoint, EndpointRecord, NetworkRecord, SubnetRecord};
pub use muelle_net::ipam::Pool;
pub use ops::{NetworkEndpoint, NetworkFilters, NetworksPrune};
pub use routes::host_routes;
pub use store::NetworkStore;

/// Does the container have live endpoints (its own network namespace with veths)?
pub fn has_live_endpoints(rec: &crate::containers::ContainerRecord) -> bool {
    datapath::has_active(rec)
}
