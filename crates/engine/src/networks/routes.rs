//! The host's routes as IPAM must avoid them: a subnet chosen for a network may not shadow
//! a route the host already has (dockerd's docker0, a VPN, the LAN).

use ipnet::IpNet;

/// The destination prefixes of the host's routes; none when they cannot be read (a subnet
/// is then chosen among the networks' own, as on a host without routes).
pub fn host_routes() -> Vec<IpNet> {
    match muelle_net::link::host_routes() {
        Ok(r) => r
            .into_iter()
            // A default route covers every address; it is no reason to skip a pool.
            .filter(|n| n.prefix_len() > 0)
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the host's routes; choosing subnets without them");
            Vec::new()
        }
    }
}
