//! IP address management as arithmetic: Docker's default address pools, choosing a free
//! subnet from pools, overlap of subnets, a ULA subnet for `--ipv6` without `--subnet`, the
//! MAC Docker derives from an IPv4 address, and an allocator of addresses within one subnet.
//! No I/O: who holds which address is the engine's to record; after a restart it rebuilds an
//! allocator by marking the addresses its running containers hold.
//!
//! Addresses of both families are handled as `u128` offsets (an IPv4 address is its `u32`
//! value), which keeps one code path for IPv4 and IPv6.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{NetError, Result};

/// A pool subnets are carved from: `base` split into subnets of prefix length `size`
/// (daemon.json's `default-address-pools` entry `{"base": ..., "size": ...}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub base: IpNet,
    pub size: u8,
}

/// Docker's default-address-pools: 172.17.0.0/16..172.31.0.0/16 (size 16), 192.168.0.0/16
/// (size 20).
pub fn default_pools() -> Vec<Pool> {
    let mut pools: Vec<Pool> = (17u8..=31)
        .map(|b| Pool {
            base: IpNet::new(IpAddr::V4(Ipv4Addr::new(172, b, 0, 0)), 16)
                .unwrap_or_else(|_| unreachable_net()),
            size: 16,
        })
        .collect();
    pools.push(Pool {
        base: IpNet::new(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16)
            .unwrap_or_else(|_| unreachable_net()),
        size: 20,
    });
    pools
}

/// The prefixes above are constants within range; this only satisfies the type.
fn unreachable_net() -> IpNet {
    IpNet::default()
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v4: bool) -> IpAddr {
    if v4 {
        // Offsets of IPv4 networks never exceed u32::MAX.
        IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

/// First and last address of `net` as offsets.
fn bounds(net: &IpNet) -> (u128, u128) {
    (to_u128(net.network()), to_u128(net.broadcast()))
}

/// Whether two subnets share an address (subnets of different families never do).
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    if a.addr().is_ipv4() != b.addr().is_ipv4() {
        return false;
    }
    let (a0, a1) = bounds(a);
    let (b0, b1) = bounds(b);
    a0 <= b1 && b0 <= a1
}

/// The first subnet of the pools overlapping none of `taken`.
pub fn choose_subnet(pools: &[Pool], taken: &[IpNet]) -> Option<IpNet> {
    pools.iter().find_map(|p| choose_in_pool(p, taken))
}

fn choose_in_pool(pool: &Pool, taken: &[IpNet]) -> Option<IpNet> {
    let base = pool.base.trunc();
    let v4 = base.addr().is_ipv4();
    let max = base.max_prefix_len();
    if pool.size < base.prefix_len() || pool.size > max {
        return None;
    }
    let (start, end) = bounds(&base);
    let host_bits = u32::from(max - pool.size);
    // `None`: one subnet is the whole address space (an IPv6 pool of size 0).
    let block = 1u128.checked_shl(host_bits);
    let mut s = start;
    loop {
        let last = match block {
            Some(b) => s.checked_add(b - 1)?,
            None => u128::MAX,
        };
        if last > end {
            return None;
        }
        let candidate = IpNet::new(from_u128(s, v4), pool.size).ok()?;
        // The furthest end among the taken subnets in the way: jump past all of it at once,
        // so a pool with millions of subnets costs one step per taken subnet.
        let blocking = taken
            .iter()
            .filter(|t| overlaps(t, &candidate))
            .map(|t| bounds(t).1)
            .max();
        let Some(blocked_to) = blocking else {
            return Some(candidate);
        };
        let b = block?;
        let next = blocked_to.checked_add(1)?;
        // Round up to the next block boundary (relative to the pool's start).
        let rel = next - start;
        let aligned = rel.div_ceil(b).checked_mul(b)?;
        s = start.checked_add(aligned)?;
        if s > end {
            return None;
        }
    }
}

/// A ULA /64 (fdXX:XXXX:XXXX::/64) derived from `seed` (the network id), for --ipv6 without
/// --subnet: the same seed always gives the same subnet.
pub fn ula_subnet(seed: &str) -> IpNet {
    // FNV-1a: a stable spread of the seed's bytes; no secrecy is needed here.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let global = h & 0xff_ffff_ffff; // 40 bits of global ID
    let prefix: u128 = (0xfdu128 << 120) | (u128::from(global) << 80);
    IpNet::new(IpAddr::V6(Ipv6Addr::from(prefix)), 64).unwrap_or_default()
}

/// Docker's MAC for an IPv4 address: 02:42 followed by the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Allocation within one subnet. Network and broadcast addresses, the gateway and `reserved`
/// are never handed out; with `range`, only addresses inside it are (a requested address
/// may be anywhere in the subnet, as in Docker, so static addresses can live outside the
/// dynamic range).
#[derive(Clone, Debug)]
pub struct Allocator {
    subnet: IpNet,
    v4: bool,
    /// Inclusive bounds of what may be handed out at all.
    first: u128,
    last: u128,
    /// Inclusive bounds of dynamic allocation (the range, clipped to the above).
    dyn_first: u128,
    dyn_last: u128,
    /// Never handed out: the gateway and the auxiliary addresses.
    reserved: BTreeSet<u128>,
    taken: BTreeSet<u128>,
}

impl Allocator {
    /// Invalid when the gateway, the range or a reserved address lies outside the subnet.
    pub fn new(
        subnet: IpNet,
        range: Option<IpNet>,
        gateway: IpAddr,
        reserved: &[IpAddr],
    ) -> Result<Self> {
        let subnet = subnet.trunc();
        let v4 = subnet.addr().is_ipv4();
        if !subnet.contains(&gateway) {
            return Err(NetError::Invalid(format!(
                "gateway {gateway} is not in subnet {subnet}"
            )));
        }
        if let Some(r) = &range {
            if r.addr().is_ipv4() != v4
                || r.prefix_len() < subnet.prefix_len()
                || !subnet.contains(&r.network())
            {
                return Err(NetError::Invalid(format!(
                    "ip-range {r} is not in subnet {subnet}"
                )));
            }
        }
        for ip in reserved {
            if !subnet.contains(ip) {
                return Err(NetError::Invalid(format!(
                    "auxiliary address {ip} is not in subnet {subnet}"
                )));
            }
        }
        let (net, bcast) = bounds(&subnet);
        // IPv4: neither the network nor the broadcast address (except in /31 and /32, which
        // have neither). IPv6 has no broadcast; its first address is left out all the same
        // so that the gateway is `::1`, as Docker does.
        let (first, last) = if v4 {
            if subnet.prefix_len() >= 31 {
                (net, bcast)
            } else {
                (net + 1, bcast - 1)
            }
        } else if subnet.prefix_len() == 128 {
            (net, bcast)
        } else {
            (net + 1, bcast)
        };
        let (dyn_first, dyn_last) = match &range {
            Some(r) => {
                let (a, b) = bounds(&r.trunc());
                (a.max(first), b.min(last))
            }
            None => (first, last),
        };
        let mut res: BTreeSet<u128> = reserved.iter().map(|ip| to_u128(*ip)).collect();
        res.insert(to_u128(gateway));
        Ok(Allocator {
            subnet,
            v4,
            first,
            last,
            dyn_first,
            dyn_last,
            reserved: res,
            taken: BTreeSet::new(),
        })
    }

    /// The subnet this allocator hands addresses from.
    pub fn subnet(&self) -> IpNet {
        self.subnet
    }

    /// `want`, when given and free; else the lowest free address of the range.
    pub fn allocate(&mut self, want: Option<IpAddr>) -> Result<IpAddr> {
        if let Some(ip) = want {
            if ip.is_ipv4() != self.v4 || !self.subnet.contains(&ip) {
                return Err(NetError::Invalid(format!(
                    "Invalid address {ip}: It does not belong to any of this network's subnets"
                )));
            }
            let v = to_u128(ip);
            if v < self.first || v > self.last {
                return Err(NetError::Invalid(format!(
                    "Invalid address {ip}: it is the subnet's network or broadcast address"
                )));
            }
            if self.reserved.contains(&v) || self.taken.contains(&v) {
                return Err(NetError::Conflict("Address already in use".into()));
            }
            self.taken.insert(v);
            return Ok(ip);
        }
        let mut v = self.dyn_first;
        if v > self.dyn_last {
            return Err(full());
        }
        // Skips only over addresses in the two sets, so it ends after at most their size.
        while self.reserved.contains(&v) || self.taken.contains(&v) {
            if v >= self.dyn_last {
                return Err(full());
            }
            v += 1;
        }
        self.taken.insert(v);
        Ok(from_u128(v, self.v4))
    }

    /// Records `ip` as taken (rebuilding the allocator after a restart).
    pub fn mark(&mut self, ip: IpAddr) {
        if ip.is_ipv4() == self.v4 {
            self.taken.insert(to_u128(ip));
        }
    }

    /// Makes `ip` available again; an address not taken is left alone.
    pub fn release(&mut self, ip: IpAddr) {
        if ip.is_ipv4() == self.v4 {
            self.taken.remove(&to_u128(ip));
        }
    }
}

fn full() -> NetError {
    NetError::Conflict("no available addresses on this network".into())
}

#[cfg(test)]
mod tests;
