//! The daemon's own nftables tables: published ports (DNAT), masquerade, internal networks,
//! inter-container communication, isolation between networks, hairpin, and the path from the
//! host's loopback; plus the sysctls routing across bridges needs and the few rules that let
//! our bridges' traffic past another firewall's FORWARD drop on the same host.
//!
//! The whole state is one value ([`Rules`]) rendered to one nft script ([`render`]) that
//! replaces the tables `ip <table>` and `ip6 <table>` in a single transaction
//! (`table ip T {}` + `delete table ip T` + the full definition), so a crash mid-update never
//! leaves half a ruleset, and re-applying the same value is a no-op as far as the kernel's
//! ruleset text goes.
//!
//! What the rules do (Docker's bridge driver with `userland-proxy: false`):
//! - `prerouting`/`output` (nat, dstnat): packets for a local address (`fib daddr type local`)
//!   and a published port are DNATed to the container; `output` covers the host's own
//!   connections, including to 127.0.0.1, which needs `route_localnet=1` on the bridge and the
//!   masquerade of 127.0.0.0/8 leaving through it;
//! - `postrouting` (nat, srcnat): loopback masquerade; hairpin masquerade (routed DNATed
//!   traffic that leaves by the bridge it came in on, so the reply comes back through the host;
//!   with br_netfilter the bridged reply is un-DNATed anyway and the client keeps its address,
//!   as with Docker); a container reaching its own published port (Docker's per-port
//!   `saddr C daddr C dport P` masquerade; with br_netfilter this also needs hairpin mode on
//!   the container's bridge port, which Docker sets too); and the masquerade of a network's
//!   subnet leaving by any other interface (`masquerade` and not `internal`);
//! - `forward` (filter): established/related accepted; an internal bridge talks only to
//!   itself; DNATed traffic into our bridges accepted (published ports work even with icc off
//!   and across networks, as with Docker); same-bridge traffic accepted or dropped by `icc`;
//!   traffic between two of our bridges dropped; anything else new into one of our bridges
//!   dropped (Docker's FORWARD policy: only published ports are reachable from outside).
//!
//! Coexistence with dockerd (see `foreign`): in nftables a drop in any base chain of a hook is
//! final, so dockerd's iptables-nft `ip filter` FORWARD chain (policy drop) would drop our
//! forwarded packets whatever our own chain says. `apply` therefore inserts, into that table's
//! `DOCKER-USER` chain (the chain Docker documents for exactly this, which dockerd never
//! flushes) or, without one, into a forward base chain whose policy is drop, one
//! `iifname "<bridge>" accept` and one `oifname "<bridge>" accept` per bridge, tagged with the
//! comment `<table>`. They are plain iptables-translatable rules (iptables-nft lists them as
//! `-i br -m comment --comment muelle -j ACCEPT`), so dockerd's own `iptables` calls keep
//! working; all filtering of our traffic stays in our own `forward` chain, whose drops are
//! final. `apply` replaces exactly the tagged rules, `clear` deletes them. Limitations: the
//! accept also lets our containers open connections to dockerd's containers' addresses (its
//! isolation chains come after DOCKER-USER), and an iptables-legacy FORWARD drop is not seen.
//! Podman's netavark does the same with its iptables driver (a `NETAVARK_FORWARD` chain jumped
//! to from `filter FORWARD`); its nftables driver has no answer for this yet.

mod apply;
mod foreign;
mod render;
mod sysctl;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use apply::{apply, clear};
pub use render::render;

use crate::NetError;

/// A transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    /// The lower-case name Docker uses ("tcp", "udp", "sctp"), which is also nft's keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            other => Err(NetError::Invalid(format!("invalid proto '{other}'"))),
        }
    }
}

/// One bridge network as the firewall sees it. A dual-stack network is given as two rules
/// with the same bridge (one per subnet); for the bridge-wide rules (`internal`, `icc`) the
/// strictest value among its rules wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRule {
    pub bridge: String,
    pub subnet: IpNet,
    pub internal: bool,
    pub masquerade: bool,
    pub icc: bool,
}

/// One published port. `host_ip` and `ctr_ip` must be of the same family (a rule mixing them
/// is not rendered: nftables cannot translate between families); `host_ip` None = any local
/// address of `ctr_ip`'s family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRule {
    pub proto: Proto,
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub ctr_ip: IpAddr,
    pub ctr_port: u16,
    pub bridge: String,
}

/// Everything the daemon's tables hold, rendered whole each time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// The name of our tables in both families (and the comment tagging rules elsewhere).
    pub table: String,
    pub networks: Vec<NetRule>,
    pub ports: Vec<PortRule>,
}
