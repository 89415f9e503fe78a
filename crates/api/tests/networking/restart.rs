//! muelled only: after SIGKILL of the daemon and a restart (in the same network namespace,
//! as on one host), a published port and the names on a user network still work, for the
//! containers that lived through it and for a new one; once the containers and the network
//! are gone no veth, rule for the port nor container namespace mount is left, and once the daemon stopped no
//! nft table either.

use muelle_test_support::{netns, registry::next_port};

use crate::side::{Side, GET};
use crate::support::mounts_under;

/// The host ends of endpoints (muelled names them `mveth…`) left in the daemon's namespace.
/// A stopped container's veths go with its namespace, which the kernel tears down
/// asynchronously: they are waited for (bounded) before being counted as leaked.
fn veths(s: &Side) -> Vec<String> {
    let list = || -> Vec<String> {
        netns::links(s.netns().expect("muelled"))
            .into_iter()
            .filter(|l| l.starts_with("mveth") || l.starts_with("veth"))
            .collect()
    };
    for _ in 0..50 {
        if list().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    list()
}

#[test]
fn kill9_and_restart_keep_ports_and_names_and_leak_nothing_needs_docker() {
    let mut s = Side::muelled();
    let n = s.network(&[]);
    let p = next_port();
    let web = s.web(&[
        "--network",
        &n,
        "--network-alias",
        "web",
        "-p",
        &format!("127.0.0.1:{p}:80"),
    ]);
    let cl = s.run_d("cl", &["--network", &n], "exec sleep 600");
    let fetch = |s: &Side| {
        s.ok(&[
            "exec",
            &cl,
            "sh",
            "-c",
            &format!("{GET} get web 80 40; get {web} 80 5"),
        ])
    };
    assert_eq!(s.host_get(p).as_deref(), Some("hello\n"), "{}", s.log());
    assert_eq!(fetch(&s), "hello\nhello\n");

    s.d.as_mut().expect("muelled").kill9();
    s.d.as_mut().expect("muelled").respawn();

    assert_eq!(
        s.host_get(p).as_deref(),
        Some("hello\n"),
        "published port after the restart\n{}",
        s.log()
    );
    assert_eq!(fetch(&s), "hello\nhello\n", "names after the restart");
    let fresh = s.run(&["--network", &n], &format!("{GET} get web 80 40"));
    assert_eq!(
        fresh.out, "hello\n",
        "a new container after the restart: {fresh:?}"
    );

    let live: Vec<String> = netns::links(s.netns().expect("muelled"))
        .into_iter()
        .filter(|l| l.starts_with("mveth"))
        .collect();
    assert!(live.len() >= 2, "the running containers' veths: {live:?}");
    s.ok(&["rm", "-f", &web, &cl]);
    s.ok(&["network", "rm", &n]);
    assert_eq!(veths(&s), Vec::<String>::new(), "veths left\n{}", s.log());
    let rules = netns::nft_ruleset(s.netns().expect("muelled"));
    assert!(
        !rules.contains(&p.to_string()),
        "a rule for port {p} is left:\n{rules}"
    );
    let d = s.d.as_mut().expect("muelled");
    let root = d.dir.path().to_string_lossy().into_owned();
    let ns_mounts: Vec<String> = mounts_under(&root)
        .into_iter()
        // The netns directory itself stays a (private) mount while the daemon runs; what
        // must not stay is a namespace bound in it.
        .filter(|m| m.contains("/netns/") || m.contains("/ns/"))
        .collect();
    assert_eq!(ns_mounts, Vec::<String>::new(), "namespace mounts left");
    assert!(d.stop(), "muelled did not stop cleanly:\n{}", d.log());
    let tables = netns::nft_tables(d.netns());
    assert_eq!(
        tables,
        Vec::<String>::new(),
        "nft tables left after the stop"
    );
    assert_eq!(veths(&s), Vec::<String>::new(), "veths left after the stop");
}
