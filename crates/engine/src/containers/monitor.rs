//! A container's exit: learned from the supervisor's answer to the `wait` opened at start
//! (or from its exit record when it is gone), recorded, announced (`oom` when the OOM killer
//! was at work, then `die`), and followed by
//! what the container asked for: `--rm`, or a restart of its policy after the back-off.

use std::sync::Arc;
use std::time::SystemTime;

use super::restart::{self, Cause, Decision, Facts};
use super::runtime_ops::RuntimeOp;
use super::{now, shim, Ctr, EXIT_FILE};
use crate::Engine;

impl Engine {
    /// Waits for the shim to report the exit (or finds the exit file when the shim is gone).
    pub(super) async fn monitor(self: Arc<Self>, ctr: Arc<Ctr>, waiter: Option<shim::Waiter>) {
        let oom = self.oom_watch(&ctr);
        let mut reply = None;
        if let Some(w) = waiter {
            ctr.progress.send_modify(|p| p.shim_busy = true);
            if let Ok((record, gone)) = w.exit().await {
                reply = Some(record);
                let c2 = ctr.clone();
                tokio::spawn(async move {
                    gone.wait().await;
                    c2.progress.send_modify(|p| p.shim_busy = false);
                });
            }
        }
        let answered = reply.is_some();
        if !answered {
            ctr.progress.send_modify(|p| p.shim_busy = false);
            // The shim went away without answering, or we reconnect late: its exit file
            // has the answer; in the bundle (exec root) when the data root had no room.
            reply = shim::read_exit_file(&self.containers.data_dir(&ctr.id).join(EXIT_FILE))
                .or_else(|| shim::read_exit_file(&self.containers.bundle(&ctr.id).join(EXIT_FILE)));
        }
        let oom_killed = reply.as_ref().is_some_and(|r| r.oom_killed);
        // The exit's work is boxed when it comes: inline, every running container's
        // monitor would hold room for its largest state all the while it waits.
        match oom {
            Some(w) => Box::pin(w.finish(&self, &ctr, oom_killed)).await,
            None if oom_killed => self.container_event(&ctr.record(), "oom", &[]),
            None => {}
        }
        Box::pin(self.on_exit(&ctr, reply, answered)).await;
    }

    /// `answered`: the exit came from a live supervisor, which has deleted the runtime's
    /// container and unmounts the rootfs itself (after answering: the unmount's RCU wait
    /// is not for the waiters to pay). Otherwise the daemon does both.
    async fn on_exit(
        self: &Arc<Self>,
        ctr: &Arc<Ctr>,
        reply: Option<shim::ExitRecord>,
        answered: bool,
    ) {
        let t0 = std::time::Instant::now();
        let code = reply.as_ref().map_or(255, |r| i64::from(r.exit_code));
        let oom = reply.as_ref().is_some_and(|r| r.oom_killed);
        let finished = reply
            .as_ref()
            .map(|r| r.finished_at.clone())
            .unwrap_or_else(now);
        if !answered {
            let rootfs = self.rootfs_path(&ctr.id);
            let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
            let _ = self.runtime(&ctr.id, RuntimeOp::Delete);
        }
        super::namespaces::unmount_shm(&self.containers.bundle(&ctr.id));
        self.unmount_volumes(&ctr.id, &ctr.record().mounts);
        self.network_down(ctr).await;
        let lost = reply
            .is_none()
            .then(|| "the container's supervisor died without recording an exit".to_string());
        self.health_stop(ctr);
        let rec = ctr.update(|r| {
            r.state.set_exited(code, finished.clone(), oom, lost);
            r.clone()
        });
        let facts = Facts::of(&rec);
        let decision = restart::decide(Cause::Exited(code), &facts);
        // The exit lives on in memory and in the shim's exit record; a later save (remove,
        // start) writes it. A container about to be removed needs no record of its exit.
        if !matches!(decision, Decision::Remove) {
            self.save_or_warn(&rec, "the exit");
        }
        self.execs.container_exited(&ctr.id);
        tracing::debug!(container = %ctr.id, lag = ?muelle_types::time::parse_rfc3339(&finished).and_then(|f| SystemTime::now().duration_since(f).ok()), settled_us = t0.elapsed().as_micros() as u64, "exited");
        self.container_event(&rec, "die", &[("exitCode", code.to_string())]);
        ctr.progress.send_modify(|p| {
            p.exits += 1;
            p.running = false;
        });
        match decision {
            Decision::Stay => {}
            Decision::Remove => {
                let engine = self.clone();
                let id = ctr.id.clone();
                tokio::spawn(async move {
                    if let Err(e) = engine.auto_remove(&id).await {
                        tracing::warn!(container = %id, error = %e, "auto-remove failed");
                    }
                });
            }
            Decision::Restart { delay } => {
                let engine = self.clone();
                let ctr = ctr.clone();
                tokio::spawn(async move { engine.restart_after(ctr, delay).await });
            }
        }
    }

    /// The policy's restart: marked restarting for the back-off, then started unless a
    /// stop, a start or a removal came meanwhile.
    async fn restart_after(self: Arc<Self>, ctr: Arc<Ctr>, delay: std::time::Duration) {
        ctr.update(|r| r.state.set_restarting(true));
        tokio::time::sleep(delay).await;
        let Ok(_op) = ctr.lock_op().await else {
            return;
        };
        let rec = ctr.record();
        if rec.stopped_by_user || rec.state.running() || rec.state.removing() {
            ctr.update(|r| r.state.set_restarting(false));
            return;
        }
        ctr.update(|r| r.restart_count += 1);
        // Restarting until the start is over: it clears the flag when the process runs or
        // fails to, but not when it fails before (a rootfs that would not mount).
        if let Err(e) = self.start_locked(&ctr).await {
            tracing::warn!(container = %ctr.id, error = %e, "restart failed");
            ctr.update(|r| r.state.set_restarting(false));
        }
    }
}
