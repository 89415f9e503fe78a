//! Namespaces, bridges and veths for real, as root, each test inside network namespaces it
//! makes itself (one playing the host, others the containers) under a tempdir, so the real
//! host's links and routes are never touched and parallel tests never see each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use muelle_net::link::{self, BridgeConfig, Endpoint};
use muelle_net::{netns, NetError};

/// Namespace files under one tempdir; all removed (and the directory's own bind mount
/// undone) on drop, whether the test passed or not.
struct Lab {
    dir: tempfile::TempDir,
    made: Vec<PathBuf>,
    /// The tempdir is itself a shared bind mount, undone last.
    shared: bool,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            made: Vec::new(),
            shared: false,
        }
    }

    /// A lab whose directory is a shared mount, as /run is under systemd: a bind mount made
    /// below it propagates to its peers unless the namespace directory stops it.
    fn shared() -> Lab {
        let mut lab = Lab::new();
        let dir = lab.dir.path();
        rustix::mount::mount_bind(dir, dir).unwrap();
        lab.shared = true;
        rustix::mount::mount_change(dir, rustix::mount::MountPropagationFlags::SHARED).unwrap();
        lab
    }

    fn ns_dir(&self) -> PathBuf {
        self.dir.path().join("netns")
    }

    fn ns(&mut self, name: &str) -> PathBuf {
        let path = self.ns_dir().join(name);
        netns::create(&path).unwrap();
        self.made.push(path.clone());
        path
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for path in &self.made {
            let _ = netns::remove(path);
        }
        let _ = rustix::mount::unmount(self.ns_dir(), rustix::mount::UnmountFlags::DETACH);
        if self.shared {
            let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
        }
    }
}

/// Run `f` inside the namespace at `ns`.
fn inside<T: Send + 'static>(ns: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    netns::run_in(ns, f).unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn bridge(name: &str, addrs: &[&str], mtu: u32) -> BridgeConfig {
    BridgeConfig {
        name: name.into(),
        addrs: addrs.iter().map(|a| net(a)).collect(),
        mtu,
    }
}

fn endpoint(bridge: &str, host: &str, last: u8, mtu: u32) -> Endpoint {
    Endpoint {
        bridge: bridge.into(),
        host_ifname: host.into(),
        ifname: "eth0".into(),
        mac: [0x02, 0x42, 10, 20, 0, last],
        addrs: vec![
            net(&format!("10.20.0.{last}/24")),
            net(&format!("fd20::{last}/64")),
        ],
        gateway4: Some("10.20.0.1".parse().unwrap()),
        gateway6: Some("fd20::1".parse().unwrap()),
        mtu,
    }
}

#[test]
fn a_new_namespace_has_loopback_up_and_nothing_else() {
    let mut lab = Lab::new();
    let ns = lab.ns("c");
    let lo = inside(&ns, || link::link_state("lo")).unwrap().unwrap();
    assert!(lo.up);
    let names = inside(&ns, || link::links_with_prefix("")).unwrap();
    assert_eq!(names, vec!["lo".to_string()]);
    // The loopback answers inside, which needs it up.
    let listener = inside(&ns, || TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let connected = inside(&ns, move || TcpStream::connect(addr).is_ok());
    assert!(connected);
}

#[test]
fn the_namespace_directory_is_private_and_0700() {
    use std::os::unix::fs::PermissionsExt;
    let mut lab = Lab::new();
    lab.ns("a");
    lab.ns("b"); // the directory already prepared: idempotent
    let mode = std::fs::metadata(lab.ns_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let line = mount_line(&lab.ns_dir()).expect("the namespace directory is a mount point");
    assert!(!line.contains("shared:"), "{line}");
}

/// The mountinfo line of the mount at `path`, if it is a mount point.
fn mount_line(path: &Path) -> Option<String> {
    let shown = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(shown.as_str()))
        .map(str::to_string)
}

#[test]
fn namespaces_under_a_shared_mount_stay_private() {
    let mut lab = Lab::shared();
    assert!(mount_line(lab.dir.path()).unwrap().contains("shared:"));
    let a = lab.ns("a");
    let b = lab.ns("b");
    for path in [lab.ns_dir(), a.clone(), b.clone()] {
        let line = mount_line(&path).unwrap_or_else(|| panic!("{} not mounted", path.display()));
        assert!(!line.contains("shared:"), "{line}");
    }
    let there = inside(&a, || {
        std::fs::read_link("/proc/thread-self/ns/net").unwrap()
    });
    let other = inside(&b, || {
        std::fs::read_link("/proc/thread-self/ns/net").unwrap()
    });
    assert_ne!(there, other);
    netns::remove(&a).unwrap();
    assert!(mount_line(&a).is_none());
}

#[test]
fn creating_over_an_existing_file_is_a_conflict() {
    let mut lab = Lab::new();
    let ns = lab.ns("c");
    assert!(matches!(netns::create(&ns), Err(NetError::Conflict(_))));
}

#[test]
fn remove_unmounts_and_unlinks_and_is_idempotent() {
    let lab = Lab::new();
    let path = lab.ns_dir().join("gone");
    netns::create(&path).unwrap();
    assert!(mount_line(&path).is_some());
    netns::remove(&path).unwrap();
    assert!(!path.exists());
    assert!(mount_line(&path).is_none());
    netns::remove(&path).unwrap();
    assert!(netns::run_in(&path, || ()).is_err());
}

#[test]
fn run_in_leaves_the_caller_where_it_was() {
    let mut lab = Lab::new();
    let ns = lab.ns("c");
    let before = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let there = inside(&ns, || {
        std::fs::read_link("/proc/thread-self/ns/net").unwrap()
    });
    assert_ne!(before, there);
    assert_eq!(
        std::fs::read_link("/proc/thread-self/ns/net").unwrap(),
        before
    );
}

#[test]
fn bridge_is_created_with_its_addresses_and_mtu_and_up() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let cfg = bridge("br-t1", &["10.10.0.1/24", "fd10::1/64"], 1400);
    let made = cfg.clone();
    inside(&host, move || link::ensure_bridge(&made)).unwrap();
    let br = inside(&host, || link::link_state("br-t1"))
        .unwrap()
        .unwrap();
    assert!(br.up);
    assert_eq!(br.mtu, 1400);
    assert!(br.addrs.contains(&net("10.10.0.1/24")), "{:?}", br.addrs);
    assert!(br.addrs.contains(&net("fd10::1/64")), "{:?}", br.addrs);
    // The IPv6 address is usable at once (no DAD wait): something can bind to it.
    inside(&host, || std::net::UdpSocket::bind("[fd10::1]:0")).unwrap();

    // Again, with one more address and another MTU: brought in line, nothing doubled.
    let again = bridge(
        "br-t1",
        &["10.10.0.1/24", "fd10::1/64", "10.11.0.1/16"],
        1450,
    );
    inside(&host, move || link::ensure_bridge(&again)).unwrap();
    let br = inside(&host, || link::link_state("br-t1"))
        .unwrap()
        .unwrap();
    assert_eq!(br.mtu, 1450);
    let v4: Vec<_> = br.addrs.iter().filter(|a| a.addr().is_ipv4()).collect();
    assert_eq!(v4.len(), 2, "{:?}", br.addrs);
    assert!(inside(&host, || link::link_exists("br-t1")));
    assert_eq!(
        inside(&host, || link::links_with_prefix("br-")).unwrap(),
        vec!["br-t1".to_string()]
    );
    inside(&host, || link::delete_link("br-t1")).unwrap();
    assert!(!inside(&host, || link::link_exists("br-t1")));
    inside(&host, || link::delete_link("br-t1")).unwrap();
}

#[test]
fn a_link_that_is_not_a_bridge_is_a_conflict() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let ctr = lab.ns("ctr");
    inside(&host, || {
        link::ensure_bridge(&bridge("br0", &["10.20.0.1/24"], 0))
    })
    .unwrap();
    let ep = endpoint("br0", "vethconf", 2, 0);
    let c = ctr.clone();
    inside(&host, move || link::attach(&c, &ep)).unwrap();
    let err = inside(&host, || link::ensure_bridge(&bridge("vethconf", &[], 0)));
    assert!(
        matches!(err, Err(NetError::Conflict(ref m)) if m.contains("vethconf")),
        "{err:?}"
    );
}

#[test]
fn two_endpoints_on_one_bridge_talk_over_tcp_v4_and_v6() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let c1 = lab.ns("c1");
    let c2 = lab.ns("c2");
    inside(&host, || {
        link::ensure_bridge(&bridge("br0", &["10.20.0.1/24", "fd20::1/64"], 0))
    })
    .unwrap();
    for (ns, ep) in [
        (c1.clone(), endpoint("br0", "vetha000001", 2, 0)),
        (c2.clone(), endpoint("br0", "vetha000002", 3, 0)),
    ] {
        inside(&host, move || link::attach(&ns, &ep)).unwrap();
    }
    let port = inside(&host, || link::link_state("vetha000001"))
        .unwrap()
        .unwrap();
    assert!(port.up);
    assert_eq!(port.controller.as_deref(), Some("br0"));
    let eth0 = inside(&c1, || link::link_state("eth0")).unwrap().unwrap();
    assert!(eth0.up);
    assert_eq!(eth0.mac, Some([0x02, 0x42, 10, 20, 0, 2]));
    assert!(eth0.addrs.contains(&net("10.20.0.2/24")));
    assert!(eth0.addrs.contains(&net("fd20::2/64")));
    // Only lo and eth0 inside: the temporary name is gone.
    assert_eq!(
        inside(&c1, || link::links_with_prefix("")).unwrap(),
        vec!["eth0".to_string(), "lo".to_string()]
    );

    for server in ["10.20.0.2", "fd20::2"] {
        let ip: IpAddr = server.parse().unwrap();
        echo_across(&c1, &c2, SocketAddr::new(ip, 0));
    }
    // And to the gateway on the bridge, over the default route's device.
    echo_across(&host, &c2, "10.20.0.1:0".parse().unwrap());
}

/// A listener bound in `server_ns` at `bind` echoes one line to a client connecting from
/// `client_ns`.
fn echo_across(server_ns: &Path, client_ns: &Path, bind: SocketAddr) {
    let listener = inside(server_ns, move || TcpListener::bind(bind)).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    });
    let got = inside(client_ns, move || {
        let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.write_all(b"hello")?;
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf)?;
        std::io::Result::Ok(buf)
    });
    assert_eq!(&got.unwrap(), b"hello", "to {addr}");
    server.join().unwrap();
}

#[test]
fn mtu_is_applied_on_both_ends_and_detach_removes_the_pair() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let ctr = lab.ns("ctr");
    inside(&host, || {
        link::ensure_bridge(&bridge("br0", &["10.20.0.1/24"], 1400))
    })
    .unwrap();
    let mut ep = endpoint("br0", "vethmtu0001", 2, 1400);
    ep.addrs.truncate(1);
    ep.gateway6 = None;
    ep.ifname = "eth1".into();
    let c = ctr.clone();
    inside(&host, move || link::attach(&c, &ep)).unwrap();
    let outer = inside(&host, || link::link_state("vethmtu0001"))
        .unwrap()
        .unwrap();
    let inner = inside(&ctr, || link::link_state("eth1")).unwrap().unwrap();
    assert_eq!((outer.mtu, inner.mtu), (1400, 1400));

    inside(&host, || link::detach("vethmtu0001")).unwrap();
    assert!(!inside(&host, || link::link_exists("vethmtu0001")));
    assert!(!inside(&ctr, || link::link_exists("eth1")));
    inside(&host, || link::detach("vethmtu0001")).unwrap();
}

#[test]
fn a_failed_attach_leaves_no_veth() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let ctr = lab.ns("ctr");
    // No bridge: refused before anything is made.
    let ep = endpoint("br-absent", "vethfail001", 2, 0);
    let c = ctr.clone();
    let err = inside(&host, move || link::attach(&c, &ep)).unwrap_err();
    assert!(err.to_string().contains("br-absent"), "{err}");
    assert_eq!(leftovers(&host, &ctr), (vec![], vec!["lo".to_string()]));

    // Not a namespace file: the pair is made, moving its end fails, the pair goes.
    inside(&host, || {
        link::ensure_bridge(&bridge("br0", &["10.20.0.1/24"], 0))
    })
    .unwrap();
    let not_ns = lab.dir.path().join("plain-file");
    std::fs::write(&not_ns, b"").unwrap();
    let ep = endpoint("br0", "vethfail002", 2, 0);
    let err = inside(&host, move || link::attach(&not_ns, &ep)).unwrap_err();
    assert!(err.to_string().contains("vethfail002"), "{err}");
    assert_eq!(leftovers(&host, &ctr), (vec![], vec!["lo".to_string()]));

    // Fails inside (a gateway off every subnet of the endpoint): the pair goes too.
    let mut ep = endpoint("br0", "vethfail003", 2, 0);
    ep.gateway4 = Some("192.0.2.1".parse().unwrap());
    let c = ctr.clone();
    let err = inside(&host, move || link::attach(&c, &ep)).unwrap_err();
    assert!(err.to_string().contains("192.0.2.1"), "{err}");
    assert_eq!(leftovers(&host, &ctr), (vec![], vec!["lo".to_string()]));

    // A host name already taken is refused, and the link holding it is left alone.
    let ep = endpoint("br0", "br0", 2, 0);
    let c = ctr.clone();
    assert!(inside(&host, move || link::attach(&c, &ep)).is_err());
    assert!(inside(&host, || link::link_exists("br0")));
}

/// Links left in the host namespace (other than lo and br0) and in the container.
fn leftovers(host: &Path, ctr: &Path) -> (Vec<String>, Vec<String>) {
    let mut on_host = inside(host, || link::links_with_prefix("")).unwrap();
    on_host.retain(|n| n != "lo" && n != "br0");
    (
        on_host,
        inside(ctr, || link::links_with_prefix("")).unwrap(),
    )
}

#[test]
fn host_routes_and_mtu_follow_the_main_table() {
    let mut lab = Lab::new();
    let host = lab.ns("host");
    let ctr = lab.ns("ctr");
    // Nothing routed yet: no default route, the default MTU.
    assert_eq!(inside(&ctr, link::host_mtu), 1500);
    assert_eq!(inside(&ctr, link::host_routes).unwrap(), vec![]);

    inside(&host, || {
        link::ensure_bridge(&bridge("br0", &["10.20.0.1/24", "fd20::1/64"], 1300))
    })
    .unwrap();
    let c = ctr.clone();
    inside(&host, move || {
        link::attach(&c, &endpoint("br0", "vethroute01", 2, 1300))
    })
    .unwrap();
    // In the container, the default route leaves by eth0 (MTU 1300).
    assert_eq!(inside(&ctr, link::host_mtu), 1300);
    let routes = inside(&ctr, link::host_routes).unwrap();
    assert!(routes.contains(&net("10.20.0.0/24")), "{routes:?}");
    assert!(routes.contains(&net("fd20::/64")), "{routes:?}");
    assert!(routes.iter().all(|r| r.prefix_len() > 0), "{routes:?}");
    // The host side has the bridge's prefixes but no default route.
    let routes = inside(&host, link::host_routes).unwrap();
    assert!(routes.contains(&net("10.20.0.0/24")), "{routes:?}");
    assert_eq!(inside(&host, link::host_mtu), 1500);
}

#[test]
fn callable_from_inside_an_async_runtime() {
    let mut lab = Lab::new();
    let ns = lab.ns("c");
    // The engine may call from a runtime's thread: the netlink work runs on its own thread,
    // so tokio's "runtime within a runtime" check is never met.
    let found = inside(&ns, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { link::link_exists("lo") })
    });
    assert!(found);
}
