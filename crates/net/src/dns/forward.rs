//! Exchanging a query with the upstream resolvers, from the daemon's (host) namespace.
//!
//! As Docker: at most three upstreams (what a libc resolver reads of resolv.conf), tried in
//! order; one that does not answer in time, fails (SERVFAIL) or refuses is skipped; the first
//! other reply is relayed verbatim with the client's id. The query goes out with an id of our
//! own on a fresh socket, so a reply for another query (or a forged one) is not relayed.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::answer::{Forward, Transport};

/// How many upstreams are tried, as Docker and glibc (MAXNS).
const MAX_UPSTREAMS: usize = 3;
/// How long one upstream has to answer.
pub(crate) const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// The DNS header's size; anything shorter is not a reply.
const HEADER_LEN: usize = 12;
const RCODE_SERVFAIL: u8 = 2;
const RCODE_REFUSED: u8 = 5;

/// The upstream's reply for the client (with the client's id), or the SERVFAIL prepared
/// with the query when none answers usefully or there are none.
pub(crate) async fn forward(
    fwd: Forward,
    upstreams: &[SocketAddr],
    transport: Transport,
) -> Vec<u8> {
    for upstream in upstreams.iter().take(MAX_UPSTREAMS) {
        let id = fastrand::u16(..);
        let Some(query) = with_id(&fwd.query, id) else {
            break;
        };
        let reply = match transport {
            Transport::Udp => timeout(UPSTREAM_TIMEOUT, exchange_udp(*upstream, &query, id)).await,
            Transport::Tcp => timeout(UPSTREAM_TIMEOUT, exchange_tcp(*upstream, &query, id)).await,
        };
        let Ok(Some(reply)) = reply else {
            tracing::debug!(%upstream, "dns: no reply from upstream");
            continue;
        };
        if let Some(relayed) = relay(reply, fwd.id) {
            return relayed;
        }
        tracing::debug!(%upstream, "dns: upstream failed or refused the query");
    }
    fwd.servfail
}

/// The reply for the client, or `None` when it is one Docker moves on from (SERVFAIL,
/// REFUSED) or is not a reply at all.
pub(crate) fn relay(mut reply: Vec<u8>, client_id: u16) -> Option<Vec<u8>> {
    let rcode = reply.get(3)? & 0x0f;
    if reply.len() < HEADER_LEN || rcode == RCODE_SERVFAIL || rcode == RCODE_REFUSED {
        return None;
    }
    reply[..2].copy_from_slice(&client_id.to_be_bytes());
    Some(reply)
}

/// `packet` with its id replaced; `None` when it is too short to have one.
fn with_id(packet: &[u8], id: u16) -> Option<Vec<u8>> {
    if packet.len() < HEADER_LEN {
        return None;
    }
    let mut out = packet.to_vec();
    out[..2].copy_from_slice(&id.to_be_bytes());
    Some(out)
}

/// Whether `packet` is the reply to our query `id` (QR set, same id).
fn is_reply_to(packet: &[u8], id: u16) -> bool {
    packet.len() >= HEADER_LEN && packet[..2] == id.to_be_bytes() && packet[2] & 0x80 != 0
}

async fn exchange_udp(upstream: SocketAddr, query: &[u8], id: u16) -> Option<Vec<u8>> {
    let local: SocketAddr = match upstream {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.ok()?;
    // Connected: only the upstream's packets arrive, and a closed port fails fast (ICMP).
    socket.connect(upstream).await.ok()?;
    socket.send(query).await.ok()?;
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    loop {
        let n = socket.recv(&mut buf).await.ok()?;
        let packet = buf.get(..n)?;
        if is_reply_to(packet, id) {
            return Some(packet.to_vec());
        }
    }
}

async fn exchange_tcp(upstream: SocketAddr, query: &[u8], id: u16) -> Option<Vec<u8>> {
    let len = u16::try_from(query.len()).ok()?;
    let mut stream = TcpStream::connect(upstream).await.ok()?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.ok()?;
    let reply_len = stream.read_u16().await.ok()?;
    let mut reply = vec![0u8; usize::from(reply_len)];
    stream.read_exact(&mut reply).await.ok()?;
    is_reply_to(&reply, id).then_some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn relay_puts_back_the_client_id_and_skips_failures() {
        let mut ok = vec![0xab, 0xcd, 0x81, 0x80];
        ok.extend_from_slice(&[0; 8]);
        assert_eq!(
            relay(ok.clone(), 7).map(|r| r[..2].to_vec()),
            Some(vec![0, 7])
        );
        let mut nx = ok.clone();
        nx[3] = 0x83;
        assert!(relay(nx, 7).is_some(), "NXDOMAIN is an answer");
        let mut servfail = ok.clone();
        servfail[3] = 0x82;
        assert!(relay(servfail, 7).is_none());
        let mut refused = ok;
        refused[3] = 0x85;
        assert!(relay(refused, 7).is_none());
        assert!(relay(vec![1, 2, 3], 7).is_none());
    }

    proptest! {
        #[test]
        fn relay_and_reply_checks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), id: u16) {
            let _ = is_reply_to(&bytes, id);
            let _ = with_id(&bytes, id);
            let _ = relay(bytes, id);
        }
    }
}
