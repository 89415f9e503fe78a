//! docker-py (Debian's python3-docker, a client no one here wrote) creates a network with an
//! IPAM config and labels, runs a web server on it publishing a port on 127.0.0.1, connects
//! a second container with an alias, inspects both, lists and removes: the same script
//! against each daemon (run inside the daemon's host network namespace, so 127.0.0.1 is
//! where the daemon publishes) prints JSON that must match once masked.

use muelle_test_support::registry::next_port;

use crate::side::{mask, Side, GET, LABEL, WEB};
use crate::support::{both::DOCKERD, require_docker_py};

const SCRIPT: &str = r#"
import json, os, socket, sys, time, docker
sock, tag, net, port, sub, gw = sys.argv[1:7]
label, web_sh, get_sh = sys.argv[7:10]
port = int(port)
c = docker.DockerClient(base_url=sock, version="1.41")
out = {}
made = []
try:
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=sub, gateway=gw)])
    n = c.networks.create(net, driver="bridge", ipam=ipam, labels={label: tag},
                          attachable=True, check_duplicate=True)
    n.reload()
    a = n.attrs
    out["network"] = {k: a.get(k) for k in
        ["Name", "Driver", "Scope", "Internal", "Attachable", "Ingress", "EnableIPv6",
         "Labels", "Options", "IPAM", "ConfigOnly", "ConfigFrom"]}
    out["network keys"] = sorted(a.keys())
    web = c.containers.run("busybox", ["sh", "-c", web_sh], detach=True, name=net + "-web",
                           labels={label: tag}, network=net,
                           ports={"80/tcp": ("127.0.0.1", port)})
    made.append(web)
    web.reload()
    ns = web.attrs["NetworkSettings"]
    out["web ports"] = ns["Ports"]
    ep = ns["Networks"][net]
    out["web endpoint keys"] = sorted(ep.keys())
    out["web endpoint"] = {k: ep.get(k) for k in
        ["IPPrefixLen", "Gateway", "Aliases", "Links", "IPv6Gateway", "GlobalIPv6Address"]}
    out["web mac is docker's"] = ep["MacAddress"] == "02:42:" + ":".join(
        "%02x" % int(x) for x in ep["IPAddress"].split("."))
    body = None
    for _ in range(50):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            s.sendall(b"GET /f HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            body = data.split(b"\r\n\r\n", 1)[1].decode()
            break
        except Exception:
            time.sleep(0.2)
    out["host fetch"] = body
    other = c.containers.create("busybox", ["sleep", "600"], name=net + "-other",
                                labels={label: tag}, network_mode="none")
    made.append(other)
    try:
        n.connect(other, aliases=["pal"])
        out["connect to a none container"] = "accepted"
    except docker.errors.APIError as e:
        out["connect to a none container"] = str(e.explanation)
    other.remove(force=True)
    made.remove(other)
    other = c.containers.create("busybox", ["sleep", "600"], name=net + "-other",
                                labels={label: tag})
    made.append(other)
    n.connect(other, aliases=["pal"])
    other.start()
    other.reload()
    nets = other.attrs["NetworkSettings"]["Networks"]
    out["other networks"] = sorted(nets)
    out["other aliases"] = sorted(nets[net]["Aliases"] or [])
    r = other.exec_run(["sh", "-c", get_sh + "get " + net + "-web 80 40"])
    out["other fetches web by name"] = r.output.decode()
    r = web.exec_run(["sh", "-c", "ping -c1 -W2 pal >/dev/null && echo ok"])
    out["web pings the alias"] = r.output.decode()
    n.reload()
    out["network containers"] = sorted(v["Name"] for v in n.attrs["Containers"].values())
    n.disconnect(other)
    n.reload()
    out["after disconnect"] = sorted(v["Name"] for v in n.attrs["Containers"].values())
    out["listed"] = [x.name for x in c.networks.list(filters={"label": label + "=" + tag})]
    try:
        n.remove()
        out["remove in use"] = "removed"
    except docker.errors.APIError as e:
        out["remove in use"] = "%d %s" % (e.status_code, e.explanation)
finally:
    for m in made:
        try:
            m.remove(force=True)
        except Exception:
            pass
    try:
        c.networks.get(net).remove()
    except Exception:
        pass
out["gone"] = [x.name for x in c.networks.list(filters={"label": label + "=" + tag})]
print(json.dumps(out, sort_keys=True, indent=1))
"#;

pub fn dockerpy_networks_and_ports(s: &Side) -> String {
    require_docker_py();
    let net = s.name("py");
    let port = next_port();
    let pid = std::process::id();
    let (a, b) = ((pid >> 8) & 0xff, pid & 0xff);
    // The last /26 of this process's /24 (errors.rs takes the first).
    let sub = format!("10.{a}.{b}.192/26");
    let gw = format!("10.{a}.{b}.193");
    let sock = match &s.d {
        Some(d) => format!("unix://{}", d.socket.display()),
        None => DOCKERD.to_string(),
    };
    let mut cmd = match &s.d {
        Some(d) => d.in_netns("/usr/bin/python3"),
        None => std::process::Command::new("/usr/bin/python3"),
    };
    let out = cmd
        .arg("-c")
        .arg(SCRIPT)
        .args([
            &sock,
            &s.tag,
            &net,
            &port.to_string(),
            &sub,
            &gw,
            LABEL,
            WEB,
            GET,
        ])
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}: docker-py failed:\n{text}\n{}\n{}",
        s.what(),
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["host fetch"], "hello\n", "{}: {text}", s.what());
    assert_eq!(
        v["other fetches web by name"],
        "hello\n",
        "{}: {text}",
        s.what()
    );
    assert_eq!(v["gone"], serde_json::json!([]), "{}: {text}", s.what());
    mask(
        &text
            .replace(&s.tag, "TAG")
            .replace(&net, "NET")
            .replace(&format!("\"{port}\""), "\"PORT\""),
    )
}
