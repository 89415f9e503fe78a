//! What to do with one query packet: answer it from the container's names, forward it, or
//! drop it. Pure (no I/O), so arbitrary bytes can be thrown at it in tests.
//!
//! Behaviour follows Docker's embedded resolver: A/AAAA of a known name are answered with the
//! addresses of the asked family (none of that family: NOERROR with no records, never
//! forwarded, so a container name is not looked up outside); MX of a known name is an empty
//! NOERROR (RFC 5321 "implicit MX"); PTR of one of our addresses is answered; everything
//! else goes upstream.

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::Names;

/// Docker's TTL for the records it answers itself.
const TTL: u32 = 600;
/// The largest reply over UDP when the client did not announce a larger one (RFC 1035).
const MIN_UDP_SIZE: usize = 512;
/// The largest reply over TCP (the length prefix is 16 bits).
const MAX_TCP_SIZE: usize = u16::MAX as usize;

/// The transport a query came in on: it decides the reply size limit and the upstream
/// transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// The outcome for one packet.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Not a query we can make sense of: no reply at all.
    Drop,
    /// The reply to send back.
    Reply(Vec<u8>),
    /// Not ours: ask the upstream resolvers.
    Forward(Forward),
}

/// A query to forward, with what to send when no upstream answers.
#[derive(Debug)]
pub(crate) struct Forward {
    /// The packet as the client sent it (its id is replaced on the way out).
    pub query: Vec<u8>,
    /// The client's id, put back into the upstream's reply.
    pub id: u16,
    /// SERVFAIL for the client's question.
    pub servfail: Vec<u8>,
}

/// Decide what to do with `packet`. `turn` rotates the order of several addresses, so
/// successive queries start with a different one (round-robin).
pub(crate) fn decide(
    names: &dyn Names,
    packet: &[u8],
    transport: Transport,
    turn: usize,
) -> Decision {
    let Ok(query) = Message::from_vec(packet) else {
        return Decision::Drop;
    };
    // A response sent to us is either a loop or an attack; answering it would feed either.
    if query.message_type != MessageType::Query {
        return Decision::Drop;
    }
    if query.op_code != OpCode::Query {
        return reply_or_drop(&error_reply(&query, ResponseCode::NotImp));
    }
    // One question per query is what every resolver sends; more or none is malformed.
    let [question] = query.queries.as_slice() else {
        return reply_or_drop(&error_reply(&query, ResponseCode::FormErr));
    };
    let name = lookup_key(question.name());
    let local = match question.query_type() {
        RecordType::A | RecordType::AAAA => {
            address_answer(names, &query, &name, question.query_type(), turn)
        }
        RecordType::MX => (!names.lookup(&name).is_empty()).then(|| reply_to(&query)),
        RecordType::PTR => ptr_answer(names, &query, question.name()),
        _ => None,
    };
    match local {
        Some(reply) => reply_or_drop(&fit(reply, &query, transport)),
        None => match error_reply(&query, ResponseCode::ServFail).to_vec() {
            Ok(servfail) => Decision::Forward(Forward {
                query: packet.to_vec(),
                id: query.id,
                servfail,
            }),
            Err(_) => Decision::Drop,
        },
    }
}

/// The name as the `Names` lookup wants it: lower-case, without the trailing dot.
fn lookup_key(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    match text.strip_suffix('.') {
        Some(stripped) => stripped.to_string(),
        None => text,
    }
}

/// A/AAAA for a known name; `None` when the name is not ours (then it goes upstream).
fn address_answer(
    names: &dyn Names,
    query: &Message,
    name: &str,
    qtype: RecordType,
    turn: usize,
) -> Option<Message> {
    let all = names.lookup(name);
    if all.is_empty() {
        return None;
    }
    let mut wanted: Vec<RData> = all
        .into_iter()
        .filter_map(|ip| match (ip, qtype) {
            (IpAddr::V4(v4), RecordType::A) => Some(RData::A(A(v4))),
            (IpAddr::V6(v6), RecordType::AAAA) => Some(RData::AAAA(AAAA(v6))),
            _ => None,
        })
        .collect();
    if !wanted.is_empty() {
        let len = wanted.len();
        wanted.rotate_left(turn % len);
    }
    let owner = query.queries.first()?.name().clone();
    let mut reply = reply_to(query);
    for data in wanted {
        reply.add_answer(Record::from_rdata(owner.clone(), TTL, data));
    }
    Some(reply)
}

/// PTR for one of our addresses; `None` for anything else (a partial or malformed arpa name,
/// an address not ours), which goes upstream as Docker does.
fn ptr_answer(names: &dyn Names, query: &Message, qname: &Name) -> Option<Message> {
    let net = qname.parse_arpa_name().ok()?;
    if net.prefix_len() != net.max_prefix_len() {
        return None;
    }
    let host = names.reverse(net.addr())?;
    let mut target = Name::from_utf8(host.trim_end_matches('.')).ok()?;
    target.set_fqdn(true);
    let mut reply = reply_to(query);
    reply.add_answer(Record::from_rdata(
        qname.clone(),
        TTL,
        RData::PTR(PTR(target)),
    ));
    Some(reply)
}

/// An empty NOERROR reply to `query`: its id, question and RD flag, recursion available.
fn reply_to(query: &Message) -> Message {
    let mut reply = Message::response(query.id, query.op_code);
    reply.metadata.recursion_desired = query.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_queries(query.queries.iter().cloned());
    reply
}

/// `reply_to` with an error code.
fn error_reply(query: &Message, code: ResponseCode) -> Message {
    let mut reply = reply_to(query);
    reply.metadata.response_code = code;
    reply
}

/// Trim answers until the reply fits the client's limit: 512 bytes over UDP unless the
/// query's EDNS allows more, 64 KiB over TCP. Over UDP a trimmed reply says so (TC) so the
/// client can retry over TCP, as Docker does.
fn fit(mut reply: Message, query: &Message, transport: Transport) -> Message {
    let limit = match transport {
        Transport::Tcp => MAX_TCP_SIZE,
        Transport::Udp => usize::from(query.max_payload()).max(MIN_UDP_SIZE),
    };
    let fits = |reply: &Message| reply.to_vec().is_ok_and(|bytes| bytes.len() <= limit);
    if fits(&reply) {
        return reply;
    }
    // The most answers that fit, by bisection: a long list is not re-encoded once per record.
    let all = std::mem::take(&mut reply.answers);
    let (mut keep, mut too_many) = (0, all.len());
    while too_many - keep > 1 {
        let mid = keep + (too_many - keep) / 2;
        reply.answers = all[..mid].to_vec();
        if fits(&reply) {
            keep = mid;
        } else {
            too_many = mid;
        }
    }
    reply.answers = all[..keep].to_vec();
    if transport == Transport::Udp {
        reply.metadata.truncation = true;
    }
    reply
}

fn reply_or_drop(reply: &Message) -> Decision {
    match reply.to_vec() {
        Ok(bytes) => Decision::Reply(bytes),
        Err(_) => Decision::Drop,
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
