//! What the engine asks of the runtime library directly, on a container's runtime state
//! (the supervisor does the rest): signals, freezing, processes, deletion, and whether the
//! process is gone; and the signal names `kill` and `--stop-signal` take.

use super::{ensure_running, ContainerError};
use crate::{Engine, Result};

pub(super) const SIGKILL: i32 = 9;

/// A signal by name (`TERM`, `SIGTERM`, `kill`) or number, with Docker's message for
/// anything else.
pub fn parse_signal(s: &str) -> Result<i32, ContainerError> {
    muelle_runtime::signal::parse(s)
        .map_err(|_| ContainerError::Invalid(format!("Invalid signal: {s}")))
}

/// What the engine asks of the runtime library directly (the supervisor does the rest).
pub(super) enum RuntimeOp {
    Kill(i32, bool),
    Delete,
    Pause,
    Resume,
    Processes,
}

impl Engine {
    /// Sends `sig` to the container's init (`all`: to every process in it).
    pub(super) fn signal(&self, id: &str, sig: i32, all: bool) -> Result<()> {
        let c = muelle_runtime::Container::load(self.containers.runtime_root(), id)
            .map_err(|e| ContainerError::Conflict(format!("Container {id} is not running: {e}")))?;
        if sig == SIGKILL {
            // A frozen process cannot die: thaw it first.
            let _ = c.resume();
        }
        c.kill(sig, all).map_err(|e| {
            // It ended between the check and the signal: not running, as dockerd says.
            if c.status() == muelle_runtime::state::Status::Stopped {
                ContainerError::Conflict(format!("Container {id} is not running")).into()
            } else {
                ContainerError::Internal(format!("cannot kill container {id}: {e}")).into()
            }
        })
    }

    /// Whether the container's process is over as far as the runtime knows (its state
    /// stopped, or already deleted by the supervisor), whatever the record still says.
    pub(super) fn process_gone(&self, id: &str) -> bool {
        match muelle_runtime::Container::load(self.containers.runtime_root(), id) {
            Ok(c) => c.status() == muelle_runtime::state::Status::Stopped,
            Err(muelle_runtime::RuntimeError::NotFound(_)) => true,
            // Its directory went while it was read: the supervisor is deleting it.
            Err(muelle_runtime::RuntimeError::Path { source, .. }) => {
                source.kind() == std::io::ErrorKind::NotFound
            }
            Err(_) => false,
        }
    }

    /// One runtime-library call on a container's runtime state; errors as text (the
    /// runtime's error type is large, and callers only report it). `Processes` returns the
    /// pids, the others an empty list.
    pub(super) fn runtime(&self, id: &str, op: RuntimeOp) -> Result<Vec<i32>, String> {
        let c = match muelle_runtime::Container::load(self.containers.runtime_root(), id) {
            Ok(c) => c,
            Err(e) => return Err(e.to_string()),
        };
        let r = match op {
            RuntimeOp::Kill(sig, all) => c.kill(sig, all).map(|()| Vec::new()),
            RuntimeOp::Delete => c.delete(true).map(|_| Vec::new()),
            RuntimeOp::Pause => c.pause().map(|()| Vec::new()),
            RuntimeOp::Resume => c.resume().map(|()| Vec::new()),
            RuntimeOp::Processes => c.processes(),
        };
        r.map_err(|e| e.to_string())
    }
}

impl Engine {
    /// Pids of the container's processes.
    pub fn container_pids(&self, name_or_id: &str) -> Result<Vec<i32>> {
        let rec = self.container(name_or_id)?;
        ensure_running(&rec)?;
        match self.runtime(&rec.id, RuntimeOp::Processes) {
            Ok(pids) => Ok(pids),
            Err(e) => Err(ContainerError::Internal(format!("list processes: {e}")).into()),
        }
    }

    /// The `top` event dockerd records once it has answered `GET /containers/{id}/top`.
    pub fn container_topped(&self, name_or_id: &str) {
        if let Ok(rec) = self.container(name_or_id) {
            self.container_event(&rec, "top", &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("kill").unwrap(), 9);
        assert_eq!(parse_signal("10").unwrap(), 10);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), 35);
        assert_eq!(parse_signal(" TERM ").unwrap(), 15);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
        assert_eq!(
            parse_signal("NOPE").unwrap_err().to_string(),
            "Invalid signal: NOPE"
        );
    }
}
