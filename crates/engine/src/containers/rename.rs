//! `docker rename`: Docker's name rules, the name taken atomically, the `rename` event.

use super::{names, ContainerError};
use crate::{Engine, Result};

impl Engine {
    pub fn rename_container(&self, name_or_id: &str, new: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let new = new.strip_prefix('/').unwrap_or(new);
        if new.is_empty() {
            return Err(
                ContainerError::Invalid("Neither old nor new names may be empty".into()).into(),
            );
        }
        if !names::valid_name(new) {
            return Err(ContainerError::Invalid(format!(
                "Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            ))
            .into());
        }
        let (old, rec) = self.containers.rename(&ctr, new)?;
        self.containers.save(&rec)?;
        self.container_event(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }
}
