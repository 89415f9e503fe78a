//! Who reaches whom: containers on one user-defined network by name (and not from another
//! network, until `network connect`), published ports from the daemon's host, from a
//! `--network host` container and through a gateway-bound port from other containers, and
//! `--internal` networks with no way out. Each returns what it saw, masked, for the
//! comparison with dockerd; what must hold on any daemon is asserted on the spot.

use muelle_test_support::registry::next_port;

use crate::side::{mask, Side, GET};

/// Two containers on a user network reach each other by name and alias; a container on
/// another network reaches neither the name nor the address; `network connect` makes it
/// reach without a restart, `network disconnect` takes it away again.
pub fn by_name_isolation_and_connect(s: &Side) -> String {
    let w = s.what();
    let n1 = s.network(&[]);
    let n2 = s.network(&[]);
    let web = s.web(&["--network", &n1, "--network-alias", "web"]);
    let cl = s.run_d("cl", &["--network", &n1], "exec sleep 600");
    let mut seen = Vec::new();

    let by_name = s.ok(&[
        "exec",
        &cl,
        "sh",
        "-c",
        &format!("{GET} get {web} 80 40; get web 80 5"),
    ]);
    assert_eq!(
        by_name,
        "hello\nhello\n",
        "{w}: by name and alias\n{}",
        s.log()
    );
    seen.push(format!("by name and alias: {}", by_name.replace('\n', " ")));
    let back = s.docker(&["exec", &web, "ping", "-c", "1", "-W", "2", &cl]);
    assert_eq!(back.code, 0, "{w}: web pings the client by name: {back:?}");
    seen.push("the other way by name: ok".into());

    let ip = s.ip_on(&web, &n1);
    let other = s.run_d("other", &["--network", &n2], "exec sleep 600");
    let isolated = s.docker(&[
        "exec",
        &other,
        "sh",
        "-c",
        &format!(
            "{GET} get {ip} 80 2; nslookup {web} >/dev/null 2>&1 && echo resolved || echo unresolved"
        ),
    ]);
    assert_eq!(
        isolated.out, "FAIL\nunresolved\n",
        "{w}: from another network"
    );
    seen.push(format!(
        "from another network: {}",
        isolated.out.replace('\n', " ")
    ));

    s.ok(&["network", "connect", &n1, &other]);
    let joined = s.ok(&[
        "exec",
        &other,
        "sh",
        "-c",
        &format!("{GET} get {web} 80 40; get web 80 5"),
    ]);
    assert_eq!(
        joined,
        "hello\nhello\n",
        "{w}: after network connect\n{}",
        s.log()
    );
    seen.push(format!("after connect: {}", joined.replace('\n', " ")));
    let ifaces = s.ok(&["exec", &other, "sh", "-c", "ls /sys/class/net | sort"]);
    seen.push(format!(
        "interfaces after connect: {}",
        ifaces.replace('\n', " ")
    ));

    s.ok(&["network", "disconnect", &n1, &other]);
    let left = s.docker(&["exec", &other, "sh", "-c", &format!("{GET} get {ip} 80 2")]);
    assert_eq!(left.out, "FAIL\n", "{w}: after network disconnect");
    seen.push(format!("after disconnect: {}", left.out.trim()));
    mask(&seen.join("\n"))
}

/// `-p 127.0.0.1:P1:80` serves the daemon's host and a `--network host` container;
/// `-p GATEWAY:P2:80` serves containers through the host port; `port`, `ps` and `inspect`
/// show both bindings.
pub fn published_ports(s: &Side) -> String {
    let w = s.what();
    let n1 = s.network(&[]);
    let n2 = s.network(&[]);
    let gw = s.gateway(&n1);
    let (p1, p2) = (next_port(), next_port());
    let b1 = format!("127.0.0.1:{p1}:80");
    let b2 = format!("{gw}:{p2}:80");
    let web = s.web(&["--network", &n1, "-p", &b1, "-p", &b2]);
    let mut seen = Vec::new();

    let host = s.host_get(p1);
    assert_eq!(
        host.as_deref(),
        Some("hello\n"),
        "{w}: from the host\n{}",
        s.log()
    );
    seen.push("host 127.0.0.1:P1: hello".to_string());
    let hostnet = s.run(
        &["--network", "host"],
        &format!("{GET} get 127.0.0.1 {p1} 30"),
    );
    assert_eq!(
        hostnet.out, "hello\n",
        "{w}: --network host container: {hostnet:?}"
    );
    seen.push("--network host container to 127.0.0.1:P1: hello".into());
    let hairpin = s.run(&["--network", &n1], &format!("{GET} get {gw} {p2} 30"));
    assert_eq!(
        hairpin.out, "hello\n",
        "{w}: same network through GW:P2: {hairpin:?}"
    );
    seen.push("container on the same network to GW:P2: hello".into());
    // Where dockerd's isolation stops this (or not) is compared, not asserted.
    let across = s.run(&["--network", &n2], &format!("{GET} get {gw} {p2} 3"));
    seen.push(format!(
        "container on another network to GW:P2: {}",
        across.out.trim()
    ));

    let ports = |text: String| {
        text.replace(&format!(":{p1}"), ":P1")
            .replace(&format!(":{p2}"), ":P2")
            .replace(&format!("\"{p1}\""), "\"P1\"")
            .replace(&format!("\"{p2}\""), "\"P2\"")
            .replace(&gw, "GW")
    };
    // The order of several bindings of one port is a map's in both daemons: sorted.
    let sorted_json = |text: String| {
        let mut v: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
        if let Some(map) = v.as_object_mut() {
            for list in map.values_mut() {
                if let Some(a) = list.as_array_mut() {
                    a.sort_by_key(|b| b.to_string());
                }
            }
        }
        v.to_string()
    };
    let mut port = s
        .ok(&["port", &web])
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    port.sort();
    seen.push(format!("port: {}", ports(port.join(", "))));
    let mut port80: Vec<String> = s
        .ok(&["port", &web, "80/tcp"])
        .lines()
        .map(str::to_owned)
        .collect();
    port80.sort();
    seen.push(format!("port 80: {}", ports(port80.join(" "))));
    let ps = s.ok(&[
        "ps",
        "--filter",
        &format!("name=^{web}$"),
        "--format",
        "{{.Ports}}",
    ]);
    seen.push(format!("ps: {}", ports(ps.trim().to_owned())));
    let inspect = s.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", &web]);
    seen.push(format!("inspect: {}", ports(sorted_json(inspect))));
    let hc = s.ok(&["inspect", "-f", "{{json .HostConfig.PortBindings}}", &web]);
    seen.push(format!("host config: {}", ports(sorted_json(hc))));
    mask(&seen.join("\n"))
}

/// An `--internal` network: its containers reach each other by name, but neither the host's
/// published port (on another network's gateway) nor their own gateway answers.
pub fn internal_has_no_way_out(s: &Side) -> String {
    let w = s.what();
    let ni = s.network(&["--internal"]);
    let n1 = s.network(&[]);
    let gw1 = s.gateway(&n1);
    let gwi = s.gateway(&ni);
    let p = next_port();
    let out_web = s.web(&["--network", &n1, "-p", &format!("{gw1}:{p}:80")]);
    let in_web = s.web(&["--network", &ni]);
    let _ = out_web;
    let got = s.run(
        &["--network", &ni],
        &format!(
            "{GET} get {in_web} 80 40; ip route | grep -c '^default'; \
             get {gw1} {p} 2; get {gwi} {p} 2; true"
        ),
    );
    // dockerd 20.10 leaves a default route in (to a gateway that forwards nothing): the
    // count is compared, not asserted.
    let lines: Vec<&str> = got.out.lines().collect();
    assert_eq!(
        (lines.first(), lines.get(2), lines.get(3)),
        (Some(&"hello"), Some(&"FAIL"), Some(&"FAIL")),
        "{w}: internal network\n{got:?}\n{}",
        s.log()
    );
    // The subnet's size is the daemon's pool's choice (dockerd's here may be out of /16s).
    let routes = s.run(&["--network", &ni], "ip route | sed -E 's#/[0-9]+#/N#g'");
    mask(&format!(
        "internal: {}\nroutes: {}",
        got.out.replace('\n', " "),
        routes.out.replace('\n', " ")
    ))
}
