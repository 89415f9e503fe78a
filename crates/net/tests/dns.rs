//! The embedded resolver end to end: sockets bound at 127.0.0.11:53 inside a network namespace
//! this test creates, served from the test's (host) namespace, queried from inside the
//! namespace; forwarding goes to a tiny resolver the test runs on 127.0.0.1. Nothing is ever
//! sent to an outside address. Needs root (network namespaces).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use muelle_net::dns::{bind_in, serve, Names};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// What the fake upstream answers for every A query.
const UPSTREAM_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 77);

/// A network namespace of this test's own (`ip netns`), with `lo` up; deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "muelle-dnstest-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]);
        ns
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Run `f` on a thread inside the namespace.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.path();
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap();
            move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap();
    assert!(status.success(), "ip {args:?}");
}

/// The names the fake container knows.
struct Fake;

impl Names for Fake {
    fn lookup(&self, name: &str) -> Vec<IpAddr> {
        match name {
            "web" | "web.net1" => vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))],
            "v6only" => vec![IpAddr::V6("fd00::6".parse().unwrap())],
            "shared" => vec![
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 4)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
            ],
            _ => Vec::new(),
        }
    }
    fn reverse(&self, ip: IpAddr) -> Option<String> {
        match ip {
            IpAddr::V4(v4) if v4 == Ipv4Addr::new(10, 0, 0, 2) => Some("web.net1".into()),
            IpAddr::V6(v6) if v6 == "fd00::6".parse::<Ipv6Addr>().unwrap() => {
                Some("v6only.net1".into())
            }
            _ => None,
        }
    }
}

/// `serve` on a runtime of its own, stopped (and waited for) on drop.
struct Server {
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Netns, upstreams: Vec<SocketAddr>) -> Server {
        let (udp, tcp) = bind_in(&ns.path()).unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(udp, tcp, Arc::new(Fake), upstreams, shutdown));
        });
        Server {
            stop,
            thread: Some(thread),
        }
    }

    /// Signal shutdown and return how long `serve` took to return.
    fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fake upstream resolver on 127.0.0.1 (host namespace), UDP and TCP on the same port:
/// answers every A query with `UPSTREAM_ANSWER`, other types with NXDOMAIN; counts queries.
struct Upstream {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
}

impl Upstream {
    fn start() -> Upstream {
        Upstream::answering(upstream_reply)
    }

    /// One that refuses every query (a transitional state Docker moves on from).
    fn refusing() -> Upstream {
        Upstream::answering(|packet| {
            let query = Message::from_vec(packet).ok()?;
            let mut reply = Message::response(query.id, query.op_code);
            reply.metadata.response_code = ResponseCode::Refused;
            reply.add_queries(query.queries.iter().cloned());
            reply.to_vec().ok()
        })
    }

    fn answering(reply_to: fn(&[u8]) -> Option<Vec<u8>>) -> Upstream {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = TcpListener::bind(addr).unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queries);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, peer)) = udp.recv_from(&mut buf) {
                counter.fetch_add(1, Ordering::SeqCst);
                if let Some(reply) = reply_to(&buf[..n]) {
                    let _ = udp.send_to(&reply, peer);
                }
            }
        });
        let counter = Arc::clone(&queries);
        std::thread::spawn(move || {
            for mut stream in tcp.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let Ok(query) = read_frame(&mut stream) else {
                    continue;
                };
                if let Some(reply) = reply_to(&query) {
                    let _ = write_frame(&mut stream, &reply);
                }
            }
        });
        Upstream { addr, queries }
    }
}

fn upstream_reply(packet: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    let question = query.queries.first()?.clone();
    let mut reply = Message::response(query.id, query.op_code);
    reply.metadata.recursion_available = true;
    if question.query_type() == RecordType::A {
        let record = Record::from_rdata(question.name().clone(), 30, RData::A(A(UPSTREAM_ANSWER)));
        reply.add_answer(record);
    } else {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_query(question);
    reply.to_vec().ok()
}

fn query_bytes(id: u16, name: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    msg.to_vec().unwrap()
}

const RESOLVER: &str = "127.0.0.11:53";

/// One UDP exchange with the resolver, from inside the namespace; `None` on timeout.
fn ask_udp(ns: &Netns, id: u16, name: &str, qtype: RecordType, wait: Duration) -> Option<Message> {
    let packet = query_bytes(id, name, qtype);
    ns.run(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(wait)).unwrap();
        socket.send_to(&packet, RESOLVER).unwrap();
        let mut buf = [0u8; 4096];
        let n = socket.recv(&mut buf).ok()?;
        Some(Message::from_vec(&buf[..n]).unwrap())
    })
}

fn ask(ns: &Netns, name: &str, qtype: RecordType) -> Message {
    let reply = ask_udp(ns, 0x4242, name, qtype, Duration::from_secs(5)).expect("no reply");
    assert_eq!(reply.id, 0x4242);
    assert_eq!(reply.message_type, MessageType::Response);
    reply
}

fn addrs(reply: &Message) -> Vec<IpAddr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg)?;
    Ok(msg)
}

fn write_frame(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let mut framed = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    stream.write_all(&framed)
}

#[test]
fn answers_a_aaaa_and_ptr_of_known_names() {
    let ns = Netns::new();
    let _server = Server::start(&ns, Vec::new());

    let reply = ask(&ns, "web.", RecordType::A);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
    assert_eq!(reply.answers[0].ttl, 600);

    let reply = ask(&ns, "WEB.Net1.", RecordType::A);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);

    let reply = ask(&ns, "v6only.", RecordType::AAAA);
    assert_eq!(addrs(&reply), vec!["fd00::6".parse::<IpAddr>().unwrap()]);

    let reply = ask(&ns, "2.0.0.10.in-addr.arpa.", RecordType::PTR);
    match &reply.answers[0].data {
        RData::PTR(ptr) => assert_eq!(ptr.0.to_ascii(), "web.net1."),
        other => panic!("not a PTR: {other:?}"),
    }
    let v6_ptr = "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.";
    let reply = ask(&ns, v6_ptr, RecordType::PTR);
    match &reply.answers[0].data {
        RData::PTR(ptr) => assert_eq!(ptr.0.to_ascii(), "v6only.net1."),
        other => panic!("not a PTR: {other:?}"),
    }
}

#[test]
fn known_name_without_an_address_of_the_family_is_empty_and_not_forwarded() {
    let ns = Netns::new();
    let upstream = Upstream::start();
    let _server = Server::start(&ns, vec![upstream.addr]);

    let reply = ask(&ns, "web.", RecordType::AAAA);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    let reply = ask(&ns, "v6only.", RecordType::A);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    assert_eq!(upstream.queries.load(Ordering::SeqCst), 0);
}

#[test]
fn several_addresses_come_in_rotating_order() {
    let ns = Netns::new();
    let _server = Server::start(&ns, Vec::new());

    let all: Vec<IpAddr> = (3..=5)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
        .collect();
    let orders: Vec<Vec<IpAddr>> = (0..3)
        .map(|_| addrs(&ask(&ns, "shared.", RecordType::A)))
        .collect();
    for order in &orders {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, all, "every address, each once");
    }
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
}

#[test]
fn unknown_names_are_forwarded_and_relayed_with_the_client_id() {
    let ns = Netns::new();
    let upstream = Upstream::start();
    let _server = Server::start(&ns, vec![upstream.addr]);

    let reply = ask(&ns, "elsewhere.test.", RecordType::A);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(UPSTREAM_ANSWER)]);
    let reply = ask(&ns, "elsewhere.test.", RecordType::TXT);
    assert_eq!(reply.response_code, ResponseCode::NXDomain);
    // An address of ours nobody named goes upstream too.
    let reply = ask(&ns, "9.0.0.10.in-addr.arpa.", RecordType::PTR);
    assert_eq!(reply.response_code, ResponseCode::NXDomain);
    assert_eq!(upstream.queries.load(Ordering::SeqCst), 3);
}

#[test]
fn closed_and_refusing_upstreams_are_skipped_for_the_next() {
    let ns = Netns::new();
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refusing = Upstream::refusing();
    let good = Upstream::start();
    let _server = Server::start(&ns, vec![closed, refusing.addr, good.addr]);
    let started = Instant::now();
    let reply = ask(&ns, "elsewhere.test.", RecordType::A);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(UPSTREAM_ANSWER)]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(refusing.queries.load(Ordering::SeqCst), 1);
    assert_eq!(good.queries.load(Ordering::SeqCst), 1);
}

#[test]
fn servfail_when_no_upstream_answers_or_there_are_none() {
    let ns = Netns::new();
    // Bound but never read: queries to it go unanswered.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = Server::start(&ns, vec![silent.local_addr().unwrap()]);
    let started = Instant::now();
    let reply = ask(&ns, "elsewhere.test.", RecordType::A);
    assert_eq!(reply.response_code, ResponseCode::ServFail);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(server);

    let none = Netns::new();
    let _server = Server::start(&none, Vec::new());
    let reply = ask(&none, "elsewhere.test.", RecordType::A);
    assert_eq!(reply.response_code, ResponseCode::ServFail);
}

#[test]
fn a_slow_upstream_does_not_hold_up_other_names() {
    let ns = Netns::new();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _server = Server::start(&ns, vec![silent.local_addr().unwrap()]);
    let path = ns.path();
    let slow = std::thread::spawn(move || {
        let file = File::open(&path).unwrap();
        move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
            .send_to(&query_bytes(1, "slow.test.", RecordType::A), RESOLVER)
            .unwrap();
        let mut buf = [0u8; 512];
        socket.recv(&mut buf).map(|n| buf[..n].to_vec())
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let reply = ask(&ns, "web.", RecordType::A);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let slow_reply = Message::from_vec(&slow.join().unwrap().unwrap()).unwrap();
    assert_eq!(slow_reply.response_code, ResponseCode::ServFail);
}

#[test]
fn tcp_serves_several_queries_per_connection_and_forwards_over_tcp() {
    let ns = Netns::new();
    let upstream = Upstream::start();
    let _server = Server::start(&ns, vec![upstream.addr]);
    let replies = ns.run(|| {
        let mut stream = TcpStream::connect(RESOLVER).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write_frame(&mut stream, &query_bytes(1, "web.", RecordType::A)).unwrap();
        write_frame(
            &mut stream,
            &query_bytes(2, "elsewhere.test.", RecordType::A),
        )
        .unwrap();
        let mut replies = vec![
            Message::from_vec(&read_frame(&mut stream).unwrap()).unwrap(),
            Message::from_vec(&read_frame(&mut stream).unwrap()).unwrap(),
        ];
        replies.sort_by_key(|m| m.id);
        replies
    });
    assert_eq!(
        addrs(&replies[0]),
        vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]
    );
    assert_eq!(replies[1].id, 2);
    assert_eq!(addrs(&replies[1]), vec![IpAddr::V4(UPSTREAM_ANSWER)]);
    assert_eq!(
        upstream.queries.load(Ordering::SeqCst),
        1,
        "one TCP query upstream"
    );
}

#[test]
fn garbage_is_dropped_and_the_server_keeps_answering() {
    let ns = Netns::new();
    let _server = Server::start(&ns, Vec::new());
    let got = ns.run(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut seed = 0x2545_f491_u32;
        for len in [0usize, 1, 11, 12, 13, 40, 300, 1500] {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed.to_le_bytes()[0]
                })
                .collect();
            socket.send_to(&junk, RESOLVER).unwrap();
        }
        let mut buf = [0u8; 512];
        let stray = socket.recv(&mut buf).is_ok();
        let mut stream = TcpStream::connect(RESOLVER).unwrap();
        stream.write_all(&[0, 5, 1, 2, 3, 4, 5]).unwrap();
        write_frame(&mut stream, &query_bytes(9, "web.", RecordType::A)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (stray, read_frame(&mut stream).unwrap())
    });
    assert!(!got.0, "garbage got a reply");
    assert_eq!(Message::from_vec(&got.1).unwrap().id, 9);
    let reply = ask(&ns, "web.", RecordType::A);
    assert_eq!(addrs(&reply), vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
}

#[test]
fn shutdown_stops_promptly_even_with_queries_in_flight() {
    let ns = Netns::new();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server = Server::start(&ns, vec![silent.local_addr().unwrap()]);
    assert!(ask_udp(&ns, 1, "web.", RecordType::A, Duration::from_secs(5)).is_some());
    let _held = ns.run(|| {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .send_to(&query_bytes(2, "slow.test.", RecordType::A), RESOLVER)
            .unwrap();
        // A TCP connection left open and idle, and the socket awaiting its reply.
        (socket, TcpStream::connect(RESOLVER).unwrap())
    });
    std::thread::sleep(Duration::from_millis(100));
    let took = server.stop();
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert!(ask_udp(&ns, 3, "web.", RecordType::A, Duration::from_millis(300)).is_none());
}

#[test]
fn binding_in_a_missing_namespace_is_an_error() {
    let err = bind_in(std::path::Path::new(
        "/run/netns/muelle-dnstest-does-not-exist",
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("muelle-dnstest-does-not-exist"),
        "{err}"
    );
}
