//! Health checks as dockerd runs them: the check (the image's HEALTHCHECK merged with the
//! container's `Healthcheck`, with Docker's defaults), and one probe loop per running
//! container. The loop starts with the container (start, restart, a daemon that finds it
//! again), pauses while it is paused and ends when it exits; each probe is an exec through
//! the container's supervisor (with its `exec_create`/`exec_start`/`exec_die` events),
//! killed when it outlives the timeout. Results go to the container's state
//! (`State::record_health_probe`, which holds dockerd's rules), a change of status is
//! saved and announced (`health_status: healthy`).
//!
//! The loop is controlled through a watch channel kept in the container (`Ctr::health`):
//! its value says "paused", dropping the sender ends the loop. The sender is replaced or
//! dropped while the record's lock is held, and a result is recorded under that lock only
//! if nothing changed meanwhile, so a probe that finishes as the container exits or pauses
//! is dropped, as dockerd drops it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use muelle_types::container::health::STARTING;
use muelle_types::container::{ContainerConfig, HealthConfig, HealthcheckResult};
use muelle_types::duration::format_go_duration;
use tokio::sync::watch;

use super::exec::ExecRecord;
use super::shim::Output;
use super::store::lock;
use super::{now, ContainerError, Ctr};
use crate::Engine;

/// Docker's defaults for what a check leaves at zero.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_PERIOD: Duration = Duration::ZERO;
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: i64 = 3;
/// The most of a probe's output kept (dockerd's `maxOutputLen`).
pub const MAX_OUTPUT: usize = 4096;
/// The shortest non-zero duration a check may ask for (dockerd's `MinimumDuration`).
const MINIMUM: i64 = 1_000_000;
/// How long a timed-out probe may take to die after its SIGKILL before the loop goes on.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// An image's HEALTHCHECK as a container's check.
pub fn image_check(h: Option<&muelle_image::manifest::Healthcheck>) -> Option<HealthConfig> {
    let h = h?;
    Some(HealthConfig {
        test: h.test.clone().unwrap_or_default(),
        interval: h.interval.unwrap_or(0),
        timeout: h.timeout.unwrap_or(0),
        start_period: h.start_period.unwrap_or(0),
        start_interval: h.start_interval.unwrap_or(0),
        retries: h.retries.unwrap_or(0),
        extra: Default::default(),
    })
}

/// dockerd's checks of a create request's `Healthcheck`.
pub fn validate(h: Option<&HealthConfig>) -> Result<(), ContainerError> {
    let Some(h) = h else {
        return Ok(());
    };
    for (name, v) in [
        ("Interval", h.interval),
        ("Timeout", h.timeout),
        ("StartPeriod", h.start_period),
        ("StartInterval", h.start_interval),
    ] {
        if v != 0 && v < MINIMUM {
            return Err(ContainerError::Invalid(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    if h.retries < 0 {
        return Err(ContainerError::Invalid(
            "Retries in Healthcheck cannot be negative".into(),
        ));
    }
    Ok(())
}

/// A container's check with Docker's defaults applied.
#[derive(Debug, Clone)]
struct Check {
    argv: Vec<String>,
    interval: Duration,
    timeout: Duration,
    start_period: Duration,
    start_interval: Duration,
    retries: i64,
}

fn or_default(ns: i64, default: Duration) -> Duration {
    u64::try_from(ns)
        .ok()
        .filter(|n| *n > 0)
        .map_or(default, Duration::from_nanos)
}

impl Check {
    /// The check the container runs; `None` without one (no `Healthcheck`, `NONE`).
    fn of(config: &ContainerConfig) -> Option<Check> {
        let h = config.healthcheck.as_ref().filter(|h| h.is_active())?;
        let mut argv = Vec::new();
        if h.test.first().map(String::as_str) == Some("CMD-SHELL") {
            let shell: Vec<String> = config
                .extra
                .get("Shell")
                .and_then(|s| serde_json::from_value(s.clone()).ok())
                .filter(|s: &Vec<String>| !s.is_empty())
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            argv.extend(shell);
        }
        argv.extend(h.test.iter().skip(1).cloned());
        Some(Check {
            argv,
            interval: or_default(h.interval, DEFAULT_INTERVAL),
            timeout: or_default(h.timeout, DEFAULT_TIMEOUT),
            start_period: or_default(h.start_period, DEFAULT_START_PERIOD),
            start_interval: or_default(h.start_interval, DEFAULT_START_INTERVAL),
            retries: if h.retries > 0 {
                h.retries
            } else {
                DEFAULT_RETRIES
            },
        })
    }
}

/// A probe's output as dockerd keeps it: the first [`MAX_OUTPUT`] bytes, `...` when cut.
#[derive(Default)]
struct Limited {
    buf: Vec<u8>,
    truncated: bool,
}

impl Limited {
    fn push(&mut self, data: &[u8]) {
        let keep = MAX_OUTPUT.saturating_sub(self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..keep]);
        self.truncated |= keep < data.len();
    }

    fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.buf).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

/// A probe's exec while it runs: dropped before its end (a timeout, a pause, the loop
/// ended), it kills the process and records the exec's end.
struct ProbeExec<'a> {
    engine: &'a Engine,
    id: String,
    pid: Option<i32>,
    started: bool,
    code: Option<i64>,
}

impl ProbeExec<'_> {
    fn kill(&mut self) {
        if let Some(pid) = self.pid.take().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProbeExec<'_> {
    fn drop(&mut self) {
        if self.code.is_none() {
            self.kill();
        }
        if self.started {
            self.engine
                .exec_finished(&self.id, self.code.unwrap_or(137));
        }
        // A probe's exec is gone once it ended (dockerd collects them too), so that the
        // store does not grow with every probe.
        self.engine.execs.remove(&self.id);
    }
}

impl Engine {
    /// Probes begin for a container that was just set running, if it has a check:
    /// `starting`, and a new loop (any earlier one ends).
    pub(super) fn health_start(self: &Arc<Self>, ctr: &Arc<Ctr>) {
        let rec = ctr.record();
        let Some(check) = Check::of(&rec.config) else {
            return;
        };
        let (tx, rx) = watch::channel(rec.state.paused());
        ctr.update(|r| {
            *lock(&ctr.health) = Some(tx);
            r.state.set_health_starting();
        });
        let engine = self.clone();
        let ctr = ctr.clone();
        tokio::spawn(async move { engine.probe_loop(ctr, rx, check).await });
    }

    /// The process exited: the loop ends and the status is `unhealthy`, as dockerd's.
    pub(super) fn health_stop(&self, ctr: &Ctr) {
        ctr.update(|r| {
            if lock(&ctr.health).take().is_some() {
                r.state.set_health_stopped();
            }
        });
    }

    /// Paused: probes stop (the one running is killed) and the status is `unhealthy`, as
    /// dockerd's; unpaused: they go on from a new interval.
    pub(super) fn health_paused(&self, ctr: &Ctr, paused: bool) {
        ctr.update(|r| {
            if let Some(tx) = &*lock(&ctr.health) {
                tx.send_replace(paused);
                if paused {
                    r.state.set_health_stopped();
                }
            }
        });
    }

    async fn probe_loop(
        self: Arc<Self>,
        ctr: Arc<Ctr>,
        mut ctl: watch::Receiver<bool>,
        check: Check,
    ) {
        let started = ctr.update(|r| muelle_types::time::parse_rfc3339(r.state.started_at()));
        let started = started.unwrap_or_else(SystemTime::now);
        loop {
            while *ctl.borrow_and_update() {
                if ctl.changed().await.is_err() {
                    return;
                }
            }
            let starting = ctr.update(|r| r.state.health().is_some_and(|h| h.status == STARTING));
            let in_start_period = SystemTime::now()
                .duration_since(started)
                .map_or(true, |d| d < check.start_period);
            let wait = if starting && in_start_period {
                check.start_interval
            } else {
                check.interval
            };
            tokio::select! {
                r = ctl.changed() => {
                    if r.is_err() { return; }
                    continue;
                }
                _ = tokio::time::sleep(wait) => {}
            }
            let result = tokio::select! {
                r = ctl.changed() => {
                    if r.is_err() { return; }
                    continue;
                }
                r = self.probe(&ctr, &check) => r,
            };
            let within = muelle_types::time::parse_rfc3339(&result.start)
                .and_then(|t| t.duration_since(started).ok())
                .is_some_and(|d| d < check.start_period);
            let changed = ctr.update(|r| {
                // Stopped or paused while the probe ran: its result is not the container's.
                if ctl.has_changed().unwrap_or(true) || !r.state.running() {
                    return None;
                }
                r.state
                    .record_health_probe(result, check.retries, within)
                    .map(|s| (s, r.clone()))
            });
            if let Some((status, rec)) = changed {
                self.save_or_warn(&rec, "a health status");
                self.container_event(&rec, &format!("health_status: {status}"), &[]);
            }
        }
    }

    /// Runs one probe: its result, exit code -1 when it could not run or timed out.
    async fn probe(&self, ctr: &Ctr, check: &Check) -> HealthcheckResult {
        let start = now();
        let failed = |start: String, output: String| HealthcheckResult {
            start,
            end: now(),
            exit_code: -1,
            output,
        };
        let e = ExecRecord {
            id: String::new(),
            container: ctr.id.clone(),
            cmd: check.argv.clone(),
            env: Vec::new(),
            user: String::new(),
            working_dir: String::new(),
            tty: false,
            privileged: false,
            attach_stdin: false,
            attach_stdout: true,
            attach_stderr: true,
            detach_keys: String::new(),
            running: false,
            started: false,
            exit_code: None,
            pid: 0,
        };
        let id = match self.exec_create(&ctr.id, e) {
            Ok(id) => id,
            Err(e) => return failed(start, e.to_string()),
        };
        let mut exec = ProbeExec {
            engine: self,
            id,
            pid: None,
            started: false,
            code: None,
        };
        let mut stream = match self.exec_start(&exec.id).await {
            Ok((s, rec)) => {
                exec.pid = i32::try_from(rec.pid).ok();
                exec.started = true;
                s
            }
            Err(e) => return failed(start, e.to_string()),
        };
        let mut out = Limited::default();
        let read = async {
            loop {
                match stream.next().await {
                    Ok(Some(Output::Stdout(b) | Output::Stderr(b))) => out.push(&b),
                    Ok(Some(Output::Exit(c))) => return i64::from(c),
                    Ok(None) | Err(_) => return -1,
                }
            }
        };
        match tokio::time::timeout(check.timeout, read).await {
            Ok(code) => {
                exec.code = Some(code);
                HealthcheckResult {
                    start,
                    end: now(),
                    exit_code: code,
                    output: out.text(),
                }
            }
            Err(_) => {
                // As dockerd: killed, waited for (dying probes must not pile up), failed.
                exec.kill();
                let drain = async {
                    while let Ok(Some(o)) = stream.next().await {
                        match o {
                            Output::Stdout(b) | Output::Stderr(b) => out.push(&b),
                            Output::Exit(c) => return i64::from(c),
                        }
                    }
                    137
                };
                exec.code = Some(tokio::time::timeout(KILL_GRACE, drain).await.unwrap_or(137));
                let limit = format_go_duration(check.timeout);
                let o = out.text();
                let output = if o.is_empty() {
                    format!("Health check exceeded timeout ({limit})")
                } else {
                    format!("Health check exceeded timeout ({limit}): {o}")
                };
                failed(start, output)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_as_dockerd() {
        let mut l = Limited::default();
        l.push(&[b'a'; 4000]);
        l.push(&[b'b'; 200]);
        let t = l.text();
        assert_eq!(t.len(), MAX_OUTPUT + 3);
        assert!(t.ends_with("bb..."));
    }

    #[test]
    fn checks_take_dockers_defaults() {
        let mut c = ContainerConfig::default();
        assert!(Check::of(&c).is_none());
        c.healthcheck = Some(HealthConfig {
            test: vec!["NONE".into()],
            ..HealthConfig::default()
        });
        assert!(Check::of(&c).is_none());
        c.healthcheck = Some(HealthConfig {
            test: vec!["CMD-SHELL".into(), "exit 1".into()],
            retries: 0,
            ..HealthConfig::default()
        });
        let k = Check::of(&c).expect("a check");
        assert_eq!(k.argv, ["/bin/sh", "-c", "exit 1"]);
        assert_eq!((k.interval, k.timeout), (DEFAULT_INTERVAL, DEFAULT_TIMEOUT));
        assert_eq!((k.start_interval, k.retries), (DEFAULT_START_INTERVAL, 3));
        let bad = HealthConfig {
            interval: 5,
            ..HealthConfig::default()
        };
        assert!(validate(Some(&bad)).is_err());
    }
}
