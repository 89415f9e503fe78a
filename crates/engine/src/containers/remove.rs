//! `docker rm`: a running container killed first when forced, then its runtime state,
//! rootfs snapshot, bundle and data directory deleted; a removal that fails part way
//! leaves the container dead, to be removed again.

use std::sync::Arc;
use std::time::Duration;

use super::runtime_ops::{RuntimeOp, SIGKILL};
use super::{container_key, ContainerError};
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Removes a container (with `force`, killing it first).
    pub async fn remove_container(&self, name_or_id: &str, force: bool) -> Result<()> {
        self.remove_container_and_volumes(name_or_id, force, false)
            .await
    }

    /// Removes a container and, with `volumes` (`rm -v`, `--rm`), its anonymous volumes.
    pub async fn remove_container_and_volumes(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        self.remove_with(name_or_id, force, volumes, None).await
    }

    /// `--rm` after the container's end: gone for every client as soon as its record is,
    /// which is what `docker run --rm` waits for; its rootfs (whose unmount waits for an
    /// RCU grace period), snapshot and directories are removed afterwards. A daemon that
    /// dies before that finds a directory without a record and a snapshot without a
    /// container, which its start removes (`restore::remove_orphans`).
    pub(super) async fn auto_remove(self: &Arc<Self>, id: &str) -> Result<()> {
        self.remove_with(id, true, true, Some(self)).await
    }

    /// `background`: the engine to clean the files up in a task of its own, after the
    /// record is gone; `None` removes everything before returning.
    async fn remove_with(
        &self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
        background: Option<&Arc<Engine>>,
    ) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        let rec = ctr.record();
        if rec.state.removing() {
            return Err(ContainerError::Conflict(format!(
                "removal of container {} is already in progress",
                rec.id
            ))
            .into());
        }
        // Between two runs of its restart policy a container has no process, but dockerd
        // counts it as running: removing it needs `force` (which also ends the restarts).
        let restarting = rec.state.restarting();
        if rec.state.running() || rec.state.paused() || restarting {
            if !force {
                let what = if rec.state.paused() {
                    "paused"
                } else if restarting {
                    "restarting"
                } else {
                    "running"
                };
                return Err(ContainerError::Conflict(format!(
                    "You cannot remove a {what} container {}. Stop the container before attempting removal or force remove",
                    rec.id
                ))
                .into());
            }
            ctr.update(|r| r.stopped_by_user = true);
        }
        if rec.state.running() || rec.state.paused() {
            let _ = self.signal(&rec.id, SIGKILL, true);
            self.container_event(&rec, "kill", &[("signal", "9".into())]);
            if !self.wait_stopped(&ctr, Duration::from_secs(30)).await {
                return Err(ContainerError::Internal(format!(
                    "could not kill running container {}, cannot remove",
                    rec.id
                ))
                .into());
            }
        }
        ctr.update(|r| r.state.set_removing());
        let id = rec.id.clone();
        let deferred = match background {
            // Without its record the container is gone, also to a daemon started later.
            Some(engine) => match self.containers.forget_record(&id) {
                Ok(()) => Some(engine.clone()),
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "removing the record; removing the rest now");
                    None
                }
            },
            None => None,
        };
        let removed = match &deferred {
            Some(_) => Ok(()),
            None => self.remove_files(&id).await,
        };
        if let Err(e) = removed {
            // As dockerd's SetRemovalError: the container is dead, not forever "removing",
            // so `rm` can be tried again (once the disk has room, say). The record is
            // written again too: the exit that led here may not have reached the disk.
            let rec = ctr.update(|r| {
                r.state.set_dead(format!("removal failed: {e}"));
                r.clone()
            });
            self.save_or_warn(&rec, "a failed removal");
            return Err(e);
        }
        self.containers.remove(&id);
        self.execs.container_removed(&id);
        tracing::debug!(container = %id, "removed");
        self.container_event(&rec, "destroy", &[]);
        if volumes {
            self.remove_anonymous_volumes(&rec.mounts);
        }
        ctr.progress.send_modify(|p| p.removed = true);
        if let Some(engine) = deferred {
            tokio::spawn(async move {
                if let Err(e) = engine.remove_files(&id).await {
                    tracing::warn!(container = %id, error = %e, "removing the files of a removed container (the daemon's next start retries)");
                }
            });
        }
        Ok(())
    }

    /// What removing a stopped container deletes: its runtime state, rootfs snapshot,
    /// bundle and data directory. Safe to run again after a failure.
    async fn remove_files(&self, id: &str) -> Result<()> {
        let rootfs = self.rootfs_path(id);
        let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        let _ = self.runtime(id, RuntimeOp::Delete);
        let images = self.images_handle();
        let key = container_key(id);
        tokio::task::spawn_blocking(move || images.remove_rootfs(&key))
            .await
            .map_err(|e| EngineError::Task {
                what: "remove rootfs",
                reason: e.to_string(),
            })??;
        super::namespaces::unmount_shm(&self.containers.bundle(id));
        let _ = std::fs::remove_dir_all(self.containers.bundle(id));
        let data = self.containers.data_dir(id);
        std::fs::remove_dir_all(&data).map_err(|source| EngineError::Io {
            what: "removing",
            path: data,
            source,
        })
    }
}
