//! STUB (replaced at merge).
use crate::Result;
use std::path::Path;
pub fn create(_p: &Path) -> Result<()> {
    Ok(())
}
pub fn remove(_p: &Path) -> Result<()> {
    Ok(())
}
