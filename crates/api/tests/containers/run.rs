//! `docker run` attached: output, exit codes and the options a container is created with.

use crate::{assert_no_leaks, env, inspect, poll, run, show, stderr, stdout};

#[test]
fn cli_run_output_exit_codes_and_options_needs_docker() {
    let d = env();

    let o = run(&d, &["busybox", "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "err\n");

    let o = run(&d, &["busybox", "sh", "-c", "echo x; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert_eq!(stdout(&o), "x\n");

    // A missing binary: docker's 127 and the runtime's wording.
    let o = run(&d, &["busybox", "nope-not-here"]);
    assert_eq!(o.status.code(), Some(127), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        // (docker 20.10 logs "error waiting for container: context canceled" first, as
        // against dockerd.)
        err.contains("docker: Error response from daemon:")
            && err.contains(r#"exec: "nope-not-here": executable file not found in $PATH"#),
        "{err}"
    );

    let o = run(&d, &["-u", "nobody", "busybox", "id"]);
    assert!(stdout(&o).starts_with("uid=65534"), "{}", show(&o));
    let o = run(&d, &["-u", "nobody", "busybox", "id", "-u"]);
    assert_eq!(stdout(&o), "65534\n", "{}", show(&o));

    let o = run(&d, &["-w", "/tmp", "busybox", "pwd"]);
    assert_eq!(stdout(&o), "/tmp\n", "{}", show(&o));

    let envfile = d.dir.path().join("env.list");
    std::fs::write(&envfile, "# a comment\nFROM_FILE=yes\n\nSECOND=2 3\n").unwrap();
    let o = run(
        &d,
        &[
            "-e",
            "FOO=bar",
            "--env-file",
            envfile.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            "echo $FOO/$FROM_FILE/$SECOND/$PATH",
        ],
    );
    assert_eq!(
        stdout(&o),
        "bar/yes/2 3/\
         /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
        "{}",
        show(&o)
    );

    let o = run(&d, &["--entrypoint", "/bin/echo", "busybox", "hi", "there"]);
    assert_eq!(stdout(&o), "hi there\n", "{}", show(&o));

    let o = run(&d, &["--hostname", "boxy", "busybox", "hostname"]);
    assert_eq!(stdout(&o), "boxy\n", "{}", show(&o));

    // --label in inspect; --name twice: 409 and docker's message.
    let id = d
        .docker_ok(&[
            "create",
            "--network",
            "none",
            "--pull",
            "never",
            "--name",
            "named",
            "--label",
            "com.example.a=b",
            "--label",
            "flag",
            "busybox",
            "true",
        ])
        .trim()
        .to_string();
    let c = inspect(&d, "named");
    assert_eq!(c["Id"], id);
    assert_eq!(c["Name"], "/named");
    assert_eq!(c["Config"]["Labels"]["com.example.a"], "b");
    assert_eq!(c["Config"]["Labels"]["flag"], "");
    assert_eq!(c["State"]["Status"], "created");
    let o = d.docker(&[
        "run",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "named",
        "busybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", show(&o));
    assert!(
        stderr(&o).contains(&format!(
            "Conflict. The container name \"/named\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
        )),
        "{}",
        show(&o)
    );
    let r = d.http(
        "POST",
        "/containers/create?name=named",
        br#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // --rm also when the container exits on its own (detached).
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--rm",
            "--network",
            "none",
            "--pull",
            "never",
            "busybox",
            "sh",
            "-c",
            "sleep 0.2",
        ])
        .trim()
        .to_string();
    poll(&d, "--rm container to go", 15, || {
        let o = d.docker(&["inspect", "--type", "container", &id]);
        (!o.status.success()).then_some(())
    });
    let o = d.docker(&["inspect", "--type", "container", &id]);
    assert!(
        stderr(&o).contains(&format!("No such container: {id}")),
        "{}",
        show(&o)
    );

    d.docker_ok(&["rm", "named"]);
    assert_no_leaks(&d, &[id]);
}
