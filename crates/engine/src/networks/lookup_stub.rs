//! STUB until the network store is merged.
use super::NetworkRecord;
use crate::{Engine, Result};
impl Engine {
    pub fn network(&self, key: &str) -> Result<NetworkRecord> {
        Err(crate::EngineError::Net(muelle_net::NetError::Invalid(
            format!("network {key} not found"),
        )))
    }
    pub fn networks(&self) -> Vec<NetworkRecord> {
        Vec::new()
    }
}
