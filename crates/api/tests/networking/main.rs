//! Networking end to end, each scenario against a private muelled (in a network namespace of
//! its own: its bridges, nft tables and published ports are invisible to the host and to the
//! other tests) and against the shared dockerd, with the stock docker CLI and docker-py:
//! containers reaching each other by name on user-defined networks and not across them,
//! `network connect`, published ports, `--internal`, refusals and what they leave, the
//! name files, links and DNS flags. Traffic goes only to 127.0.0.1 and to containers the test
//! made; `--pull=never` everywhere.
//!
//! For each scenario, `SCENARIO::on_dockerd_needs_dockerd` runs it on dockerd alone (what it
//! asserts holds there: the scenario itself is right), and `SCENARIO::
//! muelled_as_dockerd_needs_dockerd` runs it on both and compares what each saw (masked).
//! restart.rs is muelled's alone (a daemon restart of the shared dockerd is not ours).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod dockerpy;
mod errors;
mod files;
mod inspect;
mod ipv6;
mod reach;
mod restart;
mod side;

macro_rules! compared {
    ($($m:ident :: $s:ident),* $(,)?) => {
        $(
            mod $s {
                use crate::side::Side;

                #[test]
                fn on_dockerd_needs_dockerd() {
                    let seen = crate::$m::$s(&Side::dockerd());
                    println!("{seen}");
                }

                #[test]
                fn muelled_as_dockerd_needs_dockerd() {
                    let want = crate::$m::$s(&Side::dockerd());
                    let ours = Side::muelled();
                    let got = crate::$m::$s(&ours);
                    assert_eq!(
                        got, want,
                        "muelled (left) vs dockerd (right)\nmuelled log:\n{}",
                        ours.log()
                    );
                }
            }
        )*
    };
}

compared! {
    reach::by_name_isolation_and_connect,
    reach::published_ports,
    reach::internal_has_no_way_out,
    errors::network_rm_in_use_is_refused,
    errors::bad_input_is_refused_leaving_nothing,
    files::files_on_a_user_network,
    files::files_on_the_default_bridge,
    files::publish_all_exposed,
    inspect::cli_network_inspect,
}

/// docker-py's scenario, as [`compared!`] makes them, under names that say it needs docker-py.
mod dockerpy_networks_and_ports {
    use crate::side::Side;

    #[test]
    fn on_dockerd_needs_dockerd_dockerpy() {
        let seen = crate::dockerpy::dockerpy_networks_and_ports(&Side::dockerd());
        println!("{seen}");
    }

    #[test]
    fn muelled_as_dockerd_needs_dockerd_dockerpy() {
        let want = crate::dockerpy::dockerpy_networks_and_ports(&Side::dockerd());
        let ours = Side::muelled();
        let got = crate::dockerpy::dockerpy_networks_and_ports(&ours);
        assert_eq!(
            got,
            want,
            "muelled (left) vs dockerd (right)\nmuelled log:\n{}",
            ours.log()
        );
    }
}

/// The namespace fixture itself: a `--network host` container of muelled shares the
/// daemon's namespace, not the test's.
#[test]
fn host_network_is_the_daemons_namespace_needs_docker() {
    let s = side::Side::muelled();
    let ns = s.netns().expect("muelled").to_owned();
    let want = muelle_test_support::netns::in_netns(&ns, "readlink")
        .arg("/proc/self/ns/net")
        .output()
        .expect("readlink");
    let got = s.run(&["--network", "host"], "readlink /proc/self/ns/net");
    assert_eq!(got.out, String::from_utf8_lossy(&want.stdout), "{got:?}");
    let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(
        got.out.trim(),
        mine.to_string_lossy(),
        "the test's own namespace"
    );
}
