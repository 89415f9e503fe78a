//! Binding the resolver's sockets inside a container's network namespace.
//!
//! A socket belongs to the namespace it was created in, whichever thread later uses it, so a
//! short-lived thread enters the namespace, binds, and hands the sockets back; the daemon then
//! serves them from its own threads without ever leaving the host's namespace.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;

use super::RESOLVER_IP;
use crate::{netns, NetError, Result};

/// UDP and TCP sockets bound to 127.0.0.11:53 inside the namespace at `netns` (the sockets
/// stay in that namespace; they are served from the daemon). Both are non-blocking, as the
/// runtime wants them. The namespace is entered by a thread of [`netns::run_in`]'s, which
/// ends there, so no thread of the daemon is left in a container's namespace.
pub fn bind_in(netns: &Path) -> Result<(UdpSocket, TcpListener)> {
    let bound = netns::run_in(netns, bind_here)?;
    bound.map_err(|source| NetError::Io {
        what: format!("binding the DNS resolver in {}", netns.display()),
        source,
    })
}

/// [`bind_in`] for a caller already running inside the container's namespace (a thread
/// that entered it for other work), which spares a second visit.
pub fn bind_here() -> std::io::Result<(UdpSocket, TcpListener)> {
    let addr = SocketAddr::from((RESOLVER_IP, 53));
    let udp = UdpSocket::bind(addr)?;
    let tcp = TcpListener::bind(addr)?;
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    Ok((udp, tcp))
}
