//! Binding the resolver's sockets inside a container's network namespace.
//!
//! A socket belongs to the namespace it was created in, whichever thread later uses it, so a
//! short-lived thread enters the namespace, binds, and hands the sockets back; the daemon then
//! serves them from its own threads without ever leaving the host's namespace.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::Path;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use super::RESOLVER_IP;
use crate::{NetError, Result};

/// UDP and TCP sockets bound to 127.0.0.11:53 inside the namespace at `netns` (the sockets
/// stay in that namespace; they are served from the daemon). Both are non-blocking, as the
/// runtime wants them.
pub fn bind_in(netns: &Path) -> Result<(UdpSocket, TcpListener)> {
    let path = netns.to_path_buf();
    let what = format!("binding the DNS resolver in {}", netns.display());
    // A thread of its own: setns changes only the calling thread, and this one ends here, so
    // no thread of the daemon is left in a container's namespace.
    let worker = std::thread::Builder::new()
        .name("dns-bind".into())
        .spawn(move || bind_inside(&path))
        .map_err(|source| NetError::Io {
            what: what.clone(),
            source,
        })?;
    let bound = worker.join().map_err(|_| NetError::Io {
        what: what.clone(),
        source: std::io::Error::other("the binding thread panicked"),
    })?;
    bound.map_err(|source| NetError::Io { what, source })
}

fn bind_inside(netns: &Path) -> std::io::Result<(UdpSocket, TcpListener)> {
    let file = File::open(netns)?;
    move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))?;
    let addr = SocketAddr::from((RESOLVER_IP, 53));
    let udp = UdpSocket::bind(addr)?;
    let tcp = TcpListener::bind(addr)?;
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    Ok((udp, tcp))
}
