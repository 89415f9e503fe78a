//! The stock docker CLI's view of a network and of a container on it: `network create` with
//! subnet, gateway, ip-range, labels, `--attachable` and an MTU option; `run --ip` and
//! `--network-alias`; `network inspect`, `network ls` with a label filter and `--format`,
//! the container's `NetworkSettings.Networks`; `network disconnect` and `rm`. The JSON is
//! compared with ids, timestamps, MAC-free addresses and the test's names masked.

use serde_json::Value;

use crate::side::{mask, own_subnet, Side, LABEL};

/// `value` with the keys in `drop` set to "X" at any depth, and object keys that are ids
/// (the `Containers` map of a network) replaced by "ID of <the entry's Name>".
fn scrub(value: &mut Value, drop: &[&str]) {
    match value {
        Value::Object(map) => {
            let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            for (k, mut v) in entries {
                if drop.contains(&k.as_str()) {
                    v = Value::String("X".into());
                } else {
                    scrub(&mut v, drop);
                }
                // Keyed by the entry's name instead: two ids masked alike would collide.
                let k = if k.len() == 64 && k.chars().all(|c| c.is_ascii_hexdigit()) {
                    format!("ID of {}", v["Name"].as_str().unwrap_or_default())
                } else {
                    k
                };
                map.insert(k, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, drop)),
        _ => {}
    }
}

pub fn cli_network_inspect(s: &Side) -> String {
    let subnet = own_subnet(1);
    let base = subnet.trim_end_matches("/26").trim_end_matches(".64");
    let gateway = format!("{base}.126");
    let range = format!("{base}.96/27");
    let fixed = format!("{base}.70");
    let n = s.network(&[
        "--subnet",
        &subnet,
        "--gateway",
        &gateway,
        "--ip-range",
        &range,
        "--attachable",
        "--label",
        "team=net",
        "--opt",
        "com.docker.network.driver.mtu=1400",
    ]);
    let fixed_ctr = s.run_d(
        "fixed",
        &["--network", &n, "--ip", &fixed, "--network-alias", "fx"],
        "exec sleep 600",
    );
    let ranged = s.run_d("ranged", &["--network", &n], "exec sleep 600");
    let ip = s.ip_on(&ranged, &n);
    let last: u32 = ip
        .rsplit('.')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    assert!(
        (96..128).contains(&last) && ip.starts_with(base),
        "{}: {ip} is not in the range {range}",
        s.what()
    );
    assert_eq!(s.ip_on(&fixed_ctr, &n), fixed, "{}: --ip", s.what());
    let mtu = s.ok(&["exec", &ranged, "cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(mtu.trim(), "1400", "{}: the MTU option", s.what());

    let names = |t: String| {
        t.replace(&n, "NET")
            .replace(&fixed_ctr, "FIXED")
            .replace(&ranged, "RANGED")
            .replace(&s.tag, "TAG")
            .replace(base, "BASE")
    };
    let mut net: Value = serde_json::from_str(&s.ok(&["network", "inspect", &n])).expect("JSON");
    scrub(&mut net, &["Id", "Created", "EndpointID", "MacAddress"]);
    let mut eps: Value = serde_json::from_str(&s.ok(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks}}",
        &fixed_ctr,
    ]))
    .expect("JSON");
    scrub(&mut eps, &["NetworkID", "EndpointID", "MacAddress"]);
    let filter = format!("label={LABEL}={}", s.tag);
    let ls = s.ok(&[
        "network",
        "ls",
        "--filter",
        &filter,
        "--filter",
        "label=team=net",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPv6}} {{.Labels}}",
    ]);
    // Label order in {{.Labels}} is a map's: sorted.
    let ls: Vec<String> = ls
        .lines()
        .map(|l| {
            let (head, labels) = l.rsplit_once(' ').unwrap_or((l, ""));
            let mut ls: Vec<&str> = labels.split(',').collect();
            ls.sort();
            format!("{head} {}", ls.join(","))
        })
        .collect();
    s.ok(&["network", "disconnect", &n, &ranged]);
    let after = s.ok(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks}}",
        &ranged,
    ]);
    mask(&names(format!(
        "network inspect:\n{}\ncontainer's networks:\n{}\nls: {}\nafter disconnect: {}",
        serde_json::to_string_pretty(&net).unwrap_or_default(),
        serde_json::to_string_pretty(&eps).unwrap_or_default(),
        ls.join("; "),
        after.trim()
    )))
}
