//! Test-only network namespaces: made with the `ip` tool (tests may use it; the product does
//! not), named per process so parallel tests never meet, deleted on drop even when the test
//! fails, and a way to run code on a thread inside one. Nothing here touches the host's own
//! links, routes or nft tables.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// A named network namespace (`ip netns add`), with `lo` up; deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("muelle-fwtest-{}-{tag}", std::process::id());
        // A leftover of an earlier run with the same pid would make `add` fail.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n <ns> args...`, panicking with ip's message on failure.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// `sh -c cmd` inside the namespace; stdout (panics when the command fails).
    pub fn sh(&self, cmd: &str) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", cmd])
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"));
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run `f` on a new thread that entered this namespace; its value.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        let inner = path.clone();
        std::thread::spawn(move || {
            enter(&inner);
            f()
        })
        .join()
        .unwrap_or_else(|_| panic!("thread in {path} panicked"))
    }

    /// A TCP server inside the namespace answering each connection with the peer's address
    /// (so a test sees whether it was masqueraded). Returns once it listens.
    pub fn serve(&self, addr: &str) {
        let path = format!("/run/netns/{}", self.name);
        let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            enter(&path);
            let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
            let _ = tx.send(());
            for mut conn in listener.incoming().flatten() {
                if let Ok(peer) = conn.peer_addr() {
                    let _ = writeln!(conn, "{}", peer.ip());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("server at {addr}: {e}"));
    }

    /// Connect from inside the namespace to `addr` and return what the server wrote (the
    /// address it saw us as), or None when no connection was made within a second.
    pub fn fetch(&self, addr: &str) -> Option<String> {
        let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"));
        self.run(move || {
            let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
            conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            let mut text = String::new();
            conn.read_to_string(&mut text).ok()?;
            Some(text.trim().to_string())
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn enter(path: &str) {
    let file = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))
        .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip: {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
