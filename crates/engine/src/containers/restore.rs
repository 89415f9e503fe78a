//! After a daemon restart: each record's supervisor asked for its `status`; live ones are
//! monitored again, dead ones settled from their exit record and restarted when their
//! policy says so; what a crash cut short (a directory without a record, a snapshot
//! without a container) is undone.

use std::sync::Arc;

use futures_util::StreamExt;

use super::restart::{self, Cause, Decision, Facts};
use super::runtime_ops::{RuntimeOp, SIGKILL};
use super::{container_key, now, shim, Containers, Ctr};
use crate::Engine;

/// How long the daemon start waits for the exit of a container it killed.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many containers are restored at once: each waits mostly on its supervisor's
/// socket, so a daemon with hundreds running starts in a few round trips' time.
const RESTORE_CONCURRENCY: usize = 64;

impl Engine {
    /// Finds the supervisors of running containers again after a daemon restart, and
    /// settles the ones that ended while the daemon was away.
    pub async fn restore_containers(self: &Arc<Self>) {
        self.remove_orphans().await;
        futures_util::stream::iter(self.containers.all())
            .for_each_concurrent(RESTORE_CONCURRENCY, |ctr| self.restore_one(ctr))
            .await;
    }

    /// One container's supervisor found again, or its end settled.
    async fn restore_one(self: &Arc<Self>, ctr: Arc<Ctr>) {
        let rec = ctr.record();
        let bundle = self.containers.bundle(&rec.id);
        let supervisor = shim::client(&bundle);
        let status = supervisor.status().await;
        match status {
            Ok(v) => {
                let pid = i64::from(v.pid);
                let waiter = supervisor.wait().await.ok();
                if !rec.state.running() {
                    // Killed mid-start: the shim made the container but was never told
                    // to start it. Nobody can attach to it now; end it, and settle its
                    // exit before the daemon answers anyone: a client must not see it
                    // running (and exec into it) in between.
                    if !v.running {
                        let _ = self.signal(&rec.id, SIGKILL, true);
                        // Its volumes were mounted before its supervisor was made; the
                        // exit releases them.
                        self.readopt_volumes(&rec.id, &rec.mounts);
                        self.settle_unstarted(ctr, pid, waiter).await;
                        return;
                    }
                    ctr.update(|r| {
                        let started = if r.state.has_started() {
                            r.state.started_at().to_string()
                        } else {
                            now()
                        };
                        r.state.set_running(pid, started);
                    });
                }
                ctr.progress.send_modify(|p| p.running = true);
                self.readopt_volumes(&rec.id, &rec.mounts);
                if let Err(e) = self.network_restore(&ctr.record()).await {
                    tracing::warn!(container = %rec.id, error = %e, "restoring the container's networking");
                }
                self.health_start(&ctr);
                let engine = self.clone();
                tokio::spawn(async move { engine.monitor(ctr, waiter).await });
            }
            Err(_) if rec.state.running() => {
                self.readopt_volumes(&rec.id, &rec.mounts);
                let engine = self.clone();
                tokio::spawn(async move { engine.monitor(ctr, None).await });
            }
            Err(_) => {
                let rootfs = self.rootfs_path(&rec.id);
                let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                let _ = self.runtime(&rec.id, RuntimeOp::Delete);
                let facts = Facts::of(&rec);
                if let Decision::Restart { .. } = restart::decide(Cause::DaemonStarted, &facts) {
                    let engine = self.clone();
                    tokio::spawn(async move {
                        let Ok(_op) = ctr.lock_op().await else {
                            return;
                        };
                        if let Err(e) = engine.start_locked(&ctr).await {
                            tracing::warn!(container = %ctr.id, error = %e, "restart at daemon start failed");
                        }
                    });
                }
            }
        }
    }

    /// Records the end of a container whose start a crash cut short, as an exit of a
    /// started container (`die`, `--rm`, its restart policy), waiting for it up to
    /// [`SETTLE_LIMIT`]; after that the exit is recorded whenever it comes.
    async fn settle_unstarted(
        self: &Arc<Self>,
        ctr: Arc<Ctr>,
        pid: i64,
        waiter: Option<shim::Waiter>,
    ) {
        ctr.update(|r| r.state.set_running(pid, now()));
        ctr.progress.send_modify(|p| p.running = true);
        let engine = self.clone();
        let id = ctr.id.clone();
        let settled = tokio::spawn(async move { engine.monitor(ctr, waiter).await });
        if tokio::time::timeout(SETTLE_LIMIT, settled).await.is_err() {
            tracing::warn!(container = %id, "the exit of a container killed at daemon start is late");
        }
    }

    /// Undoes creates and removals that a crash cut short: a directory without a record, a
    /// bundle without a container, a rootfs snapshot without a container.
    async fn remove_orphans(&self) {
        let known = self.containers.ids();
        if let Ok(rd) = std::fs::read_dir(self.containers.dir()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) && !Containers::has_record(&e.path()) {
                    tracing::info!(container = %name, "removing the remains of an unfinished create");
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        // A removal the daemon's end cut short leaves the bundle with the rootfs mounted.
        if let Ok(rd) = std::fs::read_dir(self.containers.run_dir()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                // An unreadable record's container may still run: only what has no record.
                let recorded = Containers::has_record(&self.containers.data_dir(&name));
                if !known.contains(&name) && !recorded && e.path().is_dir() {
                    let _ = rustix::mount::unmount(
                        e.path().join("rootfs"),
                        rustix::mount::UnmountFlags::DETACH,
                    );
                    super::namespaces::unmount_shm(&e.path());
                    let _ = self.runtime(&name, RuntimeOp::Delete);
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let images = self.images_handle();
        let _ = tokio::task::spawn_blocking(move || {
            let Ok(snaps) = images.meta().list_snapshots() else {
                return;
            };
            for s in snaps {
                if let Some(id) = s.key.strip_prefix(&container_key("")) {
                    if !known.contains(id) {
                        tracing::info!(snapshot = %s.key, "removing the rootfs of a container that was never recorded");
                        let _ = images.remove_rootfs(&s.key);
                    }
                }
            }
        })
        .await;
    }
}
