//! Host port reservations: while a port is published, a socket of ours stays bound to it, so
//! starting a container on a port in use fails up front (as with Docker) and nothing else can
//! take the port meanwhile. Traffic itself never reaches these sockets: the DNAT rules send it
//! to the container.
//!
//! TCP and SCTP sockets are bound but never listen, and without SO_REUSEADDR: a bound socket
//! already holds the port against any other bind (with or without reuse), while a listening one
//! would accept connections meant for the container if the DNAT rule were missing. UDP sockets
//! are bound (a UDP socket cannot "not listen"). A wildcard reservation binds 0.0.0.0 and,
//! when the host has IPv6, `[::]` with IPV6_V6ONLY (a dual-stack `[::]` would collide with our own
//! 0.0.0.0).
//!
//! A process-wide registry of held (protocol, address, port) tells Docker's two failures
//! apart: a port we already hold is "port is already allocated" (Docker's port allocator), a
//! port another program holds is "address already in use" (the kernel's bind).

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rustix::io::Errno;
use rustix::net::{ipproto, AddressFamily, SocketType};

use crate::firewall::Proto;
use crate::{NetError, Result};

/// A held host port (bound sockets, closed on drop).
pub struct Reservation {
    keys: Vec<Key>,
    _sockets: Vec<OwnedFd>,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("held", &self.keys)
            .finish()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut held = registry();
        for key in &self.keys {
            held.remove(key);
        }
    }
}

/// (protocol, address, port) held by a live [`Reservation`] of this process.
type Key = (Proto, IpAddr, u16);

static HELD: Mutex<BTreeSet<Key>> = Mutex::new(BTreeSet::new());

/// The registry, also after a panic elsewhere while it was locked: the set itself is never
/// left half-updated (single inserts and removes).
fn registry() -> MutexGuard<'static, BTreeSet<Key>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reserve `port` on `host_ip` (None = 0.0.0.0 and, when the host has IPv6, `[::]`).
/// Conflict with Docker's wording when taken:
/// "Bind for 0.0.0.0:18080 failed: port is already allocated" / "...: address already in use".
pub fn reserve(proto: Proto, host_ip: Option<IpAddr>, port: u16) -> Result<Reservation> {
    if port == 0 {
        return Err(NetError::Invalid(
            "invalid host port 0: use an ephemeral reservation".to_string(),
        ));
    }
    let mut held = registry();
    reserve_locked(&mut held, proto, host_ip, port, None)
}

/// An ephemeral port (-P, -p 80) from the kernel's range, reserved; returns it with the port.
pub fn reserve_any(proto: Proto, host_ip: Option<IpAddr>) -> Result<(u16, Reservation)> {
    let first = addrs(host_ip)[0];
    let mut held = registry();
    // The kernel picks a port free on the first address; the other (wildcard [::]) may have it
    // taken by someone else, in which case another pick is tried.
    for _ in 0..32 {
        let (port, prebound) = match bind(proto, SocketAddr::new(first, 0)) {
            Ok(Some(fd)) => (local_port(&fd)?, Some(fd)),
            Ok(None) => (free_in_local_range(&held, proto, host_ip)?, None),
            Err(e) => return Err(bind_error(first, 0, e)),
        };
        match reserve_locked(&mut held, proto, host_ip, port, prebound) {
            Ok(r) => return Ok((port, r)),
            Err(NetError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(NetError::Conflict(format!(
        "Bind for {}:0 failed: all ports are allocated",
        shown(host_ip)
    )))
}

/// A range `-p 8000-8010:80` takes the first free port in it.
pub fn reserve_in_range(
    proto: Proto,
    host_ip: Option<IpAddr>,
    lo: u16,
    hi: u16,
) -> Result<(u16, Reservation)> {
    if lo == 0 || hi < lo {
        return Err(NetError::Invalid(format!("invalid port range: {lo}-{hi}")));
    }
    let mut held = registry();
    for port in lo..=hi {
        match reserve_locked(&mut held, proto, host_ip, port, None) {
            Ok(r) => return Ok((port, r)),
            Err(NetError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(NetError::Conflict(format!(
        "Bind for {}:{lo}-{hi} failed: port is already allocated",
        shown(host_ip)
    )))
}

/// Check the registry, bind every address of `host_ip` (the first one may come already bound,
/// from an ephemeral pick) and record the keys.
fn reserve_locked(
    held: &mut BTreeSet<Key>,
    proto: Proto,
    host_ip: Option<IpAddr>,
    port: u16,
    mut prebound: Option<OwnedFd>,
) -> Result<Reservation> {
    let addrs = addrs(host_ip);
    if let Some(ip) = addrs.iter().find(|ip| held.contains(&(proto, **ip, port))) {
        let ip = if host_ip.is_none() {
            shown(None)
        } else {
            ip.to_string()
        };
        return Err(NetError::Conflict(format!(
            "Bind for {ip}:{port} failed: port is already allocated"
        )));
    }
    let mut sockets = Vec::new();
    let mut keys = Vec::new();
    for ip in addrs {
        let bound = match prebound.take() {
            Some(fd) => Ok(Some(fd)),
            None => bind(proto, SocketAddr::new(ip, port)),
        };
        match bound {
            Ok(fd) => sockets.extend(fd),
            // The wildcard [::] on a host without IPv6: the 0.0.0.0 socket is the reservation.
            Err(Errno::AFNOSUPPORT | Errno::ADDRNOTAVAIL) if host_ip.is_none() && ip.is_ipv6() => {
                continue
            }
            Err(Errno::ADDRINUSE) => {
                let ip = if host_ip.is_none() {
                    shown(None)
                } else {
                    ip.to_string()
                };
                return Err(NetError::Conflict(format!(
                    "Bind for {ip}:{port} failed: address already in use"
                )));
            }
            Err(e) => return Err(bind_error(ip, port, e)),
        }
        keys.push((proto, ip, port));
    }
    held.extend(keys.iter().copied());
    Ok(Reservation {
        keys,
        _sockets: sockets,
    })
}

/// The addresses a reservation binds: the given one, or both wildcards.
fn addrs(host_ip: Option<IpAddr>) -> Vec<IpAddr> {
    match host_ip {
        Some(ip) => vec![ip],
        None => vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ],
    }
}

/// The address as Docker's messages show it (the wildcard as 0.0.0.0).
fn shown(host_ip: Option<IpAddr>) -> String {
    host_ip.map_or_else(|| Ipv4Addr::UNSPECIFIED.to_string(), |ip| ip.to_string())
}

fn bind_error(ip: IpAddr, port: u16, e: Errno) -> NetError {
    NetError::Io {
        what: format!("Bind for {ip}:{port} failed"),
        source: e.into(),
    }
}

/// A bound, non-listening socket on `addr`; None for SCTP when the kernel has no SCTP (the
/// registry alone then holds the port, as Docker's allocator does).
fn bind(proto: Proto, addr: SocketAddr) -> std::result::Result<Option<OwnedFd>, Errno> {
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let (kind, protocol) = match proto {
        Proto::Tcp => (SocketType::STREAM, ipproto::TCP),
        Proto::Udp => (SocketType::DGRAM, ipproto::UDP),
        Proto::Sctp => (SocketType::STREAM, ipproto::SCTP),
    };
    let fd = match rustix::net::socket_with(
        family,
        kind,
        rustix::net::SocketFlags::CLOEXEC,
        Some(protocol),
    ) {
        Ok(fd) => fd,
        Err(Errno::PROTONOSUPPORT | Errno::SOCKTNOSUPPORT) if proto == Proto::Sctp => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    if addr.is_ipv6() {
        rustix::net::sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    Ok(Some(fd))
}

fn local_port(fd: &OwnedFd) -> Result<u16> {
    let io = |source| NetError::Io {
        what: "reading a reserved socket's port".to_string(),
        source,
    };
    let addr = rustix::net::getsockname(fd).map_err(|e| io(e.into()))?;
    SocketAddr::try_from(addr)
        .map(|a| a.port())
        .map_err(|e| io(e.into()))
}

/// For SCTP without kernel support: the first port of the kernel's ephemeral range that we do
/// not hold.
fn free_in_local_range(held: &BTreeSet<Key>, proto: Proto, host_ip: Option<IpAddr>) -> Result<u16> {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut bounds = range
        .split_whitespace()
        .filter_map(|v| v.parse::<u16>().ok());
    let (lo, hi) = (
        bounds.next().unwrap_or(32768),
        bounds.next().unwrap_or(60999),
    );
    let ip = addrs(host_ip)[0];
    (lo..=hi)
        .find(|p| !held.contains(&(proto, ip, *p)))
        .ok_or_else(|| {
            NetError::Conflict(format!(
                "Bind for {}:0 failed: all ports are allocated",
                shown(host_ip)
            ))
        })
}
