//! The restart policy, decided in one place: after a container's process exits, and when
//! the daemon starts and finds a container that stopped while it was away. Pure, so every
//! rule is a unit test.

use std::time::Duration;

use muelle_types::container::RestartPolicy;

use super::ContainerRecord;

/// What led to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The process exited with this code while the daemon watched.
    Exited(i64),
    /// The daemon started and found the container stopped.
    DaemonStarted,
}

/// What the container's record says that matters for the decision.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub policy: &'a RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    pub restart_count: i64,
    /// A stop, kill or removal was asked for (Docker's "manually stopped").
    pub stopped_by_user: bool,
    /// The process ever started.
    pub has_started: bool,
    /// A removal failed part way: its rootfs may be gone.
    pub dead: bool,
}

impl<'a> Facts<'a> {
    pub fn of(rec: &'a ContainerRecord) -> Self {
        Facts {
            policy: &rec.host_config.restart_policy,
            auto_remove: rec.host_config.auto_remove,
            restart_count: rec.restart_count,
            stopped_by_user: rec.stopped_by_user,
            has_started: rec.state.has_started(),
            dead: rec.state.dead(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Leave it stopped.
    Stay,
    /// `--rm`: remove it.
    Remove,
    /// Start it again after `delay`.
    Restart { delay: Duration },
}

/// The back-off before the next restart: 100 ms doubling with each restart, at most 51.2 s.
pub fn backoff(restart_count: i64) -> Duration {
    Duration::from_millis(100u64 << restart_count.clamp(0, 9) as u64)
}

/// Docker's rules. After an exit: `--rm` removes; `always` and `unless-stopped` restart
/// unless stopped by hand; `on-failure[:N]` restarts a non-zero exit unless stopped by hand,
/// up to N times (0 = no limit). At daemon start, as dockerd: `always` brings back whatever
/// ran before, even if stopped by hand, `unless-stopped` only what was not; `on-failure`
/// and `--rm` do nothing; a dead container stays.
pub fn decide(cause: Cause, f: &Facts<'_>) -> Decision {
    if f.dead {
        return Decision::Stay;
    }
    let policy = f.policy.name.as_str();
    let restart = match cause {
        Cause::Exited(code) => {
            if f.auto_remove {
                return Decision::Remove;
            }
            match policy {
                "always" | "unless-stopped" => !f.stopped_by_user,
                "on-failure" => {
                    code != 0
                        && !f.stopped_by_user
                        && (f.policy.maximum_retry_count == 0
                            || f.restart_count < f.policy.maximum_retry_count)
                }
                _ => false,
            }
        }
        Cause::DaemonStarted => match policy {
            "always" => f.has_started,
            "unless-stopped" => f.has_started && !f.stopped_by_user,
            _ => false,
        },
    };
    if !restart {
        return Decision::Stay;
    }
    let delay = match cause {
        Cause::Exited(_) => backoff(f.restart_count),
        Cause::DaemonStarted => Duration::ZERO,
    };
    Decision::Restart { delay }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, max: i64) -> RestartPolicy {
        RestartPolicy {
            name: name.into(),
            maximum_retry_count: max,
        }
    }

    fn facts(p: &RestartPolicy) -> Facts<'_> {
        Facts {
            policy: p,
            auto_remove: false,
            restart_count: 0,
            stopped_by_user: false,
            has_started: true,
            dead: false,
        }
    }

    fn restarts(d: Decision) -> bool {
        matches!(d, Decision::Restart { .. })
    }

    #[test]
    fn after_an_exit() {
        for name in ["always", "unless-stopped"] {
            let p = policy(name, 0);
            assert_eq!(
                decide(Cause::Exited(0), &facts(&p)),
                Decision::Restart {
                    delay: Duration::from_millis(100)
                }
            );
            let stopped = Facts {
                stopped_by_user: true,
                ..facts(&p)
            };
            assert_eq!(decide(Cause::Exited(1), &stopped), Decision::Stay);
        }
        for name in ["", "no"] {
            let p = policy(name, 0);
            assert_eq!(decide(Cause::Exited(1), &facts(&p)), Decision::Stay);
        }
        let p = policy("no", 0);
        let rm = Facts {
            auto_remove: true,
            ..facts(&p)
        };
        assert_eq!(decide(Cause::Exited(0), &rm), Decision::Remove);
    }

    #[test]
    fn on_failure_counts_retries() {
        let p = policy("on-failure", 2);
        assert_eq!(decide(Cause::Exited(0), &facts(&p)), Decision::Stay);
        assert!(restarts(decide(Cause::Exited(3), &facts(&p))));
        let second = Facts {
            restart_count: 1,
            ..facts(&p)
        };
        assert_eq!(
            decide(Cause::Exited(3), &second),
            Decision::Restart {
                delay: Duration::from_millis(200)
            }
        );
        let spent = Facts {
            restart_count: 2,
            ..facts(&p)
        };
        assert_eq!(decide(Cause::Exited(3), &spent), Decision::Stay);
        let unlimited = policy("on-failure", 0);
        let many = Facts {
            restart_count: 50,
            ..facts(&unlimited)
        };
        assert_eq!(
            decide(Cause::Exited(1), &many),
            Decision::Restart {
                delay: Duration::from_millis(51_200)
            }
        );
    }

    #[test]
    fn at_daemon_start() {
        let always = policy("always", 0);
        let by_hand = Facts {
            stopped_by_user: true,
            ..facts(&always)
        };
        assert_eq!(
            decide(Cause::DaemonStarted, &by_hand),
            Decision::Restart {
                delay: Duration::ZERO
            }
        );
        let never_ran = Facts {
            has_started: false,
            ..facts(&always)
        };
        assert_eq!(decide(Cause::DaemonStarted, &never_ran), Decision::Stay);
        let dead = Facts {
            dead: true,
            ..facts(&always)
        };
        assert_eq!(decide(Cause::DaemonStarted, &dead), Decision::Stay);
        let unless = policy("unless-stopped", 0);
        assert!(restarts(decide(Cause::DaemonStarted, &facts(&unless))));
        let by_hand = Facts {
            stopped_by_user: true,
            ..facts(&unless)
        };
        assert_eq!(decide(Cause::DaemonStarted, &by_hand), Decision::Stay);
        let on_failure = policy("on-failure", 0);
        assert_eq!(
            decide(Cause::DaemonStarted, &facts(&on_failure)),
            Decision::Stay
        );
        let no = policy("no", 0);
        let rm = Facts {
            auto_remove: true,
            ..facts(&no)
        };
        assert_eq!(decide(Cause::DaemonStarted, &rm), Decision::Stay);
    }
}
