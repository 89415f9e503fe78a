//! Operations racing on one container (start, stop, kill, rm -f, restart, pause, unpause at
//! once, 20 rounds): each answers as dockerd would (success, 304, 404 or 409, never 500),
//! and a removed container leaves nothing behind: no directory, mount or supervisor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{daemon_with_busybox, kill_shims_and_unmount, mounts_under, shims_under};

#[test]
fn racing_operations_on_one_container_answer_cleanly_needs_docker() {
    let d = daemon_with_busybox();
    let ops: &[(&str, &str)] = &[
        ("POST", "start"),
        ("POST", "stop?t=1"),
        ("POST", "kill"),
        ("DELETE", "?force=1"),
        ("POST", "restart?t=1"),
        ("POST", "pause"),
        ("POST", "unpause"),
        ("POST", "start"),
        ("POST", "restart?t=0"),
    ];
    let mut bad = Vec::new();
    for round in 0..20 {
        let name = format!("race-{round}");
        d.docker_ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            &name,
            "busybox",
            "sleep",
            "300",
        ]);
        // Each round starts the operations in another order.
        let mut order: Vec<usize> = (0..ops.len()).collect();
        order.rotate_left(round % ops.len());
        let results: Vec<(String, u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = order
                .iter()
                .map(|&i| {
                    let (method, op) = ops[i];
                    let d = &d;
                    let name = &name;
                    s.spawn(move || {
                        let path = if op.starts_with('?') {
                            format!("/containers/{name}{op}")
                        } else {
                            format!("/containers/{name}/{op}")
                        };
                        let r = d.http(method, &path, b"");
                        (format!("{method} {path}"), r.status, r.text())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (what, status, body) in results {
            if ![200, 204, 304, 404, 409].contains(&status) {
                bad.push(format!("round {round}: {what} -> {status} {body}"));
            }
        }
        // Whatever state the round left, the container can be removed, and then nothing of
        // it remains.
        let r = d.http("DELETE", &format!("/containers/{name}?force=1"), b"");
        assert!(
            [204, 404].contains(&r.status),
            "round {round}: rm -f -> {} {}",
            r.status,
            r.text()
        );
    }
    let leftovers: Vec<String> = ["containers"]
        .iter()
        .flat_map(|sub| {
            [d.exec_root.join(sub), d.data_root.join(sub)]
                .into_iter()
                .flat_map(|dir| {
                    std::fs::read_dir(&dir)
                        .map(|rd| {
                            rd.flatten()
                                .map(|e| e.path().display().to_string())
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default()
                })
        })
        .collect();
    let root = d.dir.path().display().to_string();
    let mounts = mounts_under(&root);
    let shims = shims_under(&root);
    kill_shims_and_unmount(&d);
    assert!(
        bad.is_empty(),
        "answers dockerd would not give:\n{}",
        bad.join("\n")
    );
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    assert!(shims.is_empty(), "supervisors left: {shims:?}");
}
