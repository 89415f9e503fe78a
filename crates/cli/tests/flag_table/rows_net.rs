//! Rows for networking flags: each is honoured on the network it is given for, or answered
//! as dockerd answers it where the container's network cannot take it (an alias or static
//! address on a built-in network, a MAC address on the host's). What they do across
//! containers (names, published ports reached, links) is crates/api/tests/networking.

use crate::Dockerd::*;
use crate::Row;
use crate::Verdict::*;

/// What dockerd answers for a static address on a built-in network.
const USER_NET_ONLY: &str = "user specified IP address is supported on user defined networks only";

pub const ROWS: &[Row] = &[
    Row {
        flag: "--network",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--network", "none"],
                &["sh", "-c", "ls /sys/class/net"],
                "lo\n",
            )?;
            // The daemon's host namespace: a private muelled runs in one of its own.
            let host = format!("{}\n", r.d.netns_link());
            r.expect(
                &["--network", "host"],
                &["readlink", "/proc/self/ns/net"],
                &host,
            )
        },
    },
    Row {
        flag: "--add-host",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--add-host", "foo:10.1.1.1"],
                &["grep", "foo", "/etc/hosts"],
                "10.1.1.1\tfoo\n",
            )
        },
    },
    Row {
        flag: "--dns",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--dns", "10.0.0.1"],
                &["grep", "nameserver", "/etc/resolv.conf"],
                "nameserver 10.0.0.1\n",
            )
        },
    },
    Row {
        flag: "--dns-search",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--dns", "10.0.0.1", "--dns-search", "ex.org"],
                &["grep", "search", "/etc/resolv.conf"],
                "search ex.org\n",
            )
        },
    },
    Row {
        flag: "--dns-option",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            r.expect(
                &["--dns", "10.0.0.1", "--dns-option", "ndots:2"],
                &["grep", "options", "/etc/resolv.conf"],
                "options ndots:2\n",
            )
        },
    },
    Row {
        flag: "--ip",
        verdict: Refused(USER_NET_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--ip", "10.1.2.3"], USER_NET_ONLY),
    },
    Row {
        flag: "--ip6",
        verdict: Refused(USER_NET_ONLY),
        dockerd: Same,
        check: |r| r.refused(&["--ip6", "fd00::3"], USER_NET_ONLY),
    },
    Row {
        flag: "--network-alias",
        verdict: Refused("network-scoped aliases are only supported for user-defined networks"),
        dockerd: Same,
        check: |r| {
            r.refused(
                &["--network-alias", "x"],
                "network-scoped aliases are only supported for user-defined networks",
            )
        },
    },
    Row {
        flag: "--link",
        verdict: Refused("could not get container for ft-nosuch"),
        dockerd: Same,
        check: |r| r.refused(&["--link", "ft-nosuch:alias"], "ft-nosuch"),
    },
    Row {
        flag: "--link-local-ip",
        verdict: Works,
        dockerd: Same,
        check: |r| r.expect(&["--link-local-ip", "169.254.1.1"], &["echo", "ok"], "ok\n"),
    },
    Row {
        flag: "--mac-address",
        verdict: Works,
        dockerd: Differs("API 1.44: dockerd 20.10 speaks 1.41 and the docker CLI refuses the flag"),
        check: |r| {
            r.expect(
                &["--network", "bridge", "--mac-address", "92:d0:c6:0a:29:33"],
                &["cat", "/sys/class/net/eth0/address"],
                "92:d0:c6:0a:29:33\n",
            )?;
            r.refused(
                &["--network", "host", "--mac-address", "92:d0:c6:0a:29:33"],
                "conflicting options: mac-address and the network mode",
            )
        },
    },
    Row {
        flag: "--publish",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("pub");
            r.create(&n, &["-p", "127.0.0.1:18080:80"])?;
            r.inspect(
                &n,
                "{{json .HostConfig.PortBindings}}",
                "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18080\"}]}",
            )?;
            // Published while it runs (an ephemeral host port, so runs at once never
            // collide); crates/api/tests/networking fetches through published ports.
            let p = r.name("pubrun");
            r.out(
                &[
                    "-d",
                    "--name",
                    &p,
                    "--network",
                    "bridge",
                    "-p",
                    "127.0.0.1::80",
                ],
                &["sleep", "60"],
            )?;
            let shown = r.ok(&["port", &p, "80"]);
            r.ok(&["rm", "-f", &p])?;
            let shown = shown?;
            if shown.starts_with("127.0.0.1:") && shown.trim().len() > "127.0.0.1:".len() {
                Ok(())
            } else {
                Err(format!("port {p} 80: {shown:?}, wanted 127.0.0.1:<port>"))
            }
        },
    },
    Row {
        flag: "--publish-all",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("puball");
            r.create(&n, &["-P", "--expose", "80"])?;
            r.inspect(&n, "{{.HostConfig.PublishAllPorts}}", "true")
        },
    },
    Row {
        flag: "--expose",
        verdict: Works,
        dockerd: Same,
        check: |r| {
            let n = r.name("expose");
            r.create(&n, &["--expose", "8080"])?;
            r.inspect(&n, "{{json .Config.ExposedPorts}}", "{\"8080/tcp\":{}}")
        },
    },
];
