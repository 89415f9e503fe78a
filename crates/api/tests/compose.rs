//! docker-compose (Debian's 1.29, a client no one here wrote, speaking API 1.41) brings up a
//! three-service project against a private muelled and against the shared dockerd: `web`
//! (busybox httpd, a port published on 127.0.0.1), `client` (fetches `http://web/` by
//! service name, prints it, stays up), `job` (one-shot, writes to a named volume, exits 0).
//! What is compared, normalised (project name, ports, widths): `ps`, the client's logs,
//! `exec` in two services, and that `down -v` leaves no container, network or volume with the
//! project's label. The project name is unique per run; nothing is pulled (busybox is in
//! both daemons).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use muelle_test_support::{netns, registry::next_port};
use support::both::DOCKERD;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon};

const COMPOSE: &str = "/usr/bin/docker-compose";

const FILE: &str = r#"version: "2.4"
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /w && echo hello-from-web > /w/index.html && exec httpd -f -p 80 -h /w"]
    ports:
      - "127.0.0.1:${WEB_PORT}:80"
  client:
    image: busybox:latest
    depends_on: [web]
    command:
      - sh
      - -c
      - |
        i=0
        while [ $$i -lt 50 ]; do
          r=$$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 web 80 2>/dev/null | tail -n1)
          if [ -n "$$r" ]; then echo "client got: $$r"; exec sleep 600; fi
          i=$$((i+1)); sleep 0.3
        done
        echo "client got nothing"; exec sleep 600
  job:
    image: busybox:latest
    command: ["sh", "-c", "echo job ran > /data/out && cat /data/out"]
    volumes:
      - data:/data
volumes:
  data: {}
"#;

/// One daemon the project runs on.
struct Target {
    daemon: Option<Daemon>,
    host: String,
    project: String,
    port: u16,
    dir: tempfile::TempDir,
}

impl Target {
    fn new(daemon: Option<Daemon>) -> Target {
        assert!(
            Path::new(COMPOSE).exists(),
            "{COMPOSE} is needed (scripts/peers.sh install)"
        );
        let host = match &daemon {
            Some(d) => format!("unix://{}", d.socket.display()),
            None => DOCKERD.to_owned(),
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("docker-compose.yml"), FILE).unwrap();
        // Compose keeps [a-z0-9] of a project name: no separators that it would drop.
        let project = format!("mct{}x{}", std::process::id(), next_port());
        Target {
            daemon,
            host,
            project,
            port: next_port(),
            dir,
        }
    }

    fn what(&self) -> &'static str {
        if self.daemon.is_some() {
            "muelled"
        } else {
            "dockerd"
        }
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(Daemon::log).unwrap_or_default()
    }

    fn compose(&self, args: &[&str]) -> Output {
        Command::new(COMPOSE)
            .current_dir(self.dir.path())
            .env("DOCKER_HOST", &self.host)
            .env("WEB_PORT", self.port.to_string())
            .env_remove("DOCKER_API_VERSION")
            .env_remove("COMPOSE_PROJECT_NAME")
            .args(["--ansi", "never", "-p", &self.project])
            .args(args)
            .output()
            .expect("run docker-compose")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.compose(args);
        assert!(
            o.status.success(),
            "{}: docker-compose {args:?} failed:\n{}\n{}\n{}",
            self.what(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.log()
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn docker(&self, args: &[&str]) -> String {
        let o = Command::new(support::DOCKER)
            .args(["-H", &self.host])
            .args(args)
            .output()
            .expect("run docker");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Names of containers, networks and volumes with the project's label.
    fn labelled(&self) -> Vec<String> {
        let f = format!("label=com.docker.compose.project={}", self.project);
        let mut v = Vec::new();
        for (kind, args) in [
            ("container", vec!["ps", "-a", "--format", "{{.Names}}"]),
            ("network", vec!["network", "ls", "--format", "{{.Name}}"]),
            ("volume", vec!["volume", "ls", "-q"]),
        ] {
            let mut a = args.clone();
            a.extend_from_slice(&["--filter", &f]);
            for name in self.docker(&a).lines() {
                v.push(format!("{kind} {name}"));
            }
        }
        v
    }

    /// Replaces the project's name and the port; collapses the table's padding.
    fn norm(&self, text: &str) -> String {
        text.replace(&self.project, "PROJECT")
            .replace(&self.port.to_string(), "PORT")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "-v", "--timeout", "1"]);
        if let Some(d) = &self.daemon {
            if support::is_up(d) {
                remove_all_containers(d);
            }
            kill_shims_and_unmount(d);
        }
    }
}

/// Up, wait for the client and the job, observe, `down -v`; what was seen, normalised.
fn project(t: &Target) -> String {
    let w = t.what();
    let mut seen = Vec::new();
    t.ok(&["up", "-d"]);
    let deadline = Instant::now() + Duration::from_secs(40);
    let logs = loop {
        let logs = t.ok(&["logs", "--no-color", "client"]);
        if logs.contains("client got") || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        logs.contains("client got: hello-from-web"),
        "{w}: {logs}\n{}",
        t.log()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !t.ok(&["ps", "job"]).contains("Exit 0") {
        assert!(
            Instant::now() < deadline,
            "{w}: the job did not exit 0: {}",
            t.ok(&["ps"])
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    seen.push(format!("client logs:\n{}", t.norm(&logs)));
    seen.push(format!(
        "job logs:\n{}",
        t.norm(&t.ok(&["logs", "--no-color", "job"]))
    ));
    seen.push(format!("ps:\n{}", t.norm(&t.ok(&["ps"]))));
    let mut services: Vec<String> = t
        .ok(&["ps", "--services"])
        .lines()
        .map(str::to_owned)
        .collect();
    services.sort();
    seen.push(format!("services: {services:?}"));
    seen.push(format!(
        "running ids: {}",
        t.ok(&["ps", "-q"]).lines().count()
    ));
    let body = netns::http_get(t.daemon.as_ref().map(Daemon::netns), t.port, "/");
    assert_eq!(
        body.as_deref(),
        Some("hello-from-web\n"),
        "{w}: the published port"
    );
    seen.push(format!(
        "exec web: {}",
        t.ok(&["exec", "-T", "web", "cat", "/w/index.html"]).trim()
    ));
    seen.push(format!(
        "exec client: {}",
        t.ok(&[
            "exec",
            "-T",
            "client",
            "sh",
            "-c",
            "nslookup web >/dev/null 2>&1 && echo web resolves; nslookup job >/dev/null 2>&1 && echo job resolves; true"
        ])
        .trim()
        .replace('\n', "; ")
    ));
    let mut made = t.labelled();
    made.sort();
    seen.push(format!("made: {}", t.norm(&made.join(", "))));
    let down = t.compose(&["down", "-v", "--timeout", "1"]);
    assert!(down.status.success(), "{w}: down: {down:?}");
    let mut lines: Vec<String> = String::from_utf8_lossy(&down.stderr)
        .lines()
        .map(|l| t.norm(l))
        .collect();
    lines.sort();
    seen.push(format!("down:\n{}", lines.join("\n")));
    let left = t.labelled();
    assert_eq!(left, Vec::<String>::new(), "{w}: down -v left these");
    seen.join("\n")
}

#[test]
fn compose_project_on_dockerd_needs_dockerd_compose() {
    let t = Target::new(None);
    println!("{}", project(&t));
}

#[test]
fn compose_project_muelled_as_dockerd_needs_dockerd_compose() {
    let want = project(&Target::new(None));
    let ours = Target::new(Some(daemon_with_busybox()));
    let got = project(&ours);
    assert_eq!(
        got,
        want,
        "muelled (left) vs dockerd (right)\n{}",
        ours.log()
    );
}
