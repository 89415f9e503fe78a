//! The table of `docker run` flags: one row per flag of the docker CLI 28's `docker run
//! --help`, saying whether the flag works, is accepted and dropped with dockerd's warning
//! (the host lacks what it sets, as dockerd drops it), or is refused with a message, and a
//! check that proves the row in a real container.
//!
//! Each row's check runs through the `muelle` CLI and through the stock docker CLI 28
//! (/usr/local/bin/docker) against a private muelled, and through the docker CLI 28 against
//! the shared dockerd where the row says dockerd behaves the same on this host. Every
//! container has this run's label and is removed at the end, failed or not; `meta` checks
//! that the table has exactly the flags `docker run --help` lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The `against!` runner of the other CLI tests is not used here.
#[allow(unused_macros, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod rows_io;
mod rows_net;
mod rows_process;
mod rows_resources;
mod rows_security;
mod rows_storage;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The docker CLI whose `run --help` the table follows.
pub const DOCKER28: &str = "/usr/local/bin/docker";
/// The label every container of one group run carries (its value unique to the run).
pub const LABEL: &str = "muelle.flagtable";

/// What a flag does here.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    /// As in Docker.
    Works,
    /// Accepted and discarded with this warning, as dockerd discards it on this host.
    Dropped(&'static str),
    /// Refused with this message.
    Refused(&'static str),
    /// Accepted and shown as in Docker, but not yet honoured (this says what is missing);
    /// the check proves only the part that works.
    NotYet(&'static str),
}

/// How the shared dockerd does with the same check on this host.
#[derive(Debug, Clone, Copy)]
pub enum Dockerd {
    Same,
    /// dockerd cannot be compared for this reason.
    Differs(&'static str),
}

/// One flag of `docker run`.
pub struct Row {
    pub flag: &'static str,
    pub verdict: Verdict,
    pub dockerd: Dockerd,
    pub check: fn(&R) -> Result<(), String>,
}

/// Which client a check drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    Muelle,
    Docker28,
}

/// What a check runs its commands through: one client against one daemon.
pub struct R<'a> {
    pub d: &'a Daemon,
    pub cli: Cli,
    pub tag: String,
    pub tmp: &'a Path,
}

impl R<'_> {
    /// The client with `args`, stdin closed.
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.cmd_stdin(args, None)
    }

    pub fn cmd_stdin(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let bin = match self.cli {
            Cli::Muelle => MUELLE,
            Cli::Docker28 => DOCKER28,
        };
        let mut c = Command::new(bin);
        c.arg("-H").arg(&self.d.host).args(args);
        // The docker CLI reads its config (and contexts) from here: nothing of the host's.
        c.env("DOCKER_CONFIG", self.tmp.join("docker-config"));
        c.env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("MUELLE_HOST")
            .env("MUELLE_NO_AUTOSTART", "1");
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        match input {
            None => {
                c.stdin(Stdio::null());
                c.output().expect("run the client")
            }
            Some(bytes) => {
                c.stdin(Stdio::piped());
                let mut child = c.spawn().expect("run the client");
                let mut stdin = child.stdin.take().unwrap();
                std::io::Write::write_all(&mut stdin, bytes).unwrap();
                drop(stdin);
                child.wait_with_output().unwrap()
            }
        }
    }

    /// `run` with this run's label, `--network none` unless `opts` choose a network, `opts`,
    /// busybox and `cmd`.
    pub fn run(&self, opts: &[&str], cmd: &[&str]) -> Output {
        self.run_stdin(opts, cmd, None)
    }

    pub fn run_stdin(&self, opts: &[&str], cmd: &[&str], input: Option<&[u8]>) -> Output {
        let label = format!("{LABEL}={}", self.tag);
        // Never a pull: a refusal answered 404 would make the docker CLI try the registry.
        let mut args = vec!["run", "--pull=never", "--label", &label];
        if !opts
            .iter()
            .any(|o| o.starts_with("--network") || *o == "--net")
        {
            args.push("--network=none");
        }
        args.extend_from_slice(opts);
        args.push("busybox");
        args.extend_from_slice(cmd);
        self.cmd_stdin(&args, input)
    }

    /// [`R::run`] that must succeed; its stdout.
    pub fn out(&self, opts: &[&str], cmd: &[&str]) -> Result<String, String> {
        success(self.run(opts, cmd), &format!("run {opts:?} {cmd:?}"))
    }

    /// [`R::cmd`] that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> Result<String, String> {
        success(self.cmd(args), &format!("{args:?}"))
    }

    /// `run opts ... cmd` must print exactly `want`.
    pub fn expect(&self, opts: &[&str], cmd: &[&str], want: &str) -> Result<(), String> {
        let got = self.out(opts, cmd)?;
        same(&got, want, &format!("run {opts:?} {cmd:?}"))
    }

    /// `inspect -f FORMAT NAME` must print `want` (a trailing newline added).
    pub fn inspect(&self, name: &str, format: &str, want: &str) -> Result<(), String> {
        let got = self.ok(&["inspect", "-f", format, name])?;
        same(&got, &format!("{want}\n"), &format!("inspect -f {format}"))
    }

    /// Creates (never starts) a container named `name` with `opts`.
    pub fn create(&self, name: &str, opts: &[&str]) -> Result<(), String> {
        let label = format!("{LABEL}={}", self.tag);
        let mut args = vec!["create", "--pull=never", "--label", &label, "--name", name];
        if !opts.iter().any(|o| o.starts_with("--network")) {
            args.push("--network=none");
        }
        args.extend_from_slice(opts);
        args.extend_from_slice(&["busybox", "true"]);
        self.ok(&args).map(|_| ())
    }

    /// A name unique to this run.
    pub fn name(&self, what: &str) -> String {
        format!(
            "ft-{what}-{}-{}",
            self.cli_tag(),
            muelle_test_support::proc::unique()
        )
    }

    fn cli_tag(&self) -> &'static str {
        match self.cli {
            Cli::Muelle => "m",
            Cli::Docker28 => "d",
        }
    }

    /// The run is refused: a failure with `message` in stderr, and no container of it left.
    pub fn refused(&self, opts: &[&str], message: &str) -> Result<(), String> {
        let before = self.containers();
        let o = self.run(opts, &["true"]);
        let err = text(&o.stderr);
        if o.status.success() || !err.contains(message) {
            return Err(format!(
                "run {opts:?}: wanted a failure and {message:?}, got {:?}: {err}",
                o.status.code()
            ));
        }
        // A refusal at start leaves the created container, as dockerd leaves it; it must
        // be whole: in state `created`, and removable.
        for id in self.containers().difference(&before) {
            let st = self.ok(&["inspect", "-f", "{{.State.Status}}", id])?;
            if st != "created\n" {
                return Err(format!(
                    "run {opts:?} was refused but left a container {st:?}"
                ));
            }
            self.ok(&["rm", id])?;
        }
        Ok(())
    }

    /// The run works and stderr carries dockerd's `warning`.
    pub fn dropped(&self, opts: &[&str], warning: &str) -> Result<(), String> {
        let o = self.run(opts, &["echo", "ran"]);
        let err = text(&o.stderr);
        if !o.status.success() || text(&o.stdout) != "ran\n" || !err.contains(warning) {
            return Err(format!(
                "run {opts:?}: wanted success and the warning {warning:?}, got {:?}\nstdout: {}\nstderr: {err}",
                o.status.code(),
                text(&o.stdout)
            ));
        }
        Ok(())
    }

    /// The ids of this run's containers.
    pub fn containers(&self) -> BTreeSet<String> {
        let f = format!("label={LABEL}={}", self.tag);
        text(
            &self
                .cmd(&["ps", "-aq", "--no-trunc", "--filter", &f])
                .stdout,
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// Polls `probe` (up to 30 s: state that settles on its own, never a timing claim).
    pub fn eventually(
        &self,
        what: &str,
        mut probe: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match probe() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(format!("{what}: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

pub fn success(o: Output, what: &str) -> Result<String, String> {
    if o.status.success() {
        Ok(text(&o.stdout))
    } else {
        Err(format!(
            "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        ))
    }
}

pub fn same(got: &str, want: &str, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: wanted {want:?}, got {got:?}"))
    }
}

/// Every row, by group.
fn groups() -> Vec<(&'static str, &'static [Row])> {
    vec![
        ("io", rows_io::ROWS),
        ("net", rows_net::ROWS),
        ("process", rows_process::ROWS),
        ("resources", rows_resources::ROWS),
        ("security", rows_security::ROWS),
        ("storage", rows_storage::ROWS),
    ]
}

/// Removes every container (and named volume the checks made) of one group run.
struct Cleanup<'a> {
    d: &'a Daemon,
    tag: String,
    tmp: tempfile::TempDir,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for cli in [Cli::Muelle, Cli::Docker28] {
            let r = R {
                d: self.d,
                cli,
                tag: self.tag.clone(),
                tmp: self.tmp.path(),
            };
            let ids: Vec<String> = r.containers().into_iter().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids.iter().map(String::as_str));
                let _ = r.cmd(&args);
            }
            let vols = text(&r.cmd(&["volume", "ls", "-q"]).stdout);
            for v in vols.lines().filter(|v| v.starts_with("ft-")) {
                let _ = r.cmd(&["volume", "rm", "-f", v]);
            }
        }
        // The parent cgroup `--cgroup-parent` made (Docker leaves it; so would a user).
        // Another run of the table may still have a container under it: then it stays.
        if let Ok(dirs) = std::fs::read_dir("/sys/fs/cgroup") {
            for d in dirs.flatten() {
                let _ = std::fs::remove_dir(d.path().join("muelle-flagtable"));
            }
        }
    }
}

/// Runs the rows of one group against `d` with the given clients; every failure is listed.
fn check_group(d: &Daemon, rows: &[Row], clis: &[Cli], dockerd: bool) {
    assert!(
        Path::new(DOCKER28).exists(),
        "{DOCKER28} (the docker CLI 28) is missing"
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("docker-config")).unwrap();
    let c = Cleanup {
        d,
        tag: format!("t{}", muelle_test_support::proc::unique()),
        tmp,
    };
    let mut failures = Vec::new();
    let mut ran = 0;
    for row in rows {
        if dockerd && matches!(row.dockerd, Dockerd::Differs(_)) {
            continue;
        }
        for &cli in clis {
            let r = R {
                d,
                cli,
                tag: c.tag.clone(),
                tmp: c.tmp.path(),
            };
            ran += 1;
            if let Err(e) = (row.check)(&r) {
                failures.push(format!("{} [{cli:?} -> {}]: {e}", row.flag, d.name));
            }
        }
    }
    assert!(ran > 0, "no row ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} checks failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn muelled() -> Daemon {
    start_muelled(Seed::OciTar)
}

macro_rules! group {
    ($module:ident, $muelled:ident, $dockerd:ident) => {
        #[test]
        fn $muelled() {
            let d = muelled();
            check_group(&d, $module::ROWS, &[Cli::Muelle, Cli::Docker28], false);
        }
        #[test]
        fn $dockerd() {
            check_group(&dockerd(), $module::ROWS, &[Cli::Docker28], true);
        }
    };
}

group!(rows_io, io_needs_docker, io_needs_dockerd);
group!(rows_net, net_needs_docker, net_needs_dockerd);
group!(rows_process, process_needs_docker, process_needs_dockerd);
group!(
    rows_resources,
    resources_needs_docker_cgroupv1,
    resources_needs_dockerd_cgroupv1
);
group!(rows_security, security_needs_docker, security_needs_dockerd);
group!(rows_storage, storage_needs_docker, storage_needs_dockerd);

/// The flags `docker run --help` (docker CLI 28) lists, long names.
fn docker_run_flags() -> BTreeSet<String> {
    // With no daemon to ask, the CLI lists every flag (it hides those the daemon's API
    // version or OS cannot take).
    let o = Command::new(DOCKER28)
        .args(["-H", "unix:///nonexistent/docker.sock", "run", "--help"])
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("docker run --help");
    assert!(o.status.success());
    text(&o.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = if l.len() > 4 && l.starts_with('-') && l.as_bytes()[2] == b',' {
                l[4..].trim_start()
            } else {
                l
            };
            l.strip_prefix("--")
                .map(|rest| format!("--{}", rest.split_whitespace().next().unwrap_or_default()))
        })
        .collect()
}

#[test]
fn the_table_has_every_docker_run_flag_once_needs_docker() {
    let mut seen = BTreeSet::new();
    for (_, rows) in groups() {
        for r in rows {
            assert!(seen.insert(r.flag.to_string()), "{} has two rows", r.flag);
        }
    }
    let docker = docker_run_flags();
    let missing: Vec<_> = docker.difference(&seen).collect();
    let extra: Vec<_> = seen.difference(&docker).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "rows missing for {missing:?}; rows for flags docker lacks: {extra:?}"
    );
    // Every flag is known to muelle's run too: none is an "unknown flag" there.
    let help = text(
        &Command::new(MUELLE)
            .args(["run", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    // Except the Windows-only ones, which docker's help hides too when its daemon runs Linux.
    let windows_only = [
        "--cpu-count",
        "--cpu-percent",
        "--io-maxbandwidth",
        "--io-maxiops",
    ];
    let ours: Vec<_> = docker
        .iter()
        .filter(|f| !help.contains(f.as_str()) && !windows_only.contains(&f.as_str()))
        .collect();
    assert!(ours.is_empty(), "muelle run --help lacks {ours:?}");
}

/// The table as text (`cargo nextest run -p muelle-cli --test flag_table print_the_table
/// --no-capture`), for the docs and the closing note.
#[test]
fn print_the_table() {
    for (group, rows) in groups() {
        for r in rows {
            let v = match r.verdict {
                Verdict::Works => "works".to_string(),
                Verdict::Dropped(w) => format!("dropped with dockerd's warning: {w}"),
                Verdict::Refused(m) => format!("refused: {m}"),
                Verdict::NotYet(m) => format!("NOT YET: {m}"),
            };
            let k = match r.dockerd {
                Dockerd::Same => "same on dockerd".to_string(),
                Dockerd::Differs(why) => format!("not compared: {why}"),
            };
            println!("{group:10} {:24} {v} ({k})", r.flag);
        }
    }
}

pub fn tmp_file(r: &R, name: &str, content: &str) -> PathBuf {
    let p = r.tmp.join(name);
    std::fs::write(&p, content).unwrap();
    p
}
