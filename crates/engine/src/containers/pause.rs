//! `docker pause` and `docker unpause`: the container's processes frozen or thawed through
//! the runtime's freezer, serialised with stop and rm.

use super::runtime_ops::RuntimeOp;
use super::{ensure_running, ContainerError, Ctr};
use crate::{Engine, Result};

impl Engine {
    pub async fn pause_container(&self, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        // Serialised with stop and rm: a freeze landing while rm -f waits for its SIGKILL
        // kept the process from dying.
        let _op = ctr.lock_op().await?;
        self.pause_locked(&ctr)
    }

    pub(crate) fn pause_locked(&self, ctr: &Ctr) -> Result<()> {
        let rec = ctr.record();
        ensure_running(&rec)?;
        if rec.state.paused() {
            return Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                rec.id
            ))
            .into());
        }
        self.set_paused(ctr, &rec.id, true)
    }

    pub async fn unpause_container(&self, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let _op = ctr.lock_op().await?;
        self.unpause_locked(&ctr)
    }

    pub(crate) fn unpause_locked(&self, ctr: &Ctr) -> Result<()> {
        let rec = ctr.record();
        if !rec.state.paused() {
            return Err(
                ContainerError::Conflict(format!("Container {} is not paused", rec.id)).into(),
            );
        }
        self.set_paused(ctr, &rec.id, false)
    }

    /// Freezes (`pause`) or thaws (`unpause`) the container's processes, then records the
    /// state and sends the event of that name.
    fn set_paused(&self, ctr: &Ctr, id: &str, paused: bool) -> Result<()> {
        let (op, action) = if paused {
            (RuntimeOp::Pause, "pause")
        } else {
            (RuntimeOp::Resume, "unpause")
        };
        if let Err(e) = self.runtime(id, op) {
            // The process ended, or a kill thawed it, since the record was read: a conflict
            // with its real state, which the record then follows.
            use muelle_runtime::state::Status;
            let now = muelle_runtime::Container::load(self.containers.runtime_root(), id)
                .map(|c| c.status())
                .unwrap_or(Status::Stopped);
            return Err(match (now, paused) {
                (Status::Stopped, _) => {
                    ContainerError::Conflict(format!("Container {id} is not running"))
                }
                (Status::Running, false) => {
                    ctr.update(|r| r.state.set_paused(false));
                    ContainerError::Conflict(format!("Container {id} is not paused"))
                }
                (Status::Paused, true) => {
                    ContainerError::Conflict(format!("Container {id} is already paused"))
                }
                _ => ContainerError::Internal(format!("{action}: {e}")),
            }
            .into());
        }
        ctr.update(|r| r.state.set_paused(paused));
        self.health_paused(ctr, paused);
        let rec = ctr.record();
        // The processes are frozen (or thawed) whatever the disk says: the record in memory
        // is right, and the next save writes it.
        self.save_or_warn(&rec, action);
        self.container_event(&rec, action, &[]);
        Ok(())
    }
}
