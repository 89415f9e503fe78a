//! A container's state: what its process did (running, paused, exit code, times) and where
//! its life is (restarting, being removed, dead). The transitions below are the only
//! writers; the status Docker shows (`created`, `running`, `paused`, `restarting`,
//! `removing`, `exited`, `dead`) is derived from the flags, never stored beside them, so
//! the two cannot disagree.
//!
//! On disk (config.v2.json) and in inspect the state has Docker's shape,
//! [`ContainerState`], with the derived `Status` written too so older readers find it.
//! Records of older versions are read as they are (a stored `Status` of `dead` sets the
//! flag they did not).

use std::time::SystemTime;

use muelle_types::container::health::{HEALTHY, STARTING, UNHEALTHY};
use muelle_types::container::{ContainerState, Health, HealthcheckResult};
use serde::{Deserialize, Serialize};

/// Go's zero `time.Time`, which Docker shows for a time that has not happened.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Docker's container status, derived by [`State::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine records of a container's life. Read through the accessors; change only
/// through the `set_*` transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ContainerState", into = "ContainerState")]
pub struct State {
    running: bool,
    paused: bool,
    /// Between an exit and the restart its policy asked for (no process meanwhile).
    restarting: bool,
    /// A removal is under way; not kept on disk (a removal either ends the record or
    /// leaves it dead).
    removing: bool,
    /// A removal failed part way: the container cannot start again, only be removed.
    dead: bool,
    oom_killed: bool,
    pid: i64,
    exit_code: i64,
    error: String,
    started_at: String,
    finished_at: String,
    /// What the health probes found; `None` for a container without a check (or one that
    /// never ran with it). Kept across restarts, as its log is.
    health: Option<Health>,
}

/// How many probe results `State.Health.Log` keeps, as dockerd.
pub const HEALTH_LOG_ENTRIES: usize = 5;

impl State {
    /// A container that never ran.
    pub fn created() -> Self {
        State {
            running: false,
            paused: false,
            restarting: false,
            removing: false,
            dead: false,
            oom_killed: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }

    pub fn status(&self) -> Status {
        if self.running {
            if self.paused {
                Status::Paused
            } else {
                Status::Running
            }
        } else if self.removing {
            Status::Removing
        } else if self.dead {
            Status::Dead
        } else if self.restarting {
            Status::Restarting
        } else if !self.has_started() {
            Status::Created
        } else {
            Status::Exited
        }
    }

    pub fn running(&self) -> bool {
        self.running
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn restarting(&self) -> bool {
        self.restarting
    }

    pub fn removing(&self) -> bool {
        self.removing
    }

    pub fn dead(&self) -> bool {
        self.dead
    }

    pub fn oom_killed(&self) -> bool {
        self.oom_killed
    }

    pub fn pid(&self) -> i64 {
        self.pid
    }

    pub fn exit_code(&self) -> i64 {
        self.exit_code
    }

    /// The last error (a failed start, a lost supervisor, a failed removal); empty if none.
    pub fn error(&self) -> &str {
        &self.error
    }

    pub fn started_at(&self) -> &str {
        &self.started_at
    }

    pub fn finished_at(&self) -> &str {
        &self.finished_at
    }

    /// What the health probes found, if the container has a check.
    pub fn health(&self) -> Option<&Health> {
        self.health.as_ref()
    }

    /// Probes begin (a start, a restart, a daemon that found the container again):
    /// `starting` with no failures, the log of earlier runs kept.
    pub fn set_health_starting(&mut self) {
        let h = self.health.get_or_insert_with(Health::default);
        h.status = STARTING.into();
        h.failing_streak = 0;
    }

    /// Probes stopped (the process exited or was paused): dockerd calls that `unhealthy`.
    pub fn set_health_stopped(&mut self) {
        if let Some(h) = &mut self.health {
            h.status = UNHEALTHY.into();
        }
    }

    /// A probe's result by dockerd's rules: exit 0 is healthy and clears the streak; any
    /// other result adds a failure (unless the container is still `starting` within its
    /// start period), and `retries` failures in a row make it unhealthy. The new status
    /// when it changed.
    pub fn record_health_probe(
        &mut self,
        result: HealthcheckResult,
        retries: i64,
        within_start_period: bool,
    ) -> Option<String> {
        let h = self.health.get_or_insert_with(Health::default);
        let old = h.status.clone();
        if h.log.len() >= HEALTH_LOG_ENTRIES {
            h.log.drain(..=h.log.len() - HEALTH_LOG_ENTRIES);
        }
        let passed = result.exit_code == 0;
        h.log.push(result);
        if passed {
            h.failing_streak = 0;
            h.status = HEALTHY.into();
        } else if !(h.status == STARTING && within_start_period) {
            h.failing_streak += 1;
            if h.failing_streak >= retries {
                h.status = UNHEALTHY.into();
            }
        }
        (h.status != old).then(|| h.status.clone())
    }

    /// Whether the container's process ever started.
    pub fn has_started(&self) -> bool {
        !self.started_at.is_empty() && self.started_at != ZERO_TIME
    }

    /// The process runs (started now, or found again after a daemon restart): everything
    /// left from the run before is cleared.
    pub fn set_running(&mut self, pid: i64, started_at: String) {
        *self = State {
            running: true,
            pid,
            started_at,
            finished_at: std::mem::take(&mut self.finished_at),
            health: self.health.take(),
            ..State::created()
        };
    }

    /// The process ended. `error` replaces the last error when given (the supervisor died
    /// without recording the exit).
    pub fn set_exited(
        &mut self,
        exit_code: i64,
        finished_at: String,
        oom_killed: bool,
        error: Option<String>,
    ) {
        self.running = false;
        self.paused = false;
        self.restarting = false;
        self.pid = 0;
        self.exit_code = exit_code;
        self.oom_killed = oom_killed;
        self.finished_at = finished_at;
        if let Some(e) = error {
            self.error = e;
        }
    }

    /// A start failed before the process ran: the container is as before (created or
    /// exited), with the exit code and error Docker gives that failure.
    pub fn set_start_failed(&mut self, exit_code: i64, error: String, finished_at: Option<String>) {
        self.running = false;
        self.restarting = false;
        self.exit_code = exit_code;
        self.error = error;
        if let Some(f) = finished_at {
            self.finished_at = f;
        }
    }

    /// Waiting for (true) or done waiting for (false) a restart of the policy.
    pub fn set_restarting(&mut self, restarting: bool) {
        self.restarting = restarting;
    }

    /// Frozen (true) or thawed (false).
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// A removal started: no restart of the policy follows.
    pub fn set_removing(&mut self) {
        self.removing = true;
        self.restarting = false;
    }

    /// A removal failed part way (as dockerd's SetRemovalError).
    pub fn set_dead(&mut self, error: String) {
        self.removing = false;
        self.dead = true;
        self.error = error;
    }

    /// Docker's `State` of inspect, status included.
    pub fn to_docker(&self) -> ContainerState {
        ContainerState {
            status: self.status().as_str().to_string(),
            running: self.running,
            paused: self.paused,
            restarting: self.restarting,
            oom_killed: self.oom_killed,
            dead: self.dead,
            pid: self.pid,
            exit_code: self.exit_code,
            error: self.error.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            health: self.health.clone(),
        }
    }

    /// Docker's `Status` text of `ps`: `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`.
    pub fn status_text(&self, now: SystemTime) -> String {
        let since = |t: &str| {
            muelle_types::time::parse_rfc3339(t)
                .and_then(|t| now.duration_since(t).ok())
                .map(muelle_types::time::human_duration)
                .unwrap_or_else(|| "Less than a second".into())
        };
        match self.status() {
            Status::Running => match &self.health {
                Some(h) if h.status == STARTING => {
                    format!("Up {} (health: starting)", since(&self.started_at))
                }
                Some(h) => format!("Up {} ({})", since(&self.started_at), h.status),
                None => format!("Up {}", since(&self.started_at)),
            },
            Status::Paused => format!("Up {} (Paused)", since(&self.started_at)),
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                since(&self.finished_at)
            ),
            Status::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                since(&self.finished_at)
            ),
            Status::Created => "Created".into(),
            Status::Removing => "Removal In Progress".into(),
            Status::Dead => "Dead".into(),
        }
    }
}

impl From<State> for ContainerState {
    fn from(s: State) -> Self {
        s.to_docker()
    }
}

impl From<ContainerState> for State {
    fn from(s: ContainerState) -> Self {
        State {
            running: s.running,
            paused: s.paused,
            restarting: s.restarting,
            removing: false,
            // Records written before the flag was kept said so only in their status.
            dead: s.dead || s.status == "dead",
            oom_killed: s.oom_killed,
            pid: s.pid,
            exit_code: s.exit_code,
            error: s.error,
            started_at: s.started_at,
            finished_at: s.finished_at,
            health: s.health,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-01-01T00:00:00.000000001Z";

    #[test]
    fn status_follows_the_transitions() {
        let mut s = State::created();
        assert_eq!(s.status(), Status::Created);
        s.set_start_failed(127, "not found".into(), Some(T.into()));
        assert_eq!(s.status(), Status::Created, "it never ran");
        s.set_running(42, T.into());
        assert_eq!(
            (s.status(), s.pid(), s.exit_code()),
            (Status::Running, 42, 0)
        );
        assert_eq!(s.error(), "");
        s.set_paused(true);
        assert_eq!(s.status(), Status::Paused);
        s.set_exited(137, T.into(), true, None);
        assert_eq!(s.status(), Status::Exited);
        assert!(!s.paused() && s.oom_killed() && s.pid() == 0);
        s.set_restarting(true);
        assert_eq!(s.status(), Status::Restarting);
        s.set_start_failed(128, "boom".into(), None);
        assert_eq!(s.status(), Status::Exited);
        s.set_removing();
        assert_eq!(s.status(), Status::Removing);
        s.set_dead("removal failed: disk full".into());
        assert_eq!(s.status(), Status::Dead);
        assert!(s.dead() && !s.removing());
    }

    #[test]
    fn records_of_older_versions_read_with_their_status() {
        let old = serde_json::json!({
            "Status": "dead", "Running": false, "Paused": false, "Restarting": false,
            "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": 1,
            "Error": "removal failed", "StartedAt": T, "FinishedAt": T
        });
        let s: State = serde_json::from_value(old).unwrap();
        assert_eq!(s.status(), Status::Dead);
        let written = serde_json::to_value(&s).unwrap();
        assert_eq!(written["Status"], "dead");
        assert_eq!(written["Dead"], true);
        let running = serde_json::json!({
            "Status": "running", "Running": true, "Paused": false, "Restarting": false,
            "OOMKilled": false, "Dead": false, "Pid": 7, "ExitCode": 0,
            "Error": "", "StartedAt": T, "FinishedAt": ZERO_TIME
        });
        let s: State = serde_json::from_value(running.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), running);
    }

    #[test]
    fn ps_status_text() {
        let now = muelle_types::time::parse_rfc3339(T).unwrap();
        let mut s = State::created();
        assert_eq!(s.status_text(now), "Created");
        s.set_running(1, T.into());
        assert!(s.status_text(now).starts_with("Up "));
        s.set_exited(3, T.into(), false, None);
        assert!(s.status_text(now).starts_with("Exited (3) "));
        s.set_running(1, T.into());
        s.set_health_starting();
        assert!(s.status_text(now).ends_with(" (health: starting)"));
        s.set_health_stopped();
        assert!(s.status_text(now).ends_with(" (unhealthy)"));
    }

    fn probe(code: i64) -> HealthcheckResult {
        HealthcheckResult {
            exit_code: code,
            ..HealthcheckResult::default()
        }
    }

    #[test]
    fn health_follows_dockerds_rules() {
        let mut s = State::created();
        assert!(s.health().is_none());
        s.set_running(1, T.into());
        s.set_health_starting();
        // Failures within the start period do not count while starting.
        assert_eq!(s.record_health_probe(probe(1), 2, true), None);
        assert_eq!(s.health().unwrap().failing_streak, 0);
        assert_eq!(
            s.record_health_probe(probe(0), 2, true).as_deref(),
            Some(HEALTHY)
        );
        // Once healthy, the start period no longer shields failures.
        assert_eq!(s.record_health_probe(probe(1), 2, true), None);
        assert_eq!(
            s.record_health_probe(probe(-1), 2, false).as_deref(),
            Some(UNHEALTHY)
        );
        for _ in 0..4 {
            s.record_health_probe(probe(1), 2, false);
        }
        let h = s.health().unwrap();
        assert_eq!((h.failing_streak, h.log.len()), (6, HEALTH_LOG_ENTRIES));
        s.set_exited(0, T.into(), false, None);
        s.set_running(2, T.into());
        s.set_health_starting();
        let h = s.health().unwrap();
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        assert_eq!(
            h.log.len(),
            HEALTH_LOG_ENTRIES,
            "the log outlives a restart"
        );
    }
}
