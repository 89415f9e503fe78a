//! The run/create flags that end in the container's /etc files (`--add-host`, `--dns`,
//! `--dns-search`, `--dns-option`), in its network endpoint (`--ip`, `--ip6`, `--link`,
//! `--network-alias`, `--mac-address`, `-P`, `--link-local-ip`), or that the CLI acts on
//! itself (`--cidfile`, `--label-file`, `--annotation`, `--disable-content-trust`): the same
//! files and answers from dockerd and muelled, through muelle and the docker CLI. Where
//! dockerd would use its default bridge, muelled refuses and says bridge networking is not
//! available yet.

use std::process::Command;

use super::*;

const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

fn cli_at(bin: &str, d: &Daemon, args: &[&str]) -> std::process::Output {
    run(Command::new(bin).args(["-H", &d.host]).args(args))
}

/// The address on the `gw` line replaced: dockerd's bridge gateway, the host's address on
/// muelled.
fn without_gateway(s: &str) -> String {
    s.lines()
        .map(|l| match l.split_once('\t') {
            Some((_, "gw")) => "GW\tgw".to_owned(),
            _ => l.to_owned(),
        })
        .map(|l| l + "\n")
        .collect()
}

pub(crate) fn etc_files_from_flags(d: &Daemon) {
    let flags = [
        "--add-host",
        "db:10.1.2.3",
        "--add-host",
        "gw:host-gateway",
        "--add-host",
        "v6:::1",
        "--dns",
        "9.9.9.9",
        "--dns",
        "1.1.1.1",
        "--dns-search",
        "example.com",
        "--dns-search",
        "b.org",
        "--dns-option",
        "ndots:2",
        "--dns-option",
        "rotate",
    ];
    let want = format!(
        "{DEFAULT_HOSTS}10.1.2.3\tdb\nGW\tgw\n::1\tv6\n---\nsearch example.com b.org\n\
         nameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:2 rotate\n"
    );
    for net in ["--network=none", "--network=host"] {
        for bin in [MUELLE, DOCKER] {
            let mut args = vec!["run", "--rm", net];
            args.extend(flags);
            args.extend([
                "busybox",
                "sh",
                "-c",
                "cat /etc/hosts; echo ---; cat /etc/resolv.conf",
            ]);
            let out = ok(cli_at(bin, d, &args), &format!("{bin} {net}"));
            assert_eq!(without_gateway(&out), want, "{bin} {net}");
        }
    }
    // Only --dns: the host file's search and options stay (none here), its servers go.
    let host_rc = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let keep: String = host_rc
        .lines()
        .filter(|l| l.starts_with("search ") || l.starts_with("options "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    let out = ok(
        muelle(
            d,
            &[
                "run",
                "--rm",
                NONET,
                "--dns",
                "9.9.9.9",
                "busybox",
                "cat",
                "/etc/resolv.conf",
            ],
        ),
        "--dns only",
    );
    let search = keep
        .lines()
        .find(|l| l.starts_with("search"))
        .map(|l| format!("{l}\n"));
    let options = keep
        .lines()
        .find(|l| l.starts_with("options"))
        .map(|l| format!("{l}\n"));
    assert_eq!(
        out,
        format!(
            "{}nameserver 9.9.9.9\n{}",
            search.unwrap_or_default(),
            options.unwrap_or_default()
        )
    );
    // An unknown host IP is the CLI's usage error.
    let bad = muelle(
        d,
        &[
            "run",
            "--rm",
            NONET,
            "--add-host",
            "db:x",
            "busybox",
            "true",
        ],
    );
    assert_eq!(bad.status.code(), Some(125));
    assert!(text(&bad.stderr).starts_with(
        "invalid argument \"db:x\" for \"--add-host\" flag: invalid IP address in add-host: \"x\""
    ));
}

/// Runs `muelle run --rm FLAGS busybox true`; (exit status, stderr).
fn try_run(d: &Daemon, flags: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["run", "--rm"];
    args.extend(flags);
    args.extend(["busybox", "true"]);
    let out = muelle(d, &args);
    (out.status.code(), text(&out.stderr))
}

pub(crate) fn network_flags_answered_as_dockerd(d: &Daemon) {
    let target = format!("muelletest-link-{}", muelle_test_support::proc::unique());
    let _rm = Removal::new(d, &target);
    ok(
        docker(d, &["create", NONET, "--name", &target, "busybox", "true"]),
        "link target",
    );
    let link = format!("{target}:alias");
    let refused: &[(&[&str], &str)] = &[
        (
            &["--ip", "172.17.0.50"],
            "user specified IP address is supported on user defined networks only",
        ),
        (
            &[NONET, "--ip", "10.0.0.5"],
            "user specified IP address is supported on user defined networks only",
        ),
        (
            &[NONET, "--ip6", "fd00::5"],
            "user specified IP address is supported on user defined networks only",
        ),
        (&[NONET, "--ip", "notip"], "invalid IPv4 address: notip"),
        (
            &[NONET, "--ip6", "1.2.3.4"],
            "invalid IPv6 address: 1.2.3.4",
        ),
        (
            &["--network-alias", "foo"],
            "network-scoped aliases are only supported for user-defined networks",
        ),
        (
            &[NONET, "--link", "nope:alias"],
            "could not get container for nope: No such container: nope",
        ),
        (
            &["--network=host", "--link", &link],
            "conflicting options: host type networking can't be used with links",
        ),
        (
            &[NONET, "--mac-address", "zz"],
            "zz is not a valid mac address",
        ),
    ];
    for (flags, message) in refused {
        let (code, err) = try_run(d, flags);
        assert_eq!(code, Some(125), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
    }
    // Accepted by dockerd on these networks, and by muelled alike.
    for flags in [
        &[NONET, "-P", "--expose", "80"][..],
        &[NONET, "--link-local-ip", "169.254.1.1"],
        &[NONET, "--link", &link],
        &["--network=host", "-P", "--expose", "80"],
    ] {
        let (code, err) = try_run(d, flags);
        assert_eq!(code, Some(0), "{flags:?}: {err}");
    }
    if shared(d) {
        let (code, err) = try_run(d, &[NONET, "--mac-address", "02:42:ac:11:00:99"]);
        assert_eq!(code, Some(125), "{err}");
        assert!(
            err.contains("\"specify mac-address per network\" requires API version 1.44"),
            "{err}"
        );
        return;
    }
    // On its default bridge muelled honours what dockerd 28 honours there; a MAC address on
    // `none` is refused by API 1.44+ daemons (the docker CLI 28 refuses it itself for
    // dockerd 20.10, which ignores it).
    for flags in [
        &["--link-local-ip", "169.254.1.1"][..],
        &["--mac-address", "02:42:ac:11:00:99"],
        &["-P", "--expose", "80"],
    ] {
        let (code, err) = try_run(d, flags);
        assert_eq!(code, Some(0), "{flags:?}: {err}");
    }
    for (flags, message) in [
        (&["--link", &link][..], "Cannot link to /"),
        (
            &[NONET, "--mac-address", "02:42:ac:11:00:99"],
            "conflicting options: mac-address and the network mode",
        ),
    ] {
        let (code, err) = try_run(d, flags);
        assert_eq!(code, Some(125), "{flags:?}: {err}");
        assert!(err.contains(message), "{flags:?}: {err}");
    }
}

pub(crate) fn client_side_flags(d: &Daemon) {
    let dir = tempfile::tempdir().unwrap();
    let cid = dir.path().join("cid");
    let cid_s = cid.to_str().unwrap();
    let name = format!("muelletest-cid-{}", muelle_test_support::proc::unique());
    let _rm = Removal::new(d, &name);
    let id = ok(
        muelle(
            d,
            &[
                "create",
                NONET,
                "--name",
                &name,
                "--cidfile",
                cid_s,
                "busybox",
                "true",
            ],
        ),
        "create --cidfile",
    );
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    for bin in [MUELLE, DOCKER] {
        let out = cli_at(
            bin,
            d,
            &["create", NONET, "--cidfile", cid_s, "busybox", "true"],
        );
        assert!(!out.status.success(), "{bin}");
        assert!(
            text(&out.stderr).contains(&format!(
                "container ID file found, make sure the other container isn't running or delete {cid_s}"
            )),
            "{bin}: {}",
            text(&out.stderr)
        );
    }
    // A failed create leaves no file.
    let cid2 = dir.path().join("cid2");
    let out = muelle(
        d,
        &[
            "create",
            NONET,
            "--cidfile",
            cid2.to_str().unwrap(),
            "--ip",
            "x",
            "busybox",
        ],
    );
    assert!(!out.status.success());
    assert!(!cid2.exists());

    let labels = dir.path().join("labels");
    std::fs::write(&labels, "# labels\na=1\nb=2\n\nflag\n").unwrap();
    for bin in [MUELLE, DOCKER] {
        let n = format!("muelletest-lf-{}", muelle_test_support::proc::unique());
        let _rm = Removal::new(d, &n);
        let args = [
            "create",
            NONET,
            "--name",
            &n,
            "--label-file",
            labels.to_str().unwrap(),
            "--label",
            "b=3",
            "busybox",
            "true",
        ];
        ok(cli_at(bin, d, &args), &format!("{bin} --label-file"));
        let got = ok(
            docker(d, &["inspect", "-f", "{{json .Config.Labels}}", &n]),
            "inspect",
        );
        assert_eq!(got.trim(), r#"{"a":"1","b":"3"}"#, "{bin}");
    }
    for bin in [MUELLE, DOCKER] {
        ok(
            cli_at(
                bin,
                d,
                &[
                    "run",
                    "--rm",
                    NONET,
                    "--disable-content-trust",
                    "busybox",
                    "true",
                ],
            ),
            &format!("{bin} --disable-content-trust"),
        );
    }
}

/// muelled only: dockerd 20.10 has neither annotations (API 1.43) nor docker 25's
/// `name=ip` form of `--add-host`.
#[test]
fn annotations_and_add_host_equals_form_needs_docker() {
    require_docker28();
    let d = muelled();
    let name = format!("muelletest-ann-{}", muelle_test_support::proc::unique());
    let _rm = Removal::new(&d, &name);
    let id = ok(
        muelle(
            &d,
            &[
                "run",
                "-d",
                NONET,
                "--name",
                &name,
                "--annotation",
                "com.example.k=v",
                "--add-host",
                "db=10.0.0.2",
                "--add-host",
                "v6=[::1]",
                "busybox",
                "sleep",
                "60",
            ],
        ),
        "run --annotation",
    );
    let got = ok(
        docker(
            &d,
            &["inspect", "-f", "{{json .HostConfig.Annotations}}", &name],
        ),
        "inspect",
    );
    assert_eq!(got.trim(), r#"{"com.example.k":"v"}"#);
    // The OCI runtime gets them: the bundle's config.json under the daemon's exec root.
    let rel = format!("containers/{}/config.json", id.trim());
    let spec = std::fs::read_dir("/run")
        .unwrap()
        .flatten()
        .map(|e| e.path().join(&rel))
        .find(|p| p.exists());
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spec.expect("the bundle's config.json")).unwrap())
            .unwrap();
    assert_eq!(spec["annotations"]["com.example.k"], "v");
    let hosts = ok(docker(&d, &["exec", &name, "cat", "/etc/hosts"]), "hosts");
    assert!(hosts.ends_with("10.0.0.2\tdb\n::1\tv6\n"), "{hosts}");
    let out = run(Command::new(DOCKER28).args([
        "-H",
        &d.host,
        "run",
        "--rm",
        NONET,
        "--add-host",
        "x=10.9.9.9",
        "busybox",
        "cat",
        "/etc/hosts",
    ]));
    assert!(ok(out, "docker 28 --add-host x=ip").ends_with("10.9.9.9\tx\n"));
}
