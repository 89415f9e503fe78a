//! Network objects end to end: `network create/ls/inspect/rm/prune/connect/disconnect` with
//! the docker CLI against a private muelled and the shared dockerd, compared field by field
//! where the answer is deterministic (names, subnets, options, labels, key order, error
//! messages), the same commands with the muelle CLI, the records across a restart, the
//! daemon's `bip` and `default-address-pools`, and the `network` events. Endpoints of
//! running containers (the datapath) are not tested here: only that their records change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::both::{unique, Both, Res};
use support::Daemon;

/// A /24 of 10.X.Y.0 of this test process's own (the shared dockerd keeps networks of other
/// runs only if one failed before its cleanup).
fn subnet(n: u32) -> String {
    let p = std::process::id();
    format!("10.{}.{}.0/24", 200 + (p % 50), (p / 50 + n * 37) % 250)
}

fn prefix(s: &str) -> String {
    s.trim_end_matches(".0/24").to_string()
}

/// Networks made on dockerd by a test, removed when it ends (passed or not).
struct TheirNets(Vec<String>);

impl Drop for TheirNets {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new(DOCKER28)
                .args(["-H", support::both::DOCKERD, "network", "rm", n])
                .output();
        }
    }
}

/// The top-level keys of `docker network inspect`'s (re-indented) output, in order.
fn key_order(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("        \""))
        .filter_map(|l| l.split_once('"').map(|(k, _)| k.to_string()))
        .collect()
}

fn inspect(r: &Res) -> Value {
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.out).unwrap();
    v[0].clone()
}

/// Everything of a network dockerd and muelled should agree on: all but the ID, the creation
/// time and (for the default bridge) the Linux bridge's name and the subnet.
fn comparable(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("Id");
    o.remove("Created");
    v
}

/// The docker CLI 28 (`/usr/bin/docker` is 20.10's).
const DOCKER28: &str = "/usr/local/bin/docker";

fn ours(d: &Daemon, args: &[&str]) -> Res {
    assert!(
        std::path::Path::new(DOCKER28).exists(),
        "{DOCKER28} is needed"
    );
    let o = Command::new(DOCKER28)
        .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
        .env("DOCKER_CONFIG", &d.docker_config)
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_CONTEXT")
        .args(args)
        .output()
        .unwrap();
    Res::of(&o)
}

fn theirs(args: &[&str]) -> Res {
    let o = Command::new(DOCKER28)
        .args(["-H", support::both::DOCKERD])
        .args(args)
        .output()
        .unwrap();
    Res::of(&o)
}

fn muelle_cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("muelle");
    assert!(
        p.exists(),
        "{} is needed: cargo build -p muelle-cli --bin muelle",
        p.display()
    );
    p
}

fn muelle(d: &Daemon, args: &[&str]) -> Res {
    let o = Command::new(muelle_cli())
        .arg("-H")
        .arg(format!("unix://{}", d.socket.display()))
        .arg("--no-autostart")
        .env("DOCKER_CONFIG", &d.docker_config)
        .args(args)
        .output()
        .unwrap();
    Res::of(&o)
}

#[test]
fn network_objects_match_dockerd_needs_dockerd() {
    let b = Both::start();
    let name = unique("mnet");
    let mut theirs_nets = TheirNets(Vec::new());
    let s = subnet(0);
    let p = prefix(&s);
    let gw = format!("{p}.1");
    let range = format!("{p}.128/25");
    let aux = format!("a={p}.5");
    let args = [
        "network",
        "create",
        "--subnet",
        &s,
        "--gateway",
        &gw,
        "--ip-range",
        &range,
        "--aux-address",
        &aux,
        "--label",
        "k=v",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "--internal",
        "--attachable",
        &name,
    ];
    let mine = ours(&b.d, &args);
    let peer = theirs(&args);
    theirs_nets.0.push(name.clone());
    assert_eq!(
        (mine.code, mine.out.trim().len()),
        (0, 64),
        "{mine:?}\n{}",
        b.d.log()
    );
    assert_eq!((peer.code, peer.out.trim().len()), (0, 64), "{peer:?}");

    let (oi, ti) = (
        ours(&b.d, &["network", "inspect", &name]),
        theirs(&["network", "inspect", &name]),
    );
    assert_eq!(key_order(&oi.out), key_order(&ti.out));
    assert_eq!(comparable(inspect(&oi)), comparable(inspect(&ti)));

    // A network with everything chosen by the daemon: the same shape, a subnet of its own.
    let auto = unique("mnet");
    let (oa, ta) = (
        ours(&b.d, &["network", "create", &auto]),
        theirs(&["network", "create", &auto]),
    );
    theirs_nets.0.push(auto.clone());
    assert_eq!((oa.code, ta.code), (0, 0), "{oa:?} {ta:?}");
    let (mut o, mut t) = (
        inspect(&ours(&b.d, &["network", "inspect", &auto])),
        inspect(&theirs(&["network", "inspect", &auto])),
    );
    let osub = o["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(osub, "172.17.0.0/16", "docker0's route is avoided");
    for v in [&mut o, &mut t] {
        v["IPAM"]["Config"][0]["Subnet"] = Value::Null;
        v["IPAM"]["Config"][0]["Gateway"] = Value::Null;
    }
    assert_eq!(comparable(o), comparable(t));

    // The built-ins.
    for n in ["host", "none"] {
        let (o, t) = (
            ours(&b.d, &["network", "inspect", n]),
            theirs(&["network", "inspect", n]),
        );
        assert_eq!(comparable(inspect(&o)), comparable(inspect(&t)), "{n}");
    }
    let (mut o, mut t) = (
        inspect(&ours(&b.d, &["network", "inspect", "bridge"])),
        inspect(&theirs(&["network", "inspect", "bridge"])),
    );
    assert_eq!(
        o["Options"]["com.docker.network.bridge.name"],
        Value::from("muelle0")
    );
    for v in [&mut o, &mut t] {
        v["Options"]["com.docker.network.bridge.name"] = Value::Null;
        v["IPAM"]["Config"] = Value::Null;
        v["Containers"] = Value::Null;
    }
    assert_eq!(comparable(o), comparable(t));

    // ls: the same rows for the same filters and formats.
    for f in [
        vec![
            "--filter",
            "name=mnet-",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}} {{.Labels}}",
        ],
        vec!["--filter", "label=k=v", "--format", "{{.Name}}"],
        vec![
            "--filter",
            "type=builtin",
            "--format",
            "{{.Name}} {{.Driver}}",
        ],
        vec![
            "--filter",
            "driver=null",
            "--format",
            "table {{.Name}}\t{{.Driver}}",
        ],
    ] {
        let mut a = vec!["network", "ls"];
        a.extend_from_slice(&f);
        let (o, t) = (ours(&b.d, &a), theirs(&a));
        if f[1] == "name=mnet-" {
            // dockerd may hold other runs' networks: compare ours.
            let mine = |r: &Res| -> Vec<String> {
                r.out
                    .lines()
                    .filter(|l| l.starts_with(&name) || l.starts_with(&auto))
                    .map(str::to_owned)
                    .collect()
            };
            assert_eq!(mine(&o), mine(&t));
        } else if f[1] == "label=k=v" {
            assert!(o.out.lines().any(|l| l == name), "{o:?}");
            assert!(t.out.lines().any(|l| l == name), "{t:?}");
        } else {
            assert_eq!(o, t, "{a:?}");
        }
    }
    let q = ours(
        &b.d,
        &["network", "ls", "-q", "--filter", &format!("name={name}")],
    );
    assert_eq!(q.out.trim().len(), 12, "{q:?}");
    let table = ours(&b.d, &["network", "ls"]);
    assert!(table.out.starts_with("NETWORK ID     NAME"), "{table:?}");

    // rm: both gone, then the same error for a second rm.
    for n in [&name, &auto] {
        assert_eq!(ours(&b.d, &["network", "rm", n]).out, format!("{n}\n"));
        assert_eq!(theirs(&["network", "rm", n]).out, format!("{n}\n"));
    }
    let (o, t) = (
        ours(&b.d, &["network", "rm", &name]),
        theirs(&["network", "rm", &name]),
    );
    assert_eq!((o.code != 0, o.message()), (t.code != 0, t.message()));
}

#[test]
fn network_errors_match_dockerd_needs_dockerd() {
    let b = Both::start();
    let mut theirs_nets = TheirNets(Vec::new());
    let name = unique("mnet");
    let s = subnet(1);
    let p = prefix(&s);
    assert_eq!(
        ours(&b.d, &["network", "create", "--subnet", &s, &name]).code,
        0
    );
    assert_eq!(
        theirs(&["network", "create", "--subnet", &s, &name]).code,
        0
    );
    theirs_nets.0.push(name.clone());
    let other = unique("mnet");
    let inner = format!("{p}.64/26");
    let out_gw = "10.199.255.1".to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["network", "create", &name],
        vec!["network", "create", "--subnet", &inner, &other],
        vec![
            "network",
            "create",
            "--subnet",
            "10.198.0.0/24",
            "--gateway",
            &out_gw,
            &other,
        ],
        vec![
            "network",
            "create",
            "--subnet",
            "10.198.0.0/24",
            "--ip-range",
            "10.197.0.0/25",
            &other,
        ],
        vec!["network", "create", "bridge"],
        vec!["network", "create", "-d", "nosuchdriver", &other],
        vec!["network", "create", "-d", "host", &other],
        vec!["network", "rm", "bridge"],
        vec!["network", "rm", "none"],
        vec!["network", "rm", "nosuchnetwork"],
        vec!["network", "inspect", "nosuchnetwork"],
        vec!["network", "ls", "--filter", "type=bogus"],
        vec!["network", "ls", "--filter", "bogus=1"],
        vec!["network", "prune", "-f", "--filter", "bogus=1"],
    ];
    for c in &cases {
        let (o, t) = (ours(&b.d, c), theirs(c));
        if t.code == 0 {
            theirs_nets.0.push(other.clone());
        }
        assert_eq!(
            (o.code != 0, o.message()),
            (t.code != 0, t.message()),
            "{c:?}\nmuelled log:\n{}",
            b.d.log()
        );
    }
    // Through the API (the docker CLI checks the gateway itself): dockerd's words.
    let body = format!(
        r#"{{"Name":"{other}","IPAM":{{"Config":[{{"Subnet":"10.198.0.0/24","AuxiliaryAddresses":{{"a":"10.197.0.1"}}}}]}}}}"#
    );
    let r = b.d.http("POST", "/networks/create", body.as_bytes());
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "auxiliary address: (a:10.197.0.1) must belong to the master pool: 10.198.0.0/24"
    );
    let body = format!(r#"{{"Name":"{other}","IPAM":{{"Config":[{{"Subnet":"{inner}"}}]}}}}"#);
    let r = b.d.http("POST", "/networks/create", body.as_bytes());
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "Pool overlaps with other one on this address space"
    );
    let r = b.d.http("POST", "/networks/create", br#"{"Name":"host"}"#);
    assert_eq!(r.status, 403);
    assert_eq!(ours(&b.d, &["network", "rm", &name]).code, 0);
}

#[test]
fn connect_and_disconnect_match_dockerd_needs_dockerd() {
    let b = Both::start();
    let mut theirs_nets = TheirNets(Vec::new());
    let net = unique("mnet");
    let s = subnet(2);
    let ip = format!("{}.9", prefix(&s));
    for peer in [false, true] {
        let r = if peer {
            theirs(&["network", "create", "--subnet", &s, &net])
        } else {
            ours(&b.d, &["network", "create", "--subnet", &s, &net])
        };
        assert_eq!(r.code, 0, "{r:?}");
    }
    theirs_nets.0.push(net.clone());
    let ctr = unique("mctr");
    let create = ["create", "--pull=never", "--name", &ctr, "busybox", "true"];
    assert_eq!(ours(&b.d, &create).code, 0);
    assert_eq!(theirs(&create).code, 0);
    b.keep_theirs(&ctr);

    let same = |args: &[&str]| -> Res {
        let (o, t) = (ours(&b.d, args), theirs(args));
        let our_id = ours(&b.d, &["inspect", "-f", "{{.Id}}", &ctr])
            .out
            .trim()
            .to_string();
        let their_id = theirs(&["inspect", "-f", "{{.Id}}", &ctr])
            .out
            .trim()
            .to_string();
        assert_eq!(
            (o.code, o.out.clone(), o.message().replace(&our_id, "ID")),
            (t.code, t.out.clone(), t.message().replace(&their_id, "ID")),
            "{args:?}\nmuelled log:\n{}",
            b.d.log()
        );
        o
    };
    same(&[
        "network", "connect", "--alias", "web", "--ip", &ip, &net, &ctr,
    ]);
    // A second connect of a stopped container changes nothing, as dockerd.
    same(&["network", "connect", &net, &ctr]);
    let fmt = format!("{{{{json (index .NetworkSettings.Networks \"{net}\").Aliases}}}} {{{{json (index .NetworkSettings.Networks \"{net}\").IPAMConfig.IPv4Address}}}}");
    let got = ours(&b.d, &["inspect", "-f", &fmt, &ctr]).out;
    let short = &ours(&b.d, &["inspect", "-f", "{{.Id}}", &ctr]).out[..12];
    assert_eq!(got.trim(), format!("[\"web\",\"{short}\"] \"{ip}\""));
    same(&["network", "connect", "--alias", "x", "bridge", &ctr]);
    same(&["network", "connect", "--ip", "172.17.0.9", "bridge", &ctr]);
    same(&["network", "connect", "none", &ctr]);
    same(&["network", "connect", "host", &ctr]);
    same(&["network", "connect", "nosuchnetwork-x", "nosuchcontainer-x"]);
    same(&["network", "disconnect", &net, &ctr]);
    same(&["network", "disconnect", &net, &ctr]);
    same(&["network", "disconnect", "nosuchnetwork-x", &ctr]);
    same(&["network", "disconnect", "-f", "nosuchnetwork-x", &ctr]);
    // A network a stopped container is on can be removed (it has no active endpoint).
    same(&["network", "connect", &net, &ctr]);
    same(&["network", "rm", &net]);
}

#[test]
fn running_container_records_events_and_muelle_cli_needs_docker() {
    let d = support::daemon_with_busybox();
    let net = unique("mnet");
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    // The muelle CLI: create, ls, inspect.
    let created = muelle(&d, &["network", "create", "--label", "p=1", &net]);
    assert_eq!(created.code, 0, "{created:?}\n{}", d.log());
    let id = created.out.trim().to_string();
    let ls = muelle(&d, &["network", "ls", "--filter", &format!("name={net}")]);
    let docker_ls = ours(&d, &["network", "ls", "--filter", &format!("name={net}")]);
    assert_eq!(ls.out, docker_ls.out);
    for f in ["json", "{{.Name}} {{.ID}}"] {
        let a = ["network", "ls", "--no-trunc", "--format", f];
        assert_eq!(muelle(&d, &a).out, ours(&d, &a).out, "{f}");
    }
    let a = ["network", "inspect", &net];
    assert_eq!(muelle(&d, &a).out, ours(&d, &a).out);
    let a = ["network", "inspect", "-f", "{{.Id}} {{.IPAM.Config}}", &net];
    assert_eq!(muelle(&d, &a).out, ours(&d, &a).out);
    assert!(muelle(&d, &a).out.starts_with(&id));

    // A running container: connect and disconnect change its record.
    let ctr = unique("mctr");
    d.docker_ok(&[
        "run",
        "-d",
        "--pull=never",
        "--name",
        &ctr,
        "busybox",
        "sleep",
        "60",
    ]);
    let c = muelle(&d, &["network", "connect", "--alias", "db", &net, &ctr]);
    assert_eq!(c.code, 0, "{c:?}\n{}", d.log());
    let nets = d.docker_ok(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", &ctr]);
    assert!(nets.contains(&net), "{nets}");
    let again = muelle(&d, &["network", "connect", &net, &ctr]);
    assert!(
        again.err.contains(&format!(
            "endpoint with name {ctr} already exists in network {net}"
        )),
        "{again:?}"
    );
    assert_eq!(muelle(&d, &["network", "disconnect", &net, &ctr]).code, 0);
    let nets = d.docker_ok(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", &ctr]);
    assert!(!nets.contains(&net), "{nets}");
    let not = muelle(&d, &["network", "disconnect", &net, &ctr]);
    assert!(not.err.contains("is not connected to network"), "{not:?}");
    d.docker_ok(&["rm", "-f", &ctr]);

    // prune with a label filter takes only the labelled network; then rm of the rest.
    let keep = unique("mnet");
    muelle(&d, &["network", "create", &keep]);
    let pr = muelle(&d, &["network", "prune", "-f", "--filter", "label=p=1"]);
    assert_eq!(pr.out, format!("Deleted Networks:\n{net}\n\n"));
    assert_eq!(
        muelle(&d, &["network", "prune", "-f", "--filter", "label=p=1"]).out,
        ""
    );
    let rm = muelle(&d, &["network", "rm", "-f", &keep, "nosuchnetwork"]);
    assert_eq!(
        (rm.code, rm.out.as_str()),
        (0, format!("{keep}\n").as_str())
    );
    let rm = muelle(&d, &["network", "rm", "bridge"]);
    assert!(
        rm.err
            .contains("bridge is a pre-defined network and cannot be removed"),
        "{rm:?}"
    );

    // The events dockerd emits for these: create, connect, disconnect, destroy.
    // `until` in the past ends the answer at once.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ev = d.http(
        "GET",
        &format!(
            "/events?since={since}&until={now}&filters=%7B%22type%22%3A%5B%22network%22%5D%7D"
        ),
        b"",
    );
    let mut actions = Vec::new();
    for line in ev.text().lines().filter(|l| !l.trim().is_empty()) {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["Actor"]["Attributes"]["name"] == net.as_str() {
            assert_eq!(e["Type"], "network");
            assert_eq!(e["Actor"]["ID"], id.as_str());
            assert_eq!(e["Actor"]["Attributes"]["type"], "bridge");
            actions.push(e["Action"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(actions, ["create", "connect", "disconnect", "destroy"]);
}

#[test]
fn records_survive_restart_and_daemon_settings_apply() {
    let mut d = Daemon::start_with(&["--bip", "10.251.7.1/24"]);
    let bridge = d.http("GET", "/networks/bridge", b"").json();
    assert_eq!(bridge["IPAM"]["Config"][0]["Subnet"], "10.251.7.0/24");
    assert_eq!(bridge["IPAM"]["Config"][0]["Gateway"], "10.251.7.1");
    assert_eq!(bridge["IPAM"]["Options"], Value::Null);
    let r = d.http(
        "POST",
        "/networks/create",
        br#"{"Name":"keepme","EnableIPv6":true,"Options":{"com.docker.network.bridge.name":"mtestbr0"}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let before = d.http("GET", "/networks/keepme", b"").json();
    let cfg = before["IPAM"]["Config"].as_array().unwrap().clone();
    assert_eq!(cfg.len(), 2, "{before}");
    assert!(
        cfg[1]["Subnet"].as_str().unwrap().starts_with("fd"),
        "{before}"
    );
    assert!(
        cfg[1]["Subnet"].as_str().unwrap().ends_with("::/64"),
        "{before}"
    );
    // A bridge name two networks cannot share.
    let r = d.http(
        "POST",
        "/networks/create",
        br#"{"Name":"other","Options":{"com.docker.network.bridge.name":"mtestbr0"}}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // Pools from daemon.json, read at the next start.
    std::fs::write(
        d.dir.path().join("daemon.json"),
        r#"{"default-address-pools":[{"base":"10.252.0.0/16","size":24}]}"#,
    )
    .unwrap();
    d.restart();
    let after = d
        .http("GET", &format!("/networks/{}", &id[..10]), b"")
        .json();
    assert_eq!(after, before, "the record is the same after a restart");
    let bridge2 = d.http("GET", "/networks/bridge", b"").json();
    assert_eq!(bridge2["Id"], bridge["Id"]);
    let r = d.http("POST", "/networks/create", br#"{"Name":"pooled"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    let pooled = d.http("GET", "/networks/pooled", b"").json();
    assert_eq!(pooled["IPAM"]["Config"][0]["Subnet"], "10.252.0.0/24");
    let r = d.http("POST", "/networks/create", br#"{"Name":"pooled2"}"#);
    assert_eq!(r.status, 201);
    let p2 = d.http("GET", "/networks/pooled2", b"").json();
    assert_eq!(p2["IPAM"]["Config"][0]["Subnet"], "10.252.1.0/24");
    // Ambiguity and prefix lookup.
    let list = d.http("GET", "/networks", b"").json();
    assert_eq!(list.as_array().unwrap().len(), 6);
    assert_eq!(
        d.http(
            "GET",
            "/networks?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D",
            b""
        )
        .json()
        .as_array()
        .unwrap()
        .len(),
        3
    );
    // `until`: only networks created before then; these are all newer than an hour ago.
    let young = d
        .http(
            "POST",
            "/networks/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%7D",
            b"",
        )
        .json();
    assert_eq!(young, serde_json::json!({ "NetworksDeleted": null }));
    let pruned = d.http("POST", "/networks/prune", b"").json();
    assert_eq!(pruned["NetworksDeleted"].as_array().unwrap().len(), 3);
    assert_eq!(
        d.http("POST", "/networks/prune", b"").json(),
        serde_json::json!({ "NetworksDeleted": null })
    );
    assert_eq!(
        d.http("GET", "/networks", b"")
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
