//! What a container sees of its names: /etc/hosts, /etc/resolv.conf and /etc/hostname on a
//! user-defined network and on the default bridge, `--link` (hosts entry and Docker's
//! environment variables), `--dns`/`--dns-search`/`--dns-option`, `--add-host` with
//! `host-gateway`, and `-P` for an image's EXPOSE. Addresses and ids are masked; the
//! test's own names become placeholders.

use crate::side::{mask, Side};

const FILES: &str = "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname";

pub fn files_on_a_user_network(s: &Side) -> String {
    let n = s.network(&[]);
    let plain = s.run(&["--network", &n], FILES);
    assert_eq!(plain.code, 0, "{}: {plain:?}", s.what());
    let named = s.run(
        &[
            "--network",
            &n,
            "--hostname",
            "box",
            "--domainname",
            "example.test",
            "--network-alias",
            "al",
        ],
        FILES,
    );
    let dns = s.run(
        &[
            "--network",
            &n,
            "--dns",
            "10.11.12.13",
            "--dns-search",
            "corp.test",
            "--dns-option",
            "ndots:3",
        ],
        "cat /etc/resolv.conf",
    );
    mask(&format!(
        "plain:\n{}\nhostname and domain:\n{}\ndns flags:\n{}",
        plain.out, named.out, dns.out
    ))
}

pub fn files_on_the_default_bridge(s: &Side) -> String {
    let srv = s.run_d(
        "srv",
        &["--expose", "80", "--expose", "53/udp", "-e", "GREETING=hi"],
        "exec sleep 600",
    );
    let link = format!("{srv}:al");
    let linked = s.run(
        &["--link", &link],
        "env | grep '^AL_' | sort; echo ---; grep -w al /etc/hosts | sed 's/\\t/ /g'; ping -c1 -W2 al >/dev/null && echo ping-ok",
    );
    assert_eq!(
        linked.code,
        0,
        "{}: --link: {linked:?}\n{}",
        s.what(),
        s.log()
    );
    assert!(linked.out.contains("ping-ok"), "{}: {linked:?}", s.what());
    let dns = s.run(
        &["--dns", "10.11.12.13", "--dns-search", "corp.test"],
        "cat /etc/resolv.conf",
    );
    // host-gateway is the default bridge's gateway on dockerd, whatever the network.
    let bridge_gw = s.gateway("bridge");
    let n = s.network(&[]);
    let hg = s.run(
        &[
            "--network",
            &n,
            "--add-host",
            "hg:host-gateway",
            "--add-host",
            "x:10.1.1.1",
        ],
        "grep -E ' (hg|x)$|\t(hg|x)$' /etc/hosts",
    );
    let hg_is_bridge_gw = hg
        .out
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [bridge_gw.as_str(), "hg"]);
    assert!(
        hg_is_bridge_gw,
        "{}: host-gateway {hg:?} vs {bridge_gw}",
        s.what()
    );
    let plain = s.run(&[], FILES);
    // AL_NAME is /<the linking container's name>/al.
    let link_env: String = linked
        .out
        .lines()
        .map(|l| match l.strip_prefix("AL_NAME=") {
            Some(v) => format!(
                "AL_NAME=/CTR/{}\n",
                v.rsplit('/').next().unwrap_or_default()
            ),
            None => format!("{l}\n"),
        })
        .collect();
    mask(
        &format!(
            "link:\n{}\ndns flags:\n{}\nadd-host:\n{}\nhost-gateway = bridge gateway\nplain:\n{}",
            link_env, dns.out, hg.out, plain.out
        )
        .replace(&srv, "SRV"),
    )
}

/// `-P` publishes what the image EXPOSEs (and `--expose`) on ephemeral host ports of
/// 127.0.0.1 here (`-p` gives the address; `-P` alone would bind every address of the host),
/// shown by `port` and `ps`; the ports themselves are masked after checking their range.
pub fn publish_all_exposed(s: &Side) -> String {
    let base = s.run_d("base", &["--network", "none"], "exec sleep 600");
    let image = format!("muelletest/{}:expose", s.tag);
    s.ok(&[
        "commit",
        "--change",
        "EXPOSE 80/tcp 8125/udp",
        &base,
        &image,
    ]);
    s.own_image(&image);
    let label = format!("{}={}", crate::side::LABEL, s.tag);
    let name = s.name("pall");
    s.ok(&[
        "create", "--name", &name, "--label", &label, "-P", "--expose", "81", "busybox", "sleep",
        "600",
    ]);
    let created = s.ok(&["port", &name]);
    let _ = s.docker(&["rm", "-f", &name]);
    let web = s.name("pweb");
    s.ok(&[
        "run",
        "-d",
        "--name",
        &web,
        "--label",
        &label,
        "-P",
        "-p",
        "127.0.0.1::8080",
        &image,
        "sleep",
        "600",
    ]);
    let port = s.ok(&["port", &web]);
    let mut lines: Vec<String> = port
        .lines()
        .map(|l| {
            let (head, host_port) = l.rsplit_once(':').unwrap_or((l, ""));
            let p: u32 = host_port.parse().unwrap_or(0);
            assert!(p >= 1024, "{}: -P port {l}", s.what());
            format!("{head}:EPHEMERAL")
        })
        .collect();
    lines.sort();
    let ps = s.ok(&[
        "ps",
        "--filter",
        &format!("name=^{web}$"),
        "--format",
        "{{.Ports}}",
    ]);
    let ps = ps
        .trim()
        .split(", ")
        .map(|b| {
            b.split("->")
                .map(|side| match side.rsplit_once(':') {
                    Some((a, p)) if p.parse::<u32>().is_ok() => format!("{a}:EPHEMERAL"),
                    _ => side.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("->")
        })
        .collect::<Vec<_>>()
        .join(", ");
    mask(&format!(
        "created, not started: {:?}\nport:\n{}\nps: {ps}",
        created,
        lines.join("\n")
    ))
}
