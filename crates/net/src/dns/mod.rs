//! The embedded DNS server a container on a user-defined network queries at 127.0.0.11, as
//! Docker's: names of the container's networks answered from a lookup the caller supplies
//! (A/AAAA with round-robin order, PTR), everything else forwarded to the host's resolvers.
//!
//! The sockets are bound inside the container's network namespace (`bind_in`) but served from
//! the daemon (`serve`), so forwarding happens from the host's namespace, where the host's
//! resolvers (even 127.0.0.53) are reachable.
//!
//! - `answer`: what to do with one query packet (pure: no I/O);
//! - `forward`: exchanging a query with the upstream resolvers;
//! - `server`: the UDP and TCP serving loops;
//! - `bind`: binding the sockets inside a namespace;
//! - `resolv_conf`: the upstream resolvers of a resolv.conf text.

use std::net::IpAddr;

mod answer;
mod bind;
mod forward;
mod resolv_conf;
mod server;

pub use bind::{bind_here, bind_in};
pub use resolv_conf::upstreams_from_resolv_conf;
pub use server::serve;

/// The address the resolver listens on inside each container, as Docker's.
pub const RESOLVER_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 11);

/// What a container's resolver knows: names on the container's networks.
pub trait Names: Send + Sync + 'static {
    /// Addresses for `name` (already lower-cased, without the trailing dot); empty = not ours.
    fn lookup(&self, name: &str) -> Vec<IpAddr>;
    /// The name for a PTR lookup of `ip`, if it is one of ours.
    fn reverse(&self, ip: IpAddr) -> Option<String>;
}

/// The (name, network) pairs Docker tries for a query name, in its order, for a `Names`
/// implementation to use: the whole name on any of the container's networks, then each split
/// at a dot as a name on the network named by the rest ("web.net1" is "web" on "net1").
/// `a.b.c` gives `(a.b.c, None)`, `(a.b, Some(c))`, `(a, Some(b.c))`.
pub fn name_candidates(name: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = vec![(name, None)];
    let mut rest = name;
    while let Some(dot) = rest.rfind('.') {
        rest = &rest[..dot];
        out.push((rest, name.get(dot + 1..)));
    }
    out
}

/// What the resolver sends back for `packet` without asking an upstream: the reply, or
/// `None` when it drops the packet or would forward it. The pure core of the server, for
/// fuzzing (fuzz/fuzz_targets/dns_query.rs) and tests.
pub fn answer_locally(names: &dyn Names, packet: &[u8]) -> Option<Vec<u8>> {
    match answer::decide(names, packet, answer::Transport::Udp, 0) {
        answer::Decision::Reply(r) => Some(r),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::name_candidates;

    #[test]
    fn candidates_in_dockers_order() {
        assert_eq!(name_candidates("web"), vec![("web", None)]);
        assert_eq!(
            name_candidates("a.b.c"),
            vec![("a.b.c", None), ("a.b", Some("c")), ("a", Some("b.c"))]
        );
    }
}
