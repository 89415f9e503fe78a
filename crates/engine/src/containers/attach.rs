//! `docker attach` and the pty size: an attach to a running container is a stream of its
//! supervisor at once; one that comes before the start waits in the container's pending
//! list, which the start connects before the process runs, so no output is lost.

use tokio::sync::oneshot;

use super::store::lock;
use super::{ensure_running, shim, ContainerError, ContainerRecord};
use crate::{Engine, Result};

/// Where an attach connects.
pub enum AttachTarget {
    /// The shim's stream, after its `ok`.
    Live(shim::Stream),
    /// Connected when the container starts.
    Pending(oneshot::Receiver<shim::Stream>),
}

/// An attach waiting for the start.
pub(super) struct PendingAttach {
    pub(super) stdin: bool,
    pub(super) stdout: bool,
    pub(super) stderr: bool,
    pub(super) tx: oneshot::Sender<shim::Stream>,
}

impl Engine {
    /// Connects an attach (now, or when the container starts).
    pub async fn attach_container(
        &self,
        name_or_id: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(AttachTarget, ContainerRecord)> {
        let ctr = self.containers.find(name_or_id)?;
        let rec = ctr.record();
        let stdin = stdin && rec.config.open_stdin;
        if rec.state.running() {
            let s = shim::client(&self.containers.bundle(&rec.id))
                .attach(stdin, stdout, stderr)
                .await
                .map_err(|e| {
                    ContainerError::Conflict(format!("cannot attach to {}: {e}", rec.id))
                })?;
            return Ok((AttachTarget::Live(s), rec));
        }
        let (tx, rx) = oneshot::channel();
        lock(&ctr.pending).push(PendingAttach {
            stdin,
            stdout,
            stderr,
            tx,
        });
        Ok((AttachTarget::Pending(rx), rec))
    }

    /// Sets the pty size of a running container.
    pub async fn resize_container(&self, name_or_id: &str, height: u32, width: u32) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let rec = ctr.record();
        ensure_running(&rec)?;
        let (height, width) = shim::pty_size(height, width)
            .map_err(|e| ContainerError::Internal(format!("resize: {e}")))?;
        shim::client(&self.containers.bundle(&rec.id))
            .resize(height, width)
            .await
            .map_err(|e| ContainerError::Internal(format!("resize: {e}")))?;
        Ok(())
    }
}
