//! Network namespaces for the test daemons. Every private muelled runs in a namespace of
//! its own, so the bridges (`muelle0`, one per user network), nft tables and published ports
//! of tests running at once never meet, and none of them lands on the host. The namespace is
//! a named one (`ip netns add`, a file under /run/netns), not an `unshare --net` of the
//! daemon's process: a restart (`kill9` then `respawn`) must come back in the namespace its
//! containers' veths and rules are in, as a real daemon restart does on one host.
//!
//! From the test, "the host" of such a daemon is that namespace: [`NamedNetns::command`]
//! runs a program inside it (`nsenter --net=...`, which execs, so the program's pid is the
//! one the test sees), and [`HostPortBridge`] makes a port of the real host's loopback (a
//! docker-registry the test started) reachable at the same address inside it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PREFIX: &str = "muelle-t-";
/// The namespace's uplink to nowhere (TEST-NET-1, 192.0.2.2/24, default route via
/// 192.0.2.1; its veth peer `uplink1` stays in the namespace without an address).
pub const UPLINK: &str = "uplink0";

/// `/run/netns/muelle-t-<pid>-<n>`, with `lo` up and a default route to nowhere, deleted on drop.
pub struct NamedNetns {
    pub name: String,
    pub path: PathBuf,
}

impl NamedNetns {
    /// A fresh namespace. The namespaces of test processes that died without their drop
    /// (killed by a timeout) are removed first.
    pub fn create() -> NamedNetns {
        static N: AtomicU32 = AtomicU32::new(0);
        sweep_dead();
        let name = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = NamedNetns {
            path: Path::new("/run/netns").join(&name),
            name,
        };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        // An uplink that goes nowhere: a host has a default route (muelled derives
        // `host-gateway` and the MTU from it, and avoids its routes in IPAM), and whatever
        // a container sends "out" must never leave the machine: the uplink is one end of a
        // veth pair whose other end, in the same namespace, has no address, so nothing
        // answers for the gateway and every packet "out" is dropped there.
        ip(&[
            "-n", &ns.name, "link", "add", UPLINK, "type", "veth", "peer", "name", "uplink1",
        ]);
        ip(&["-n", &ns.name, "link", "set", "uplink1", "up"]);
        ip(&["-n", &ns.name, "addr", "add", "192.0.2.2/24", "dev", UPLINK]);
        ip(&["-n", &ns.name, "link", "set", UPLINK, "up"]);
        ip(&[
            "-n",
            &ns.name,
            "route",
            "add",
            "default",
            "via",
            "192.0.2.1",
        ]);
        ns
    }

    /// `nsenter --net=<this> -- program`: the program runs inside, everything else (mounts,
    /// pids, filesystem) is the host's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        in_netns(&self.path, program)
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// `nsenter --net=<netns> -- program` for any namespace file (`/proc/PID/ns/net` too).
pub fn in_netns(netns: &Path, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", netns.display()))
        .arg("--")
        .arg(program);
    c
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes `muelle-t-<pid>-*` namespaces whose test process is gone.
fn sweep_dead() {
    for e in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

/// Names of the links in a namespace (`ip -o link`), e.g. to count veths before and after.
pub fn links(netns: &Path) -> Vec<String> {
    let out = in_netns(netns, "ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("run ip in the namespace");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// The nft tables in a namespace, as `family name` lines.
pub fn nft_tables(netns: &Path) -> Vec<String> {
    let out = in_netns(netns, "nft")
        .args(["list", "tables"])
        .output()
        .expect("run nft in the namespace");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .map(str::to_string)
        .collect()
}

/// A listener on 127.0.0.1:`port` inside a namespace whose connections are carried to
/// 127.0.0.1:`port` of the test's own (host) namespace; stops accepting on drop.
pub struct HostPortBridge {
    stop: Arc<AtomicBool>,
}

impl HostPortBridge {
    pub fn new(netns: &Path, port: u16) -> HostPortBridge {
        // A socket belongs to the namespace of the thread that made it: make the listener
        // on a thread that entered the namespace, and serve it from one that did not.
        let listener = bind_in(Some(netns), port)
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port} in {}: {e}", netns.display()));
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((inside, _)) => {
                        if let Ok(outside) = TcpStream::connect(("127.0.0.1", port)) {
                            let _ = inside.set_nonblocking(false);
                            splice(inside, outside);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        HostPortBridge { stop }
    }
}

impl Drop for HostPortBridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies both ways between two connections until each side ends.
fn splice(a: TcpStream, b: TcpStream) {
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    if let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) {
        pump(a, b2);
        pump(b, a2);
    }
}

/// Runs `f` on a thread that entered the namespace at `netns` (`None`: the test's own), so
/// the sockets it makes belong there; returns f's value.
pub fn run_in<T: Send + 'static>(
    netns: Option<&Path>,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let ns = netns.map(|p| std::fs::File::open(p).expect("open the namespace"));
    std::thread::spawn(move || {
        if let Some(ns) = ns {
            rustix::thread::move_into_link_name_space(
                ns.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns into the namespace");
        }
        f()
    })
    .join()
    .expect("the namespace thread")
}

/// A listener on 127.0.0.1:`port` in `netns` (a port "another process" holds).
pub fn bind_in(netns: Option<&Path>, port: u16) -> std::io::Result<TcpListener> {
    run_in(netns, move || TcpListener::bind(("127.0.0.1", port)))
}

/// One `GET path` (HTTP/1.0) to 127.0.0.1:`port` in `netns`; the body, or None when the
/// connection fails or gives nothing within 3 s.
pub fn http_get(netns: Option<&Path>, port: u16, path: &str) -> Option<String> {
    let path = path.to_owned();
    run_in(netns, move || {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
    })
}

/// `nft list ruleset` in a namespace.
pub fn nft_ruleset(netns: &Path) -> String {
    let out = in_netns(netns, "nft")
        .args(["list", "ruleset"])
        .output()
        .expect("run nft in the namespace");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
