//! `docker kill`, `docker stop` (the stop signal, SIGKILL after the timeout) and
//! `docker restart` (stop, then start under the same operation lock).

use std::sync::Arc;
use std::time::Duration;

use super::runtime_ops::SIGKILL;
use super::{ensure_running, parse_signal, ContainerError, Ctr};
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Sends a signal to the container's process (Docker's kill).
    pub async fn kill_container(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let sig = parse_signal(signal.unwrap_or("KILL"))?;
        let rec = ctr.record();
        ensure_running(&rec)?;
        // As Docker: a killed container counts as stopped by hand for `unless-stopped`.
        ctr.update(|r| r.stopped_by_user = true);
        self.signal(&rec.id, sig, false)?;
        self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        if sig == SIGKILL {
            // As dockerd: a KILL returns once the container is down (for at most 2 s), so a
            // client that inspects right after sees it stopped.
            self.wait_stopped(&ctr, Duration::from_secs(2)).await;
        }
        Ok(())
    }

    /// Waits until the container is not running (true) or `timeout` passes (false).
    pub(super) async fn wait_stopped(&self, ctr: &Ctr, timeout: Duration) -> bool {
        let mut rx = ctr.progress.subscribe();
        let fut = rx.wait_for(|p| !p.running);
        tokio::time::timeout(timeout, fut)
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Docker's stop: the stop signal, then SIGKILL after the timeout.
    pub async fn stop_container(
        &self,
        name_or_id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        self.stop_locked(&ctr, signal, timeout).await
    }

    pub(super) async fn stop_locked(
        &self,
        ctr: &Ctr,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let rec = ctr.record();
        if !rec.state.running() {
            if rec.state.restarting() {
                ctr.update(|r| r.stopped_by_user = true);
                return Ok(());
            }
            return Err(ContainerError::NotModified("container already stopped".into()).into());
        }
        let sig = parse_signal(
            signal
                .or(rec.config.stop_signal.as_deref())
                .unwrap_or("TERM"),
        )?;
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        let rec = ctr.update(|r| {
            r.stopped_by_user = true;
            r.clone()
        });
        // Written so that a daemon restart does not bring back (`unless-stopped`) what was
        // stopped by hand; the stop itself goes on either way, and the exit's save retries.
        self.save_or_warn(&rec, "a stop");
        if self.signal(&rec.id, sig, false).is_ok() {
            self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        }
        let grace = if timeout < 0 {
            Duration::from_secs(u64::MAX / 4)
        } else {
            Duration::from_secs(timeout as u64)
        };
        if !self.wait_stopped(ctr, grace).await {
            let _ = self.signal(&rec.id, SIGKILL, true);
            self.container_event(&rec, "kill", &[("signal", "9".into())]);
            if !self.wait_stopped(ctr, Duration::from_secs(30)).await {
                return Err(ContainerError::Internal(format!(
                    "container {} did not stop after SIGKILL",
                    rec.id
                ))
                .into());
            }
        }
        self.container_event(&ctr.record(), "stop", &[]);
        Ok(())
    }

    pub async fn restart_container(
        self: &Arc<Self>,
        name_or_id: &str,
        signal: Option<&str>,
        timeout: Option<i64>,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        if ctr.record().state.removing() {
            return Err(ContainerError::Conflict(
                "container is marked for removal and cannot be started".into(),
            )
            .into());
        }
        match self.stop_locked(&ctr, signal, timeout).await {
            Ok(()) => {}
            Err(EngineError::Container(ContainerError::NotModified(_))) => {}
            Err(e) => return Err(e),
        }
        self.start_locked(&ctr).await?;
        self.container_event(&ctr.record(), "restart", &[]);
        Ok(())
    }
}
