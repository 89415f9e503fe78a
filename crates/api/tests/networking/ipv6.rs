//! IPv6 on a user-defined network, muelled's alone (dockerd 20.10 here has no IPv6 pool and
//! no ip6tables set up to compare with): `--ipv6` without a subnet gets a ULA /64, each
//! container an address in it and the gateway as its IPv6 default route, the embedded
//! resolver answers AAAA by name, and TCP flows between two containers over IPv6.

use crate::side::Side;

#[test]
fn ipv6_network_addresses_names_and_traffic_needs_docker() {
    let s = Side::muelled();
    let n = s.network(&["--ipv6"]);
    let cfg = s.ok(&[
        "network",
        "inspect",
        "-f",
        "{{json .IPAM.Config}} {{.EnableIPv6}}",
        &n,
    ]);
    assert!(cfg.contains("\"Subnet\":\"fd"), "a ULA subnet: {cfg}");
    assert!(cfg.trim_end().ends_with("true"), "{cfg}");
    let web = s.web(&["--network", &n]);
    let addr = s.ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}",
        &web,
    ]);
    let mut parts = addr.split_whitespace();
    let (ip6, gw6) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    assert!(ip6.starts_with("fd") && gw6.starts_with("fd"), "{addr:?}");
    // The name resolves to that address (AAAA from 127.0.0.11), and the web server answers
    // on it; the client's own default route for IPv6 is the gateway.
    let script = format!(
        "nslookup -type=AAAA {web} 127.0.0.11 | grep -c '{ip6}'; \
         ip -6 route show default | grep -c 'via {gw6}'; \
         i=0; while [ $i -lt 20 ]; do r=$(printf 'GET /f HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip6} 80 | tail -n1); \
         [ -n \"$r\" ] && {{ echo \"$r\"; break; }}; i=$((i+1)); sleep 0.3; done"
    );
    let r = s.run(&["--network", &n], &script);
    assert_eq!(r.code, 0, "{r:?}\n{}", s.log());
    assert_eq!(r.out, "1\n1\nhello\n", "{}", s.log());
}
