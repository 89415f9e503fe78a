//! `docker wait`: the exit code (and error) once the container reaches the condition asked
//! for, watched on the container's progress channel.

use super::ContainerError;
use crate::{Engine, Result};

impl Engine {
    /// Docker's wait: `not-running` (default), `next-exit` or `removed`. Returns the future
    /// of the exit code after registering, so the caller can answer the headers first.
    pub fn wait_container(
        &self,
        name_or_id: &str,
        condition: &str,
    ) -> Result<impl std::future::Future<Output = (i64, Option<String>)> + Send + 'static> {
        let ctr = self.containers.find(name_or_id)?;
        let mut rx = ctr.progress.subscribe();
        let start = *rx.borrow();
        let cond = match condition {
            "" | "not-running" => 0,
            "next-exit" => 1,
            "removed" => 2,
            other => {
                return Err(ContainerError::Invalid(format!("invalid condition: {other:?}")).into())
            }
        };
        let c2 = ctr.clone();
        Ok(async move {
            let _ = rx
                .wait_for(|p| match cond {
                    0 => !p.running,
                    1 => p.exits > start.exits || p.removed,
                    _ => p.removed,
                })
                .await;
            let rec = c2.record();
            let err = (!rec.state.error().is_empty()).then(|| rec.state.error().to_string());
            (rec.state.exit_code(), err)
        })
    }
}
