//! `inspect` and `container inspect` of containers.

use super::*;

pub(crate) fn inspect_containers(d: &Daemon) {
    let mut names = Names::new(d);
    let n = names.make("insp");
    ok(
        muelle(
            d,
            &[
                "create", "--name", &n, NONET, "-e", "X=<&>", "-l", "k=v", "busybox", "true",
            ],
        ),
        "create",
    );
    for args in [
        &["inspect", n.as_str()][..],
        &["container", "inspect", &n],
        &["inspect", "--type", "container", &n],
        &[
            "inspect",
            "-f",
            "{{.Name}} {{.Config.Image}} {{json .Config.Env}}",
            &n,
        ],
        &[
            "inspect",
            "-f",
            "{{.Config.Labels.k}} {{.HostConfig.NetworkMode}}",
            &n,
        ],
        &["inspect", "-f", "{{.Id}}", &n, "busybox"],
    ] {
        let (m, k) = both_ok(d, args);
        assert_eq!(m, k, "{args:?}");
    }
    let (m, k) = both(d, &["inspect", "--type", "image", &n]);
    assert_eq!((m.status.code(), k.status.code()), (Some(1), Some(1)));
}
