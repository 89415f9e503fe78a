//! A packet a container sends to the embedded resolver (127.0.0.11): any bytes must give a
//! reply, a forward or a drop, never a panic.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use muelle_net::dns::{answer_locally, Names};

/// Two names with both families, and a reverse name, so the answering paths are reached.
struct Fixed;

impl Names for Fixed {
    fn lookup(&self, name: &str) -> Vec<IpAddr> {
        match name {
            "web" | "db.net" => vec![[10, 0, 0, 2].into(), "fd00::2".parse().unwrap_or(IpAddr::from([0; 16]))],
            _ => Vec::new(),
        }
    }

    fn reverse(&self, ip: IpAddr) -> Option<String> {
        (ip == IpAddr::from([10, 0, 0, 2])).then(|| "web.net".to_string())
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = answer_locally(&Fixed, data);
});
