//! The clients no one here wrote, building through the daemon: docker-py's
//! `client.images.build(path=..., tag=...)` and docker-compose 1.29's `build:` service.
//! Each prints what it saw (the steps the stream announced, the image's Cmd and Env, what
//! the image prints when run), the same on dockerd and muelled.

use std::process::Command;

use crate::corpus::own_cache_context;
use crate::side::Side;
use crate::support::both::unique;
use crate::support::require_docker_py;
use muelle_test_support::proc::run_cmd;

const PY: &str = r#"
import json, sys, docker
host, path, tag = sys.argv[1], sys.argv[2], sys.argv[3]
c = docker.DockerClient(base_url=host, version="auto")
image, logs = c.images.build(path=path, tag=tag, rm=True, buildargs={"FLAVOUR": "py"})
steps = [l["stream"].strip() for l in logs if "stream" in l and l["stream"].startswith("Step ")]
cfg = image.attrs["Config"]
out = c.containers.run(tag, remove=True, network_mode="none").decode()
print(json.dumps({"steps": steps, "tags": image.tags, "cmd": cfg["Cmd"], "env": cfg["Env"],
                  "ran": out}, indent=1))
c.images.remove(tag)
"#;

pub fn dockerpy_build(side: &Side) -> String {
    require_docker_py();
    let (ctx, token) = own_cache_context();
    let tag = side.tag("dockerpy");
    let mut c = Command::new("/usr/bin/python3");
    c.args(["-c", PY, &side.host()])
        .arg(ctx.path())
        .arg(&tag)
        .env_remove("DOCKER_HOST");
    let o = run_cmd(c, std::time::Duration::from_secs(300));
    assert_eq!(
        o.code,
        0,
        "{}: docker-py: {o:#?}\n{}",
        side.what(),
        side.log()
    );
    o.stdout.replace(&tag, "<tag>").replace(&token, "<stage>")
}

const COMPOSE_FILE: &str = r#"version: "2.4"
services:
  app:
    build:
      context: ./app
      args:
        FLAVOUR: from-compose
    network_mode: none
"#;

pub fn compose_build(side: &Side) -> String {
    let compose = "/usr/bin/docker-compose";
    assert!(
        std::path::Path::new(compose).exists(),
        "{compose} is needed (scripts/peers.sh install)"
    );
    let dir = tempfile::Builder::new()
        .prefix("muelle-build-compose-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let (ctx, token) = own_cache_context();
    let mut cp = Command::new("cp");
    cp.arg("-a").arg(ctx.path()).arg(dir.path().join("app"));
    run_cmd(cp, std::time::Duration::from_secs(60)).ok();
    std::fs::write(dir.path().join("docker-compose.yml"), COMPOSE_FILE).unwrap();
    // Compose keeps [a-z0-9] of a project name.
    let project = unique("mbc").replace('-', "x");
    let image = format!("{project}_app:latest");
    side.own(&image);
    let run = |args: &[&str]| {
        let mut c = Command::new(compose);
        c.current_dir(dir.path())
            .env("DOCKER_HOST", side.host())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("COMPOSE_PROJECT_NAME")
            .args(["--ansi", "never", "-p", &project])
            .args(args);
        run_cmd(c, std::time::Duration::from_secs(300))
    };
    let mut seen = Vec::new();
    let b = run(&["build", "app"]);
    assert_eq!(
        b.code,
        0,
        "{}: compose build: {b:#?}\n{}",
        side.what(),
        side.log()
    );
    let steps: Vec<String> = format!("{}\n{}", b.stdout, b.stderr)
        .lines()
        .filter(|l| l.starts_with("Step "))
        .map(str::to_owned)
        .collect();
    seen.push(format!("steps:\n{}", steps.join("\n")));
    let r = run(&["run", "--rm", "-T", "app"]);
    assert_eq!(
        r.code,
        0,
        "{}: compose run: {r:#?}\n{}",
        side.what(),
        side.log()
    );
    seen.push(format!("ran: {}", r.stdout.trim()));
    seen.push(format!(
        "cmd: {}",
        side.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", &image])
            .trim()
    ));
    let d = run(&["down", "--rmi", "local", "-v"]);
    assert_eq!(d.code, 0, "{}: compose down: {d:#?}", side.what());
    seen.join("\n")
        .replace(&project, "<project>")
        .replace(&token, "<stage>")
}
