//! Tests of `answer::decide`: what is answered locally, what is forwarded, what is dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;

use super::*;

struct Fake;

impl Names for Fake {
    fn lookup(&self, name: &str) -> Vec<IpAddr> {
        match name {
            "web" => vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))],
            "both" => vec![
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                IpAddr::V6("fd00::3".parse().unwrap()),
            ],
            "many" => (1..=100)
                .map(|i| IpAddr::V4(Ipv4Addr::new(10, 1, 0, i)))
                .collect(),
            "pair" => vec![
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 4)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
            ],
            _ => Vec::new(),
        }
    }
    fn reverse(&self, ip: IpAddr) -> Option<String> {
        (ip == IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))).then(|| "web.net1".to_string())
    }
}

fn query(name: &str, qtype: RecordType) -> Message {
    let mut msg = Message::new(0x1234, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    msg
}

fn local(msg: &Message, transport: Transport, turn: usize) -> Message {
    match decide(&Fake, &msg.to_vec().unwrap(), transport, turn) {
        Decision::Reply(bytes) => Message::from_vec(&bytes).unwrap(),
        other => panic!("expected a local reply, got {other:?}"),
    }
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

#[test]
fn a_of_a_known_name_any_case_with_or_without_the_dot() {
    for name in ["web", "web.", "WeB."] {
        let reply = local(&query(name, RecordType::A), Transport::Udp, 0);
        assert_eq!(reply.id, 0x1234);
        assert_eq!(reply.message_type, MessageType::Response);
        assert_eq!(reply.response_code, ResponseCode::NoError);
        assert!(reply.recursion_available && reply.recursion_desired);
        assert_eq!(addrs(&reply), vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))]);
        assert_eq!(reply.answers[0].ttl, 600);
        assert_eq!(reply.queries.len(), 1);
    }
}

#[test]
fn known_name_without_an_address_of_the_family_is_empty_noerror() {
    let reply = local(&query("web.", RecordType::AAAA), Transport::Udp, 0);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
    let reply = local(&query("both.", RecordType::AAAA), Transport::Udp, 0);
    assert_eq!(
        addrs(&reply),
        vec![IpAddr::V6("fd00::3".parse::<Ipv6Addr>().unwrap())]
    );
}

#[test]
fn several_addresses_rotate() {
    let first = addrs(&local(&query("pair.", RecordType::A), Transport::Udp, 0));
    let second = addrs(&local(&query("pair.", RecordType::A), Transport::Udp, 1));
    assert_eq!(first.len(), 2);
    assert_eq!(first[0], second[1]);
    assert_eq!(first[1], second[0]);
}

#[test]
fn oversized_udp_replies_are_trimmed_and_marked_truncated() {
    let reply = local(&query("many.", RecordType::A), Transport::Udp, 0);
    assert!(reply.truncation);
    assert!(!reply.answers.is_empty() && reply.answers.len() < 100);
    assert!(reply.to_vec().unwrap().len() <= 512);

    let mut big = query("many.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    big.set_edns(edns);
    let reply = local(&big, Transport::Udp, 0);
    assert!(!reply.truncation);
    assert_eq!(reply.answers.len(), 100);

    let reply = local(&query("many.", RecordType::A), Transport::Tcp, 0);
    assert!(!reply.truncation);
    assert_eq!(reply.answers.len(), 100);
}

#[test]
fn ptr_of_ours_is_answered_and_others_forwarded() {
    let reply = local(
        &query("2.0.0.10.in-addr.arpa.", RecordType::PTR),
        Transport::Udp,
        0,
    );
    match &reply.answers[0].data {
        RData::PTR(ptr) => assert_eq!(ptr.0.to_ascii(), "web.net1."),
        other => panic!("not a PTR: {other:?}"),
    }
    for name in [
        "3.0.0.10.in-addr.arpa.",
        "0.0.10.in-addr.arpa.",
        "x.in-addr.arpa.",
    ] {
        let packet = query(name, RecordType::PTR).to_vec().unwrap();
        assert!(
            matches!(
                decide(&Fake, &packet, Transport::Udp, 0),
                Decision::Forward(_)
            ),
            "{name}"
        );
    }
}

#[test]
fn mx_of_a_known_name_is_empty_noerror() {
    let reply = local(&query("web.", RecordType::MX), Transport::Udp, 0);
    assert_eq!(reply.response_code, ResponseCode::NoError);
    assert!(reply.answers.is_empty());
}

#[test]
fn unknown_names_and_other_types_are_forwarded_with_a_servfail_ready() {
    for (name, qtype) in [("example.org.", RecordType::A), ("web.", RecordType::TXT)] {
        let packet = query(name, qtype).to_vec().unwrap();
        let Decision::Forward(fwd) = decide(&Fake, &packet, Transport::Udp, 0) else {
            panic!("{name} should be forwarded");
        };
        assert_eq!(fwd.query, packet);
        assert_eq!(fwd.id, 0x1234);
        let servfail = Message::from_vec(&fwd.servfail).unwrap();
        assert_eq!(servfail.response_code, ResponseCode::ServFail);
        assert_eq!(servfail.id, 0x1234);
        assert_eq!(servfail.queries.len(), 1);
    }
}

#[test]
fn responses_and_garbage_are_dropped_odd_queries_refused_politely() {
    let mut response = query("web.", RecordType::A);
    response.metadata.message_type = MessageType::Response;
    let packet = response.to_vec().unwrap();
    assert!(matches!(
        decide(&Fake, &packet, Transport::Udp, 0),
        Decision::Drop
    ));
    assert!(matches!(
        decide(&Fake, b"\x00\x01garbage", Transport::Udp, 0),
        Decision::Drop
    ));

    let empty = Message::new(7, MessageType::Query, OpCode::Query);
    let reply = local(&empty, Transport::Udp, 0);
    assert_eq!(reply.response_code, ResponseCode::FormErr);

    let mut notify = query("web.", RecordType::A);
    notify.metadata.op_code = OpCode::Notify;
    let reply = local(&notify, Transport::Udp, 0);
    assert_eq!(reply.response_code, ResponseCode::NotImp);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), tcp: bool, turn: usize) {
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let _ = decide(&Fake, &bytes, transport, turn);
    }

    #[test]
    fn mutated_queries_never_panic(
        name in "[a-zA-Z0-9.-]{1,40}",
        qtype in prop::sample::select(vec![RecordType::A, RecordType::AAAA, RecordType::PTR, RecordType::MX, RecordType::TXT]),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
    ) {
        let Ok(name) = Name::from_ascii(&name) else { return Ok(()); };
        let mut msg = Message::new(1, MessageType::Query, OpCode::Query);
        msg.add_query(Query::query(name, qtype));
        let Ok(mut packet) = msg.to_vec() else { return Ok(()); };
        for (at, byte) in flips {
            let len = packet.len();
            packet[at % len] ^= byte;
        }
        packet.truncate(cut % (packet.len() + 1));
        let _ = decide(&Fake, &packet, Transport::Udp, 0);
    }
}
