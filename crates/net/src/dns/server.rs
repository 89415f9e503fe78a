//! Serving the resolver's UDP and TCP sockets from the daemon's runtime.
//!
//! Every query is handled in its own task, so a slow upstream holds up only the query that
//! went to it. All tasks live in join sets owned by `serve`, so when it stops (shutdown) they
//! are aborted with it and nothing keeps a container's socket open behind its back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::answer::{decide, Decision, Transport};
use super::forward::forward;
use super::Names;

/// Queries (UDP) and connections (TCP) in flight at once; beyond it UDP queries are dropped
/// (the client retries) and connections closed, so a flood cannot exhaust the daemon.
const MAX_IN_FLIGHT: usize = 1024;
/// Queries in flight on one TCP connection before reading the next waits.
const MAX_PER_CONNECTION: usize = 64;
/// A TCP connection with no new query for this long is closed (miekg/dns's default, which
/// Docker's resolver uses).
const TCP_IDLE: Duration = Duration::from_secs(8);
/// Pause after a failing accept/recv (e.g. out of file descriptors) instead of spinning.
const ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// What every query's task needs.
struct Resolver {
    names: Arc<dyn Names>,
    upstreams: Vec<SocketAddr>,
    /// Advanced per query, to rotate the order of several addresses (round-robin).
    turn: AtomicUsize,
}

impl Resolver {
    /// The reply to `packet`, if any (forwarding when the name is not ours).
    async fn respond(&self, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        match decide(self.names.as_ref(), packet, transport, turn) {
            Decision::Drop => None,
            Decision::Reply(reply) => Some(reply),
            Decision::Forward(fwd) => Some(forward(fwd, &self.upstreams, transport).await),
        }
    }
}

/// Serve both sockets until `shutdown` fires: A/AAAA from `names` (round-robin order when
/// several), PTR via `reverse`; anything else forwarded to `upstreams` (UDP, TCP for TCP,
/// timeout ~2s per upstream, SERVFAIL when none answers).
///
/// Also stops when the sender of `shutdown` is dropped: nobody could stop it any more.
/// Sockets that cannot be registered with the runtime are logged and not served.
pub async fn serve(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    names: Arc<dyn Names>,
    upstreams: Vec<SocketAddr>,
    mut shutdown: watch::Receiver<bool>,
) {
    let sockets = udp
        .set_nonblocking(true)
        .and_then(|()| tcp.set_nonblocking(true))
        .and_then(|()| Ok((UdpSocket::from_std(udp)?, TcpListener::from_std(tcp)?)));
    let (udp, tcp) = match sockets {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(error = %e, "dns: cannot serve the resolver's sockets");
            return;
        }
    };
    let udp = Arc::new(udp);
    let resolver = Arc::new(Resolver {
        names,
        upstreams,
        turn: AtomicUsize::new(0),
    });
    let mut tasks = JoinSet::new();
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            received = udp.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    if tasks.len() >= MAX_IN_FLIGHT {
                        continue;
                    }
                    let packet = buf.get(..n).unwrap_or_default().to_vec();
                    let (udp, resolver) = (Arc::clone(&udp), Arc::clone(&resolver));
                    tasks.spawn(async move {
                        if let Some(reply) = resolver.respond(&packet, Transport::Udp).await {
                            if let Err(e) = udp.send_to(&reply, peer).await {
                                tracing::debug!(error = %e, %peer, "dns: cannot send a reply");
                            }
                        }
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "dns: udp receive failed");
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            },
            accepted = tcp.accept() => match accepted {
                Ok((stream, _)) => {
                    if tasks.len() < MAX_IN_FLIGHT {
                        tasks.spawn(serve_connection(stream, Arc::clone(&resolver)));
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "dns: tcp accept failed");
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

/// Resolves when `shutdown` turns true or its sender is gone. The guard `wait_for` returns
/// is dropped here, before any await, so `serve` stays `Send` for the daemon's runtime.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.is_ok();
}

/// One TCP connection: length-prefixed queries, several per connection, answered as each is
/// ready (RFC 7766 allows out of order), closed after `TCP_IDLE` without a new query.
async fn serve_connection(stream: TcpStream, resolver: Arc<Resolver>) {
    let (mut reader, mut writer) = stream.into_split();
    let (replies, mut outgoing) = mpsc::channel::<Vec<u8>>(MAX_PER_CONNECTION);
    let read = async move {
        let mut handlers = JoinSet::new();
        while let Ok(Some(query)) = timeout(TCP_IDLE, read_frame(&mut reader)).await {
            let (replies, resolver) = (replies.clone(), Arc::clone(&resolver));
            handlers.spawn(async move {
                if let Some(reply) = resolver.respond(&query, Transport::Tcp).await {
                    let _ = replies.send(reply).await;
                }
            });
            while handlers.try_join_next().is_some() {}
            while handlers.len() >= MAX_PER_CONNECTION && handlers.join_next().await.is_some() {}
        }
        while handlers.join_next().await.is_some() {}
    };
    let write = async move {
        while let Some(reply) = outgoing.recv().await {
            let Ok(len) = u16::try_from(reply.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(reply.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&reply);
            if writer.write_all(&framed).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(read, write);
}

/// The next length-prefixed message; `None` at end of stream or on a read error.
async fn read_frame(reader: &mut OwnedReadHalf) -> Option<Vec<u8>> {
    let len = reader.read_u16().await.ok()?;
    let mut message = vec![0u8; usize::from(len)];
    reader.read_exact(&mut message).await.ok()?;
    Some(message)
}
