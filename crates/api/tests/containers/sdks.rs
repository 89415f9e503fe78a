//! The container routes as the Docker SDKs drive them: docker-py and bollard.

use std::process::Command;

use crate::support;
use crate::{assert_no_leaks, env, show, stdout};

// docker-py.

const PY_CONTAINERS: &str = r#"
import sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1], version="auto")

# Attached, not detached: the output comes back as bytes.
out = c.containers.run("busybox", ["sh", "-c", "echo hello-py"], network_mode="none",
                       remove=True, stdout=True, stderr=False)
assert out == b"hello-py\n", out
try:
    c.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"], network_mode="none",
                     remove=True)
    raise SystemExit("no ContainerError")
except docker.errors.ContainerError as e:
    assert e.exit_status == 2, e.exit_status
    assert b"bad" in e.stderr, e.stderr

ctr = c.containers.run("busybox", ["sh", "-c", "echo started; trap 'exit 0' TERM; "
                       "while true; do sleep 0.1; done"], detach=True, network_mode="none",
                       name="pyctr", labels={"py": "yes"})
ctr.reload()
assert ctr.status == "running", ctr.status
assert ctr.name == "pyctr" and ctr.labels == {"py": "yes"}
assert [x.id for x in c.containers.list(filters={"label": "py=yes"})] == [ctr.id]

import time
deadline = time.time() + 10
while b"started" not in ctr.logs():
    assert time.time() < deadline, ctr.logs()
    time.sleep(0.05)
assert ctr.logs(stdout=True, stderr=False) == b"started\n"

r = ctr.exec_run(["sh", "-c", "echo $X; id -u; exit 3"], environment={"X": "ex"}, user="nobody")
assert r.exit_code == 3, r
assert r.output == b"ex\n65534\n", r.output
r = ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
assert r.output == (b"o\n", b"e\n"), r.output

ctr.stop(timeout=10)
res = ctr.wait(timeout=10)
assert res["StatusCode"] == 0, res
ctr.reload()
assert ctr.status == "exited"
assert ctr.attrs["State"]["ExitCode"] == 0

short = c.containers.run("busybox", ["sh", "-c", "exit 9"], detach=True, network_mode="none")
assert short.wait(timeout=10)["StatusCode"] == 9
short.remove()
ctr.remove()
try:
    c.containers.get("pyctr")
    raise SystemExit("still there")
except docker.errors.NotFound as e:
    assert "No such container: pyctr" in str(e), str(e)
assert c.containers.list(all=True) == []
print("docker-py containers OK")
"#;

#[test]
fn docker_py_containers_needs_docker_dockerpy() {
    support::require_docker_py();
    let d = env();
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(PY_CONTAINERS)
        .arg(&d.socket)
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert!(
        out.status.success() && stdout(&out).contains("docker-py containers OK"),
        "docker-py script failed:\n{}\nmuelled log:\n{}",
        show(&out),
        d.log()
    );
    assert_no_leaks(&d, &[]);
}

// bollard.

#[tokio::test(flavor = "multi_thread")]
async fn bollard_containers_needs_docker() {
    use bollard::container::LogOutput;
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::{
        CreateContainerOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
    };
    use futures_util::{StreamExt, TryStreamExt};

    let d = env();
    let docker = bollard::Docker::connect_with_unix(
        d.socket.to_str().unwrap(),
        120,
        &bollard::ClientVersion {
            major_version: 1,
            minor_version: 47,
        },
    )
    .unwrap();

    let body = |cmd: &[&str]| ContainerCreateBody {
        image: Some("busybox".into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some("bol".into()),
                ..Default::default()
            }),
            body(&[
                "sh",
                "-c",
                "echo one; echo two >&2; sleep 0.3; echo three; exit 4",
            ]),
        )
        .await
        .unwrap();
    assert_eq!(created.id.len(), 64);
    assert!(created.warnings.is_empty());
    docker
        .start_container(
            "bol",
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();

    // A followed log stream ends when the container exits.
    let logs: Vec<LogOutput> = docker
        .logs(
            "bol",
            Some(LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    let mut out = String::new();
    let mut err = String::new();
    for l in &logs {
        match l {
            LogOutput::StdOut { message } => out.push_str(&String::from_utf8_lossy(message)),
            LogOutput::StdErr { message } => err.push_str(&String::from_utf8_lossy(message)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(out, "one\nthree\n");
    assert_eq!(err, "two\n");

    // wait reports the exit code as an error carrying it (bollard's convention for != 0).
    let waited: Vec<_> = docker
        .wait_container("bol", None::<WaitContainerOptions>)
        .collect()
        .await;
    match &waited[..] {
        [Err(bollard::errors::Error::DockerContainerWaitError { code, .. })] => {
            assert_eq!(*code, 4)
        }
        other => panic!("{other:?}"),
    }
    let info = docker
        .inspect_container(
            "bol",
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let st = info.state.unwrap();
    assert_eq!(st.exit_code, Some(4));
    assert_eq!(st.running, Some(false));

    // exec with output, in a running container.
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some("bol2".into()),
                ..Default::default()
            }),
            body(&["sleep", "600"]),
        )
        .await
        .unwrap();
    docker
        .start_container(
            "bol2",
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap();
    let exec = docker
        .create_exec(
            "bol2",
            CreateExecOptions {
                cmd: Some(vec!["sh", "-c", "echo ex-out; echo ex-err >&2; exit 2"]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.unwrap()
    else {
        panic!("detached")
    };
    let mut got = Vec::new();
    while let Some(m) = output.next().await {
        got.push(m.unwrap());
    }
    assert!(
        got.iter()
            .any(|m| matches!(m, LogOutput::StdOut { message } if message.as_ref() == b"ex-out\n")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|m| matches!(m, LogOutput::StdErr { message } if message.as_ref() == b"ex-err\n")),
        "{got:?}"
    );
    let ei = docker.inspect_exec(&exec.id).await.unwrap();
    assert_eq!(ei.exit_code, Some(2));
    assert_eq!(ei.running, Some(false));

    for name in ["bol", "bol2"] {
        docker
            .remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
    }
    match docker
        .inspect_container(
            "bol",
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        }) => {
            assert_eq!(status_code, 404);
            assert_eq!(message, "No such container: bol");
        }
        other => panic!("{other:?}"),
    }
    assert_no_leaks(&d, &[created.id]);
}
