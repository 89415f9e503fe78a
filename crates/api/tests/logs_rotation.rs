//! Container logs with rotation, through the stock docker CLI against a private muelled:
//! muelled's default rotation (max-size 20m, max-file 5) shown in inspect, a user's
//! `--log-opt` winning, rotated and gzipped files read back in order by `logs` (`--tail`,
//! `--since`, `--timestamps`, `-f` across a rotation), the `local` and `none` drivers,
//! daemon-wide `log-driver`/`log-opts` (daemon.json and flags), and bad input with dockerd's
//! messages, beside the same commands on the shared dockerd.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::{daemon_with_busybox, kill_shims_and_unmount, remove_all_containers, Daemon, DOCKER};

const DOCKERD: &str = "unix:///run/docker.sock";

struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        if support::is_up(&self.d) {
            remove_all_containers(&self.d);
        }
        kill_shims_and_unmount(&self.d);
    }
}

fn env() -> Env {
    Env {
        d: daemon_with_busybox(),
    }
}

fn inspect(d: &Daemon, name: &str) -> Value {
    let out = d.docker_ok(&["inspect", name]);
    serde_json::from_str::<Value>(&out).unwrap()[0].clone()
}

/// `sh -c` that prints `line-0` … `line-(n-1)`, `pause` seconds between lines.
fn printer(n: u32, pause: &str) -> String {
    format!("i=0; while [ $i -lt {n} ]; do echo line-$i; i=$((i+1)); {pause} done")
}

/// Runs a detached busybox container with `opts` printing `n` lines, waits for its end.
fn run_lines(d: &Daemon, name: &str, opts: &[&str], n: u32) {
    let script = printer(n, "");
    let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    d.docker_ok(&args);
    assert_eq!(d.docker_ok(&["wait", name]), "0\n");
}

fn numbers(out: &str) -> Vec<u32> {
    out.lines()
        .map(|l| {
            let l = l.rsplit(' ').next().unwrap();
            l.strip_prefix("line-")
                .unwrap_or_else(|| panic!("{l:?}"))
                .parse()
                .unwrap()
        })
        .collect()
}

/// The files of a log (`LOG`, `LOG.n`, `LOG.n.gz`), sorted by name.
fn log_files(log: &Path) -> Vec<(String, u64)> {
    let name = log.file_name().unwrap().to_str().unwrap();
    let mut v: Vec<(String, u64)> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n, e.metadata().unwrap().len())
        })
        .filter(|(n, _)| n.starts_with(name))
        .collect();
    v.sort();
    v
}

fn container_dir(d: &Daemon, id: &str) -> PathBuf {
    d.data_root.join("containers").join(id)
}

#[test]
fn rotation_by_default_and_user_opts_win_needs_docker() {
    let e = env();
    let d = &e.d;
    run_lines(d, "plain", &[], 3);
    let c = inspect(d, "plain");
    assert_eq!(
        c["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "5", "max-size": "20m"}})
    );

    run_lines(
        d,
        "rot",
        &["--log-opt", "max-size=1k", "--log-opt", "max-file=3"],
        500,
    );
    let c = inspect(d, "rot");
    assert_eq!(
        c["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "3", "max-size": "1k"}})
    );
    let log = PathBuf::from(c["LogPath"].as_str().unwrap());
    let files = log_files(&log);
    let name = log.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(
        files.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
        [name.clone(), format!("{name}.1"), format!("{name}.2")]
    );
    // go-units: 1k is 1000 bytes.
    assert!(files.iter().all(|f| f.1 <= 1000), "{files:?}");
    let all = numbers(&d.docker_ok(&["logs", "rot"]));
    assert_eq!(*all.last().unwrap(), 499);
    assert!(all.len() > 30 && all.len() < 500, "{all:?}");
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");
    // More lines than the current file holds: the tail starts in an older file.
    let in_current = std::fs::read_to_string(&log).unwrap().lines().count();
    let n = in_current + 10;
    let tail = numbers(&d.docker_ok(&["logs", "--tail", &n.to_string(), "rot"]));
    assert_eq!(tail, (500 - n as u32..500).collect::<Vec<_>>());
    // --timestamps and --since/--until filter across the files too.
    let stamped = d.docker_ok(&["logs", "--timestamps", "--tail", "2", "rot"]);
    assert!(
        stamped.lines().all(|l| l.len() > 31 && &l[29..31] == "Z "),
        "{stamped}"
    );
    assert_eq!(
        d.docker_ok(&["logs", "--since", "2100-01-01T00:00:00Z", "rot"]),
        ""
    );
    assert_eq!(
        numbers(&d.docker_ok(&["logs", "--until", "2100-01-01T00:00:00Z", "rot"])),
        all
    );
}

#[test]
fn compressed_rotation_and_local_driver_read_back_needs_docker() {
    let e = env();
    let d = &e.d;
    let opts = [
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=4",
        "--log-opt",
        "compress=true",
    ];
    run_lines(d, "gz", &opts, 600);
    let c = inspect(d, "gz");
    let log = PathBuf::from(c["LogPath"].as_str().unwrap());
    let names: Vec<String> = log_files(&log).into_iter().map(|f| f.0).collect();
    let name = log.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(
        names,
        [
            name.clone(),
            format!("{name}.1.gz"),
            format!("{name}.2.gz"),
            format!("{name}.3.gz")
        ]
    );
    let all = numbers(&d.docker_ok(&["logs", "gz"]));
    assert_eq!(*all.last().unwrap(), 599);
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");
    let in_current = std::fs::read_to_string(&log).unwrap().lines().count();
    let n = in_current + 25;
    let tail = numbers(&d.docker_ok(&["logs", "--tail", &n.to_string(), "gz"]));
    assert_eq!(tail, (600 - n as u32..600).collect::<Vec<_>>());

    // local: Docker's defaults (compressed), its own directory, no LogPath.
    run_lines(
        d,
        "loc",
        &["--log-driver", "local", "--log-opt", "max-size=1k"],
        600,
    );
    let c = inspect(d, "loc");
    assert_eq!(
        c["HostConfig"]["LogConfig"],
        json!({"Type": "local", "Config": {"max-size": "1k"}})
    );
    assert_eq!(c["LogPath"], "");
    let id = c["Id"].as_str().unwrap();
    let log = container_dir(d, id).join("local-logs/container.log");
    let names: Vec<String> = log_files(&log).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "container.log",
            "container.log.1.gz",
            "container.log.2.gz",
            "container.log.3.gz",
            "container.log.4.gz"
        ]
    );
    let all = numbers(&d.docker_ok(&["logs", "loc"]));
    assert_eq!(*all.last().unwrap(), 599);
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");
    assert_eq!(
        numbers(&d.docker_ok(&["logs", "--tail", "3", "loc"])),
        [597, 598, 599]
    );

    // none: nothing to read, dockerd's answer.
    run_lines(d, "quiet", &["--log-driver", "none"], 3);
    let err = d.docker_err(&["logs", "quiet"]);
    assert!(
        err.contains("configured logging driver does not support reading"),
        "{err}"
    );
    assert_eq!(inspect(d, "quiet")["LogPath"], "");
}

#[test]
fn follow_keeps_following_across_rotations_needs_docker() {
    let e = env();
    let d = &e.d;
    let script = printer(300, "usleep 10000;");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "chatty",
        "--network",
        "none",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=5",
        "--log-opt",
        "compress=true",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    let out = d
        .docker_command()
        .args(["logs", "-f", "chatty"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let got = numbers(&String::from_utf8_lossy(&out.stdout));
    // Started while the container ran: everything kept when it started, then every line.
    assert_eq!(*got.last().unwrap(), 299, "{got:?}");
    assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "{got:?}");
    assert!(got.len() > 100, "{got:?}");
    let c = inspect(d, "chatty");
    let log = PathBuf::from(c["LogPath"].as_str().unwrap());
    assert_eq!(log_files(&log).len(), 5, "{:?}", log_files(&log));
}

#[test]
fn daemon_wide_log_driver_and_opts() {
    let mut e = env();
    std::fs::write(
        e.d.dir.path().join("daemon.json"),
        r#"{"log-driver": "json-file", "log-opts": {"max-size": "2k"}}"#,
    )
    .unwrap();
    e.d.restart();
    run_lines(&e.d, "aa", &[], 1);
    assert_eq!(
        inspect(&e.d, "aa")["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "5", "max-size": "2k"}})
    );
    // The container's own option wins; another driver takes none of the daemon's.
    run_lines(&e.d, "bb", &["--log-opt", "max-file=2"], 1);
    assert_eq!(
        inspect(&e.d, "bb")["HostConfig"]["LogConfig"],
        json!({"Type": "json-file", "Config": {"max-file": "2", "max-size": "2k"}})
    );
    run_lines(&e.d, "cc", &["--log-driver", "local"], 1);
    assert_eq!(
        inspect(&e.d, "cc")["HostConfig"]["LogConfig"],
        json!({"Type": "local", "Config": {}})
    );

    // A default no container could start with stops the daemon at once.
    let bad = e.d.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"log-opts": {"max-size": "bogus"}}"#).unwrap();
    let out = support::muelled()
        .args([
            "--config-file",
            bad.to_str().unwrap(),
            "-H",
            "unix:///nonexistent/x.sock",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid size: 'bogus'"), "{err}");

    // Flags: --log-driver local for every new container.
    drop(e);
    let d = Daemon::start_with(&["--log-driver", "local", "--log-opt", "max-file=3"]);
    let tar = support::busybox_tar();
    d.docker_ok(&["load", "-q", "-i", tar.to_str().unwrap()]);
    let e = Env { d };
    run_lines(&e.d, "ll", &[], 3);
    assert_eq!(
        inspect(&e.d, "ll")["HostConfig"]["LogConfig"],
        json!({"Type": "local", "Config": {"max-file": "3"}})
    );
    assert_eq!(e.d.docker_ok(&["logs", "ll"]), "line-0\nline-1\nline-2\n");
}

fn dockerd(args: &[&str]) -> std::process::Output {
    Command::new(DOCKER)
        .args(["-H", DOCKERD])
        .args(args)
        .output()
        .unwrap()
}

/// The error line of a failed docker command, without the CLI's own prefix and hints.
fn error_of(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    s.lines()
        .find_map(|l| l.strip_prefix("Error response from daemon: "))
        .or_else(|| {
            s.lines()
                .find_map(|l| l.strip_prefix("docker: Error response from daemon: "))
        })
        .unwrap_or(&s)
        .trim()
        .trim_end_matches('.')
        .to_string()
}

#[test]
fn log_config_and_errors_match_dockerd_needs_dockerd() {
    let ready = dockerd(&["image", "inspect", "busybox"]);
    assert!(
        ready.status.success(),
        "dockerd with busybox is needed: {ready:?}"
    );
    let e = env();
    let d = &e.d;
    let cases: &[&[&str]] = &[
        &[],
        &["--log-opt", "max-size=1k", "--log-opt", "max-file=3"],
        &[
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "--log-opt",
            "compress=true",
        ],
        &["--log-driver", "local"],
        &["--log-driver", "local", "--log-opt", "max-size=1k"],
        &["--log-driver", "none"],
        &["--log-driver", "json-file", "--log-opt", "tag={{.Name}}"],
    ];
    for (i, flags) in cases.iter().enumerate() {
        let name = format!("muelle-logcfg-{i}-{}", std::process::id());
        let mut args = vec!["create", "--name", name.as_str()];
        args.extend_from_slice(flags);
        args.push("busybox");
        let made = dockerd(&args);
        assert!(made.status.success(), "{flags:?}: {made:?}");
        let i = dockerd(&[
            "inspect",
            "--format",
            "{{json .HostConfig.LogConfig}}",
            &name,
        ]);
        let _ = dockerd(&["rm", "-f", &name]);
        let theirs: Value = serde_json::from_slice(&i.stdout).unwrap();
        d.docker_ok(&args);
        let ours = inspect(d, &name)["HostConfig"]["LogConfig"].clone();
        assert_eq!(ours["Type"], theirs["Type"], "{flags:?}");
        // dockerd here has no daemon-wide log-opts: its map is the container's own part,
        // which muelled keeps as given; muelled adds its defaults (json-file only).
        let ours_map = ours["Config"].as_object().unwrap();
        for (k, v) in theirs["Config"].as_object().unwrap() {
            assert_eq!(ours_map.get(k), Some(v), "{flags:?}: {ours} vs {theirs}");
        }
        for (k, v) in ours_map {
            if theirs["Config"].get(k).is_none() {
                assert_eq!(ours["Type"], "json-file", "{flags:?}: {ours}");
                let default = match k.as_str() {
                    "max-size" => "20m",
                    "max-file" => "5",
                    _ => panic!("{flags:?}: unexpected {k} in {ours}"),
                };
                assert_eq!(v, default);
            }
        }
    }

    // Bad input: the same error from both daemons, at create or at start as dockerd.
    let bad: &[&[&str]] = &[
        &["--log-opt", "unknown=1"],
        &["--log-driver", "local", "--log-opt", "unknown=1"],
        &["--log-driver", "bogus"],
        &["--log-opt", "max-size=bogus"],
        &["--log-opt", "max-file=0"],
        &["--log-opt", "max-file=1", "--log-opt", "compress=true"],
        &["--log-opt", "max-size=1k", "--log-opt", "compress=yes"],
        &["--log-driver", "syslog"],
        &["--log-driver", "journald"],
    ];
    for flags in bad {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let theirs = dockerd(&args);
        let ours = d.docker(&args);
        assert!(
            !theirs.status.success() && !ours.status.success(),
            "{flags:?}"
        );
        assert_eq!(
            error_of(&ours.stderr),
            error_of(&theirs.stderr),
            "{flags:?}"
        );
        assert_eq!(ours.status.code(), theirs.status.code(), "{flags:?}");
    }
    // compress=true alone: dockerd refuses it (no max-size), muelled's default rotation
    // makes it valid.
    d.docker_ok(&[
        "run",
        "--rm",
        "--log-opt",
        "compress=true",
        "busybox",
        "true",
    ]);
    // A container created with a value its driver refuses: `logs` says why, as dockerd.
    d.docker_ok(&[
        "create",
        "--name",
        "badsize",
        "--log-opt",
        "max-size=bogus",
        "busybox",
    ]);
    let err = d.docker_err(&["logs", "badsize"]);
    assert!(err.contains("invalid size: 'bogus'"), "{err}");
}
