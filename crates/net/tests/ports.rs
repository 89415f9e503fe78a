//! Host port reservations, each test inside a network namespace of its own (so fixed port
//! numbers never meet the host's or another test's).

mod support;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};

use muelle_net::firewall::Proto;
use muelle_net::ports::{reserve, reserve_any, reserve_in_range};
use muelle_net::NetError;
use support::Netns;

const LOOPBACK: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

fn conflict(r: Result<impl std::fmt::Debug, NetError>) -> String {
    match r {
        Err(NetError::Conflict(msg)) => msg,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_held_port_is_already_allocated_until_dropped() {
    Netns::new("ports-held").run(|| {
        let held = reserve(Proto::Tcp, None, 18080).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            conflict(reserve(Proto::Tcp, None, 18080)),
            "Bind for 0.0.0.0:18080 failed: port is already allocated"
        );
        // Other protocols are other ports.
        let udp = reserve(Proto::Udp, None, 18080).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            conflict(reserve(Proto::Udp, None, 18080)),
            "Bind for 0.0.0.0:18080 failed: port is already allocated"
        );
        // Nothing else can take it meanwhile, on IPv4 or IPv6.
        assert_eq!(
            TcpListener::bind("0.0.0.0:18080").err().map(|e| e.kind()),
            Some(ErrorKind::AddrInUse)
        );
        assert_eq!(
            TcpListener::bind("[::]:18080").err().map(|e| e.kind()),
            Some(ErrorKind::AddrInUse)
        );
        assert_eq!(
            UdpSocket::bind("0.0.0.0:18080").err().map(|e| e.kind()),
            Some(ErrorKind::AddrInUse)
        );
        drop(held);
        drop(udp);
        let again = reserve(Proto::Tcp, None, 18080);
        assert!(again.is_ok(), "{again:?}");
        drop(again);
        assert!(TcpListener::bind("0.0.0.0:18080").is_ok());
    });
}

#[test]
fn a_reservation_does_not_accept_connections() {
    Netns::new("ports-nolisten").run(|| {
        let _held = reserve(Proto::Tcp, LOOPBACK, 18081).unwrap_or_else(|e| panic!("{e}"));
        let refused = TcpStream::connect("127.0.0.1:18081")
            .err()
            .map(|e| e.kind());
        assert_eq!(refused, Some(ErrorKind::ConnectionRefused));
    });
}

#[test]
fn a_port_of_another_program_is_address_already_in_use() {
    Netns::new("ports-inuse").run(|| {
        let other = TcpListener::bind("127.0.0.1:18082").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            conflict(reserve(Proto::Tcp, None, 18082)),
            "Bind for 0.0.0.0:18082 failed: address already in use"
        );
        assert_eq!(
            conflict(reserve(Proto::Tcp, LOOPBACK, 18082)),
            "Bind for 127.0.0.1:18082 failed: address already in use"
        );
        // The failed attempts left nothing held or bound.
        drop(other);
        let free = reserve(Proto::Tcp, None, 18082);
        assert!(free.is_ok(), "{free:?}");
    });
}

#[test]
fn an_ephemeral_port_is_usable_and_held() {
    Netns::new("ports-any").run(|| {
        for proto in [Proto::Tcp, Proto::Udp] {
            let (port, held) = reserve_any(proto, None).unwrap_or_else(|e| panic!("{e}"));
            assert_ne!(port, 0);
            assert_eq!(
                conflict(reserve(proto, None, port)),
                format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
            );
            drop(held);
            assert!(reserve(proto, None, port).is_ok());
        }
        let (port, _held) = reserve_any(Proto::Tcp, LOOPBACK).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(port, 0);
    });
}

#[test]
fn a_range_takes_its_first_free_port() {
    Netns::new("ports-range").run(|| {
        let _first = reserve(Proto::Tcp, None, 18090).unwrap_or_else(|e| panic!("{e}"));
        let (port, _second) =
            reserve_in_range(Proto::Tcp, None, 18090, 18091).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(port, 18091);
        assert_eq!(
            conflict(reserve_in_range(Proto::Tcp, None, 18090, 18091)),
            "Bind for 0.0.0.0:18090-18091 failed: port is already allocated"
        );
        assert!(matches!(
            reserve_in_range(Proto::Tcp, None, 18091, 18090),
            Err(NetError::Invalid(_))
        ));
        assert!(matches!(
            reserve(Proto::Tcp, None, 0),
            Err(NetError::Invalid(_))
        ));
    });
}

#[test]
fn proto_names() {
    for (proto, name) in [
        (Proto::Tcp, "tcp"),
        (Proto::Udp, "udp"),
        (Proto::Sctp, "sctp"),
    ] {
        assert_eq!(proto.to_string(), name);
        assert_eq!(name.parse::<Proto>().ok(), Some(proto));
        assert_eq!(
            serde_json::to_string(&proto).ok(),
            Some(format!("\"{name}\""))
        );
        assert_eq!(
            serde_json::from_str::<Proto>(&format!("\"{name}\"")).ok(),
            Some(proto)
        );
    }
    assert!(matches!("TCP".parse::<Proto>(), Err(NetError::Invalid(_))));
}
