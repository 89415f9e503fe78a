//! Refusals: `network rm` of a network in use, overlapping subnets, `--ip` outside the
//! subnet (and on the default bridge), a host port another process holds, invalid port
//! specs (the CLI's own parse and the API's), a network name in use. Each returns the
//! messages (ids, names, addresses and ports masked) and what was left behind, for the
//! comparison with dockerd: no container running and no network record beyond the
//! test's own.

use muelle_test_support::{netns, registry::next_port};

use crate::side::{mask, Side};
use crate::support::{both::DOCKERD, http};

/// A /26 of 10.0.0.0/8 of this test process's own (by pid), `k` in 0..4.
fn subnet(k: u32) -> (String, String) {
    let pid = std::process::id();
    let (a, b) = ((pid >> 8) & 0xff, pid & 0xff);
    let base = 64 * k;
    (
        format!("10.{a}.{b}.{base}/26"),
        format!("10.{a}.{b}.{}/27", base),
    )
}

/// A message with the test's own names replaced by placeholders, then masked.
fn named(text: &str, names: &[(&str, &str)]) -> String {
    let mut t = text.to_owned();
    for (from, to) in names {
        t = t.replace(from, to);
    }
    mask(&t)
}

pub fn network_rm_in_use_is_refused(s: &Side) -> String {
    let n = s.network(&[]);
    let c = s.run_d("user", &["--network", &n], "exec sleep 600");
    let err = s.refused(&["network", "rm", &n]);
    let still = s.ok(&["network", "ls", "--filter", &format!("name=^{n}$"), "-q"]);
    assert!(
        !still.trim().is_empty(),
        "{}: the network went: {err}",
        s.what()
    );
    s.ok(&["rm", "-f", &c]);
    s.ok(&["network", "rm", &n]);
    named(&err, &[(&n, "NET")])
}

pub fn bad_input_is_refused_leaving_nothing(s: &Side) -> String {
    let mut seen = Vec::new();
    let (sub, inner) = subnet(0);
    let n = s.network(&["--subnet", &sub]);
    let names = |t: &str| named(t, &[(&n, "NET"), (&sub, "SUB"), (&inner, "INNER")]);

    // Overlapping subnets, and a name in use.
    let label = format!("{}={}", crate::side::LABEL, s.tag);
    let other = s.name("net");
    let e = s.refused(&[
        "network", "create", "--label", &label, "--subnet", &inner, &other,
    ]);
    seen.push(format!("overlapping subnet: {}", names(&e)));
    let e = s.refused(&["network", "create", "--label", &label, &n]);
    seen.push(format!("name in use: {}", names(&e)));
    let e = s.refused(&[
        "network",
        "create",
        "--label",
        &label,
        "--subnet",
        "10.1.2.0/24",
        "--gateway",
        "10.9.9.1",
        &other,
    ]);
    seen.push(format!("gateway outside the subnet: {}", names(&e)));

    // Addresses: outside the subnet, on the default bridge.
    let name = s.name("ip");
    let e = s.refused(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &label,
        "--network",
        &n,
        "--ip",
        "10.254.254.9",
        "busybox",
        "sleep",
        "60",
    ]);
    seen.push(format!("--ip outside: {}", names(&e).replace(&name, "CTR")));
    let name = s.name("ipb");
    let e = s.refused(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &label,
        "--network",
        "bridge",
        "--ip",
        "172.17.9.9",
        "busybox",
        "sleep",
        "60",
    ]);
    seen.push(format!(
        "--ip on bridge: {}",
        names(&e).replace(&name, "CTR")
    ));

    // A host port another process holds in the daemon's host namespace: refused at
    // start, naming the address (dockerd's wording through its userland proxy differs from
    // a bind of our own, so the words that matter are compared).
    let port = next_port();
    let _held = netns::bind_in(s.netns(), port).expect("hold the port");
    let name = s.name("held");
    let e = s.refused(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &label,
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "sleep",
        "60",
    ]);
    seen.push(format!(
        "port held: names it {}, says in use {}",
        e.contains(&format!("127.0.0.1:{port}")),
        e.contains("address already in use") || e.contains("port is already allocated")
    ));

    // Invalid specs: the CLI's parse, then the API's own check.
    for spec in ["127.0.0.1:99999:80", "80/xyz", "1.2.3:80:80"] {
        let e = s.refused(&[
            "run", "-d", "--label", &label, "-p", spec, "busybox", "true",
        ]);
        seen.push(format!("-p {spec}: {}", names(&e)));
    }
    let body =
        br#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"abc"}]}}}"#;
    let socket = match &s.d {
        Some(d) => d.socket.clone(),
        None => DOCKERD.trim_start_matches("unix://").into(),
    };
    let r = http(
        &socket,
        "POST",
        "/containers/create",
        &[("Content-Type", "application/json")],
        body,
    );
    seen.push(format!(
        "API HostPort abc: {} {}",
        r.status,
        r.text().trim()
    ));

    // What is left: no container runs; containers docker made before failing to start are
    // compared by state; no network beyond the test's one.
    let (ctrs, nets) = s.leftovers();
    assert!(
        !ctrs.iter().any(|c| c.ends_with(" running")),
        "{}: a refused container runs: {ctrs:?}",
        s.what()
    );
    assert_eq!(nets, vec![n.clone()], "{}: networks left", s.what());
    let states: Vec<String> = ctrs
        .iter()
        .map(|c| c.rsplit(' ').next().unwrap_or_default().to_owned())
        .collect();
    seen.push(format!("containers left: {states:?}; networks left: 1"));
    // A raw create on dockerd with no name and no label: remove whatever it made.
    if r.status == 201 {
        if let Some(id) = r.json()["Id"].as_str() {
            let _ = s.docker(&["rm", "-f", id]);
        }
    }
    seen.join("\n")
}
