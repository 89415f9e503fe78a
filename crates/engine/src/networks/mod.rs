//! Networks: what a container's network looks like from inside. Today: the `/etc/hosts`,
//! `/etc/hostname` and `/etc/resolv.conf` each container gets (bind-mounted from its data
//! directory; `extra_hosts` reads `--add-host`, `resolv` builds the file from `--dns*`), for the modes muelle has (`bridge` and `none`, which share the no-network
//! setup for now, and `host`). The facade over the `net` crate (bridges, endpoints, port
//! mappings) comes here.
//!
//! Must not touch containers' records or lifecycle: callers pass what the files need.

pub(crate) mod datapath;
mod etc_files;
pub mod extra_hosts;
mod lookup_stub;
pub mod model;
pub mod ports;
pub mod resolv;

pub use etc_files::{hostname, hosts, resolv_conf, write_etc_files, EtcFiles};
pub use model::{ActiveEndpoint, EndpointRecord, NetworkRecord, SubnetRecord};

/// Does the container have live endpoints (its own network namespace with veths)?
pub fn has_live_endpoints(rec: &crate::containers::ContainerRecord) -> bool {
    datapath::has_active(rec)
}
