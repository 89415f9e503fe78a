//! Health checks through the stock docker CLI, the same commands against muelled and the
//! peer dockerd (unix:///run/docker.sock), compared: `--health-*` flags, an image's
//! HEALTHCHECK from `docker commit --change`, `--no-healthcheck`, `State.Health` (status,
//! failing streak, log), a probe past its timeout, pause and stop, `ps` status text and
//! `--filter health=`, and the `health_status` and probe exec events; and, on muelled
//! alone, probes going on after a daemon restart. States are polled for; nothing asserts
//! how long they take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";
/// How long a container may take to reach a health status before the test fails.
const PATIENCE: Duration = Duration::from_secs(90);

/// One daemon the docker CLI talks to.
enum Side<'a> {
    Muelled(&'a Daemon),
    Dockerd,
}

impl Side<'_> {
    fn label(&self) -> &'static str {
        match self {
            Side::Muelled(_) => "muelled",
            Side::Dockerd => "dockerd",
        }
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut c = match self {
            Side::Muelled(d) => d.docker_command(),
            Side::Dockerd => {
                let mut c = Command::new(DOCKER);
                c.args(["-H", DOCKERD]);
                c
            }
        };
        c.args(args).output().expect("run docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        let log = match self {
            Side::Muelled(d) => d.log(),
            Side::Dockerd => String::new(),
        };
        assert!(
            o.status.success(),
            "{}: docker {args:?} failed: {}{}\n{log}",
            self.label(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    }

    fn health(&self, name: &str) -> Value {
        serde_json::from_str(&self.ok(&["inspect", "-f", "{{json .State.Health}}", name])).unwrap()
    }

    fn config_check(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", name])
    }

    /// Polls until the container's health status is `want`.
    fn wait_for(&self, name: &str, want: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let h = self.health(name);
            if h["Status"] == want {
                return h;
            }
            assert!(
                t0.elapsed() < PATIENCE,
                "{}: {name} never became {want}: {h}",
                self.label()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The parenthesised end of the container's `ps` status (`(healthy)`), or `-`.
    fn ps_suffix(&self, name: &str) -> String {
        let s = self.ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("name=^{name}$"),
            "--format",
            "{{.Status}}",
        ]);
        match s.rfind('(') {
            Some(i) if s.ends_with(')') && s.starts_with("Up ") => s[i..].to_string(),
            _ => "-".into(),
        }
    }

    /// The names (without `prefix`) `ps --filter health=VALUE` lists among this test's.
    fn ps_health(&self, prefix: &str, value: &str) -> Vec<String> {
        let out = self.ok(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={prefix}"),
            "--filter",
            &format!("health={value}"),
            "--format",
            "{{.Names}}",
        ]);
        let mut v: Vec<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix(prefix).map(str::to_string))
            .collect();
        v.sort();
        v
    }

    fn run_d(&self, name: &str, args: &[&str], image: &str) {
        let mut a = vec!["run", "-d", "--network", "none", "--name", name];
        a.extend_from_slice(args);
        a.extend_from_slice(&[image, "sleep", "300"]);
        self.ok(&a);
    }
}

/// muelled with busybox beside dockerd; removes what the test made on dockerd.
struct Env {
    d: Daemon,
    prefix: String,
    images: std::cell::RefCell<Vec<String>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        let out =
            Side::Dockerd.docker(&["ps", "-aq", "--filter", &format!("name={}", self.prefix)]);
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Side::Dockerd.docker(&["rm", "-f", id]);
        }
        for img in self.images.borrow().iter() {
            let _ = Side::Dockerd.docker(&["rmi", "-f", img]);
        }
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env(test: &str) -> Env {
    let e = env_muelled(test);
    let o = Side::Dockerd.docker(&["image", "inspect", "busybox"]);
    assert!(
        o.status.success(),
        "dockerd at /run/docker.sock with the busybox image is needed"
    );
    e
}

/// The same without dockerd, for what only muelled can show.
fn env_muelled(test: &str) -> Env {
    assert!(Path::new(DOCKER).exists(), "{DOCKER} is needed");
    Env {
        d: daemon_with_busybox(),
        prefix: format!("muelle-health-{test}-{}-", std::process::id()),
        images: Default::default(),
    }
}

impl Env {
    fn sides(&self) -> [Side<'_>; 2] {
        [Side::Muelled(&self.d), Side::Dockerd]
    }
}

fn entries(h: &Value) -> Vec<Value> {
    h["Log"].as_array().cloned().unwrap_or_default()
}

#[test]
fn probes_reach_healthy_and_unhealthy_as_on_dockerd_needs_dockerd() {
    let e = env("probes");
    let mut seen = Vec::new();
    for side in e.sides() {
        let n = |role: &str| format!("{}{role}", e.prefix);
        side.run_d(
            &n("good"),
            &["--health-cmd", "echo ok", "--health-interval", "1s"],
            "busybox",
        );
        side.run_d(
            &n("bad"),
            &[
                "--health-cmd",
                "echo bad; exit 1",
                "--health-interval",
                "1s",
                "--health-retries",
                "2",
            ],
            "busybox",
        );
        side.run_d(
            &n("slow"),
            &[
                "--health-cmd",
                "sleep 30",
                "--health-interval",
                "1s",
                "--health-timeout",
                "500ms",
                "--health-retries",
                "1",
            ],
            "busybox",
        );
        side.run_d(
            &n("later"),
            &["--health-cmd", "true", "--health-interval", "1h"],
            "busybox",
        );
        side.run_d(&n("plain"), &[], "busybox");

        let good = side.wait_for(&n("good"), "healthy");
        let bad = side.wait_for(&n("bad"), "unhealthy");
        let slow = side.wait_for(&n("slow"), "unhealthy");
        // Timed-out probes are killed, not left to pile up.
        let t0 = Instant::now();
        while entries(&side.health(&n("slow"))).len() < 3 {
            assert!(
                t0.elapsed() < PATIENCE,
                "{}: slow probes stalled",
                side.label()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let procs = side.ok(&["exec", &n("slow"), "ps", "-o", "args"]);
        let alive = procs.lines().filter(|l| l.trim() == "sleep 30").count();
        let later = side.health(&n("later"));
        let plain = side.health(&n("plain"));
        let bad_log = entries(&bad);
        let mut obs = vec![
            format!("good config {}", side.config_check(&n("good"))),
            format!("good streak {}", good["FailingStreak"]),
            format!("good first {}", entries(&good)[0]["ExitCode"]),
            format!("good output {}", entries(&good)[0]["Output"]),
            format!(
                "bad streak>=2 {}",
                bad["FailingStreak"].as_i64().unwrap() >= 2
            ),
            format!(
                "bad log {} {}",
                !bad_log.is_empty() && bad_log.len() <= 5,
                bad_log.iter().all(|r| r["ExitCode"] == 1)
            ),
            format!("bad output {}", bad_log[0]["Output"]),
            format!("slow code {}", entries(&slow)[0]["ExitCode"]),
            format!("slow output {}", entries(&slow)[0]["Output"]),
            format!("slow probes alive<=1 {}", alive <= 1),
            format!("later {later}"),
            format!("plain {plain}"),
        ];
        for role in ["good", "bad", "later", "plain"] {
            obs.push(format!("ps {role} {}", side.ps_suffix(&n(role))));
        }
        for value in ["healthy", "unhealthy", "starting", "none"] {
            obs.push(format!(
                "health={value} {:?}",
                side.ps_health(&e.prefix, value)
            ));
        }
        let o = side.docker(&["ps", "--filter", "health=bogus"]);
        obs.push(format!(
            "bogus {} {}",
            o.status.success(),
            String::from_utf8_lossy(&o.stderr)
                .contains("Unrecognised filter value for health: bogus")
        ));

        // Paused, the probes stop and the status is unhealthy; they go on when unpaused.
        side.ok(&["pause", &n("good")]);
        obs.push(format!("paused {}", side.health(&n("good"))["Status"]));
        obs.push(format!("paused ps {}", side.ps_suffix(&n("good"))));
        side.ok(&["unpause", &n("good")]);
        side.wait_for(&n("good"), "healthy");
        side.ok(&["stop", "-t", "0", &n("good")]);
        obs.push(format!("stopped {}", side.health(&n("good"))["Status"]));
        side.ok(&["start", &n("good")]);
        let restarted = side.health(&n("good"));
        obs.push(format!(
            "restarted {} {}",
            restarted["FailingStreak"],
            !entries(&restarted).is_empty()
        ));
        side.wait_for(&n("good"), "healthy");
        seen.push(obs);
    }
    assert_eq!(seen[0], seen[1], "muelled (left) vs dockerd (right)");
    let s = seen[0].join("\n");
    for want in [
        "good output \"ok\\n\"",
        "bad output \"bad\\n\"",
        "slow code -1",
        "slow output \"Health check exceeded timeout (500ms)\"",
        "slow probes alive<=1 true",
        "plain null",
        "ps good (healthy)",
        "ps bad (unhealthy)",
        "ps later (health: starting)",
        "ps plain -",
        "health=none [\"plain\"]",
        "paused \"unhealthy\"",
        "paused ps (Paused)",
        "stopped \"unhealthy\"",
        "bogus false true",
    ] {
        assert!(s.contains(want), "{want} not in:\n{s}");
    }
}

#[test]
fn image_healthcheck_and_no_healthcheck_as_on_dockerd_needs_dockerd() {
    let e = env("image");
    let mut seen = Vec::new();
    for side in e.sides() {
        let n = |role: &str| format!("{}{role}", e.prefix);
        let image = format!("{}img:1", e.prefix);
        e.images.borrow_mut().push(image.clone());
        side.ok(&["create", "--name", &n("base"), "busybox"]);
        side.ok(&[
            "commit",
            "--change",
            "HEALTHCHECK --interval=1s --retries=2 CMD echo hi",
            &n("base"),
            &image,
        ]);
        let mut obs = vec![format!(
            "image {}",
            side.ok(&[
                "image",
                "inspect",
                "-f",
                "{{json .Config.Healthcheck}}",
                &image
            ])
        )];
        side.run_d(&n("inherits"), &[], &image);
        side.run_d(&n("merged"), &["--health-interval", "2s"], &image);
        side.run_d(&n("off"), &["--no-healthcheck"], &image);
        let h = side.wait_for(&n("inherits"), "healthy");
        obs.push(format!("inherits output {}", entries(&h)[0]["Output"]));
        for role in ["inherits", "merged", "off"] {
            obs.push(format!("{role} config {}", side.config_check(&n(role))));
        }
        obs.push(format!("off health {}", side.health(&n("off"))));
        obs.push(format!("off ps {}", side.ps_suffix(&n("off"))));
        obs.push(format!("none {:?}", side.ps_health(&e.prefix, "none")));
        // The instruction's errors are refused with dockerd's words.
        let o = side.docker(&[
            "commit",
            "--change",
            "HEALTHCHECK --interval=1 CMD true",
            &n("base"),
        ]);
        obs.push(format!(
            "bad change {} {}",
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).contains("time: missing unit in duration \"1\"")
        ));
        seen.push(obs);
    }
    assert_eq!(seen[0], seen[1], "muelled (left) vs dockerd (right)");
    let s = seen[0].join("\n");
    for want in [
        r#"image {"Test":["CMD-SHELL","echo hi"],"Interval":1000000000,"Retries":2}"#,
        r#"merged config {"Test":["CMD-SHELL","echo hi"],"Interval":2000000000,"Retries":2}"#,
        // dockerd fills the rest of `NONE` from the image too.
        r#"off config {"Test":["NONE"],"Interval":1000000000,"Retries":2}"#,
        "inherits output \"hi\\n\"",
        "off health null",
        "bad change false true",
    ] {
        assert!(s.contains(want), "{want} not in:\n{s}");
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn health_status_and_probe_events_as_on_dockerd_needs_dockerd() {
    let e = env("events");
    let mut seen = Vec::new();
    for side in e.sides() {
        let n = |role: &str| format!("{}{role}", e.prefix);
        let since = (unix_now() - 1).to_string();
        side.run_d(
            &n("good"),
            &["--health-cmd", "echo ok", "--health-interval", "1s"],
            "busybox",
        );
        side.run_d(
            &n("bad"),
            &[
                "--health-cmd",
                "exit 3",
                "--health-interval",
                "1s",
                "--health-retries",
                "1",
            ],
            "busybox",
        );
        side.wait_for(&n("good"), "healthy");
        side.wait_for(&n("bad"), "unhealthy");
        side.ok(&["rm", "-f", &n("good"), &n("bad")]);
        // A moment past now, so that nothing announced just now is missed.
        let until = (unix_now() + 2).to_string();
        let mut obs = Vec::new();
        for role in ["good", "bad"] {
            let all = side.ok(&[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                &format!("container={}", n(role)),
                "--format",
                r#"{{.Action}}|{{index .Actor.Attributes "execID" | len}}|{{index .Actor.Attributes "exitCode"}}"#,
            ]);
            let mut kinds: Vec<String> = all
                .lines()
                .filter(|l| l.starts_with("exec_") || l.starts_with("health_status"))
                // A probe killed by the removal ends with the kill's code, on either side
                // or neither.
                .filter(|l| !l.ends_with("|137"))
                .map(str::to_string)
                .collect();
            kinds.sort();
            kinds.dedup();
            obs.push(format!("{role} {kinds:?}"));
            let statuses = side.ok(&[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                &format!("container={}", n(role)),
                "--filter",
                "event=health_status",
                "--format",
                "{{.Action}}",
            ]);
            obs.push(format!("{role} statuses {statuses:?}"));
        }
        seen.push(obs);
    }
    assert_eq!(seen[0], seen[1], "muelled (left) vs dockerd (right)");
    let s = seen[0].join("\n");
    for want in [
        "exec_create: /bin/sh -c echo ok|64|",
        "exec_start: /bin/sh -c echo ok|64|",
        "exec_die|64|0",
        "exec_die|64|3",
        "good statuses \"health_status: healthy\"",
        "bad statuses \"health_status: unhealthy\"",
    ] {
        assert!(s.contains(want), "{want} not in:\n{s}");
    }
}

/// A daemon restart finds a running container's check again: its probes go on (a new
/// `starting`, then healthy from a probe made by the new daemon), its log kept.
#[test]
fn probes_go_on_after_a_daemon_restart_needs_docker() {
    let mut e = env_muelled("restart");
    let name = format!("{}up", e.prefix);
    {
        let side = Side::Muelled(&e.d);
        side.run_d(
            &name,
            &["--health-cmd", "echo ok", "--health-interval", "1s"],
            "busybox",
        );
        side.wait_for(&name, "healthy");
    }
    e.d.restart();
    let restarted = std::time::SystemTime::now();
    let side = Side::Muelled(&e.d);
    let t0 = Instant::now();
    loop {
        let h = side.health(&name);
        let newest = entries(&h).last().cloned().unwrap_or_default();
        let after_restart = newest["Start"]
            .as_str()
            .and_then(muelle_types::time::parse_rfc3339)
            .is_some_and(|t| t > restarted);
        if h["Status"] == "healthy" && after_restart {
            assert!(
                entries(&h).len() > 1,
                "the log before the restart is kept: {h}"
            );
            break;
        }
        assert!(
            t0.elapsed() < PATIENCE,
            "no probe after the daemon restart: {h}\n{}",
            e.d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
