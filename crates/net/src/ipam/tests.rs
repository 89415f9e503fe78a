//! Unit tests and properties of the IPAM arithmetic.

use super::*;
use proptest::prelude::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn default_pools_are_dockers() {
    let p = default_pools();
    assert_eq!(p.len(), 16);
    assert_eq!(p[0].base, net("172.17.0.0/16"));
    assert_eq!(p[14].base, net("172.31.0.0/16"));
    assert_eq!(
        p[15],
        Pool {
            base: net("192.168.0.0/16"),
            size: 20
        }
    );
}

#[test]
fn choose_skips_taken_and_host_routes() {
    let pools = default_pools();
    assert_eq!(choose_subnet(&pools, &[]), Some(net("172.17.0.0/16")));
    // docker0 holds 172.17.0.0/16; a host route inside 172.18 blocks that one too.
    let taken = [net("172.17.0.0/16"), net("172.18.5.0/24")];
    assert_eq!(choose_subnet(&pools, &taken), Some(net("172.19.0.0/16")));
    let all: Vec<IpNet> = (17..=31).map(|b| net(&format!("172.{b}.0.0/16"))).collect();
    assert_eq!(choose_subnet(&pools, &all), Some(net("192.168.0.0/20")));
    let mut more = all.clone();
    more.push(net("192.168.0.0/24"));
    assert_eq!(choose_subnet(&pools, &more), Some(net("192.168.16.0/20")));
    // A default route covers everything.
    assert_eq!(choose_subnet(&pools, &[net("0.0.0.0/0")]), None);
}

#[test]
fn choose_jumps_over_large_pools() {
    let pools = [Pool {
        base: net("fd00::/8"),
        size: 64,
    }];
    let taken = [net("fd00::/16")];
    assert_eq!(choose_subnet(&pools, &taken), Some(net("fd01::/64")));
    let whole = [Pool {
        base: net("::/0"),
        size: 0,
    }];
    assert_eq!(choose_subnet(&whole, &[]), Some(net("::/0")));
    assert_eq!(choose_subnet(&whole, &[net("fd00::/64")]), None);
    let bad = [Pool {
        base: net("10.0.0.0/16"),
        size: 8,
    }];
    assert_eq!(choose_subnet(&bad, &[]), None);
}

#[test]
fn overlap_is_symmetric_and_per_family() {
    assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.2.0/24")));
    assert!(overlaps(&net("10.1.2.0/24"), &net("10.0.0.0/8")));
    assert!(!overlaps(&net("10.0.0.0/24"), &net("10.0.1.0/24")));
    assert!(!overlaps(&net("10.0.0.0/8"), &net("::/0")));
}

#[test]
fn ula_is_stable_and_unique_local() {
    let a = ula_subnet("abc");
    assert_eq!(a, ula_subnet("abc"));
    assert_ne!(a, ula_subnet("abd"));
    assert_eq!(a.prefix_len(), 64);
    let IpAddr::V6(v6) = a.addr() else {
        panic!("not v6")
    };
    assert_eq!(v6.octets()[0], 0xfd);
    assert_eq!(&v6.octets()[6..], &[0u8; 10]);
}

#[test]
fn mac_is_0242_and_the_address() {
    assert_eq!(
        mac_for(Ipv4Addr::new(172, 17, 0, 2)),
        [0x02, 0x42, 172, 17, 0, 2]
    );
}

#[test]
fn allocator_hands_out_lowest_free_and_refuses_what_it_must() {
    let mut a =
        Allocator::new(net("10.9.0.0/29"), None, ip("10.9.0.1"), &[ip("10.9.0.3")]).unwrap();
    assert_eq!(a.allocate(None).unwrap(), ip("10.9.0.2"));
    assert_eq!(a.allocate(None).unwrap(), ip("10.9.0.4"));
    assert!(matches!(
        a.allocate(Some(ip("10.9.0.4"))),
        Err(NetError::Conflict(_))
    ));
    assert!(matches!(
        a.allocate(Some(ip("10.9.0.1"))),
        Err(NetError::Conflict(_))
    ));
    assert!(matches!(
        a.allocate(Some(ip("10.9.0.3"))),
        Err(NetError::Conflict(_))
    ));
    assert!(matches!(
        a.allocate(Some(ip("10.9.0.7"))),
        Err(NetError::Invalid(_))
    ));
    assert!(matches!(
        a.allocate(Some(ip("10.9.1.2"))),
        Err(NetError::Invalid(_))
    ));
    assert!(matches!(
        a.allocate(Some(ip("fd00::2"))),
        Err(NetError::Invalid(_))
    ));
    assert_eq!(a.allocate(Some(ip("10.9.0.6"))).unwrap(), ip("10.9.0.6"));
    assert_eq!(a.allocate(None).unwrap(), ip("10.9.0.5"));
    let e = a.allocate(None).unwrap_err();
    assert_eq!(e.to_string(), "no available addresses on this network");
    a.release(ip("10.9.0.4"));
    assert_eq!(a.allocate(None).unwrap(), ip("10.9.0.4"));
}

#[test]
fn allocator_range_and_validation() {
    let s = net("192.168.40.0/24");
    assert!(Allocator::new(s, None, ip("192.168.41.1"), &[]).is_err());
    assert!(Allocator::new(s, Some(net("192.168.0.0/16")), ip("192.168.40.1"), &[]).is_err());
    assert!(Allocator::new(s, None, ip("192.168.40.1"), &[ip("10.0.0.1")]).is_err());
    let mut a = Allocator::new(s, Some(net("192.168.40.128/30")), ip("192.168.40.1"), &[]).unwrap();
    let got: Vec<IpAddr> = (0..4).map(|_| a.allocate(None).unwrap()).collect();
    assert_eq!(
        got,
        [
            "192.168.40.128",
            "192.168.40.129",
            "192.168.40.130",
            "192.168.40.131"
        ]
        .map(ip)
    );
    assert!(a.allocate(None).is_err());
    // A static address outside the range but inside the subnet is fine, as in Docker.
    assert_eq!(
        a.allocate(Some(ip("192.168.40.9"))).unwrap(),
        ip("192.168.40.9")
    );
    a.mark(ip("192.168.40.130"));
    a.release(ip("192.168.40.129"));
    assert_eq!(a.allocate(None).unwrap(), ip("192.168.40.129"));
}

#[test]
fn allocator_ipv6_starts_after_the_gateway() {
    let mut a = Allocator::new(
        net("fd12:3456:789a::/64"),
        None,
        ip("fd12:3456:789a::1"),
        &[],
    )
    .unwrap();
    assert_eq!(a.allocate(None).unwrap(), ip("fd12:3456:789a::2"));
    assert!(a.allocate(Some(ip("fd12:3456:789a::"))).is_err());
    assert_eq!(
        a.allocate(Some(ip("fd12:3456:789a:0:ffff:ffff:ffff:ffff")))
            .unwrap(),
        ip("fd12:3456:789a:0:ffff:ffff:ffff:ffff")
    );
}

fn arb_v4_subnet() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 24u8..=30).prop_map(|(a, p)| {
        IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), p)
            .unwrap()
            .trunc()
    })
}

fn arb_v6_subnet() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 120u8..=126).prop_map(|(a, p)| {
        IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), p)
            .unwrap()
            .trunc()
    })
}

/// Allocates everything, checking each answer; returns what was handed out.
fn drain(subnet: IpNet, range: Option<IpNet>, gw_off: u128, reserved_offs: &[u128]) -> Vec<IpAddr> {
    let v4 = subnet.addr().is_ipv4();
    let (lo, hi) = bounds(&subnet);
    let size = hi - lo + 1;
    let gw = from_u128(lo + gw_off % size, v4);
    let reserved: Vec<IpAddr> = reserved_offs
        .iter()
        .map(|o| from_u128(lo + o % size, v4))
        .collect();
    let mut a = Allocator::new(subnet, range, gw, &reserved).unwrap();
    let mut seen = BTreeSet::new();
    while let Ok(got) = a.allocate(None) {
        assert!(subnet.contains(&got));
        assert_ne!(got, gw);
        assert!(!reserved.contains(&got));
        assert_ne!(got, subnet.network());
        if v4 {
            assert_ne!(got, subnet.broadcast());
        }
        if let Some(r) = range {
            assert!(r.contains(&got), "{got} outside {r}");
        }
        assert!(seen.insert(got), "{got} handed out twice");
        assert!(seen.len() as u128 <= size);
    }
    // Each released address is the next one handed out again.
    for got in seen.iter().take(3) {
        a.release(*got);
        assert_eq!(a.allocate(None).unwrap(), *got);
    }
    seen.into_iter().collect()
}

proptest! {
    #[test]
    fn allocate_never_breaks_the_rules_v4(s in arb_v4_subnet(), gw in any::<u128>(), res in proptest::collection::vec(any::<u128>(), 0..5), rp in 0u8..=8) {
        let range = if rp == 0 { None } else {
            let p = (s.prefix_len() + rp).min(32);
            Some(IpNet::new(s.network(), p).unwrap())
        };
        drain(s, range, gw, &res);
    }

    #[test]
    fn allocate_never_breaks_the_rules_v6(s in arb_v6_subnet(), gw in any::<u128>(), res in proptest::collection::vec(any::<u128>(), 0..5)) {
        drain(s, None, gw, &res);
    }

    #[test]
    fn chosen_subnet_overlaps_nothing_taken(taken in proptest::collection::vec((any::<u32>(), 8u8..=28), 0..30)) {
        let taken: Vec<IpNet> = taken.into_iter()
            .map(|(a, p)| IpNet::new(IpAddr::V4(Ipv4Addr::from(a)), p).unwrap().trunc())
            .collect();
        let pools = [Pool { base: net("10.0.0.0/8"), size: 24 }, Pool { base: net("172.16.0.0/12"), size: 20 }];
        if let Some(c) = choose_subnet(&pools, &taken) {
            for t in &taken {
                prop_assert!(!overlaps(&c, t), "{} overlaps {}", c, t);
            }
            prop_assert!(pools.iter().any(|p| p.base.contains(&c.network()) && c.prefix_len() == p.size));
        } else {
            // Nothing left: every /24 of 10/8 is blocked; check a sample.
            for b in [0u32, 77, 65535] {
                let c = IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000u32 + (b << 8))), 24).unwrap();
                prop_assert!(taken.iter().any(|t| overlaps(t, &c)));
            }
        }
    }
}
