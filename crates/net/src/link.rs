//! STUB (replaced at merge).
use crate::Result;
use ipnet::IpNet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
pub struct BridgeConfig {
    pub name: String,
    pub addrs: Vec<IpNet>,
    pub mtu: u32,
}
pub fn ensure_bridge(_c: &BridgeConfig) -> Result<()> {
    Ok(())
}
pub fn delete_link(_n: &str) -> Result<()> {
    Ok(())
}
pub fn links_with_prefix(_p: &str) -> Result<Vec<String>> {
    Ok(vec![])
}
pub struct Endpoint {
    pub bridge: String,
    pub host_ifname: String,
    pub ifname: String,
    pub mac: [u8; 6],
    pub addrs: Vec<IpNet>,
    pub gateway4: Option<Ipv4Addr>,
    pub gateway6: Option<Ipv6Addr>,
    pub mtu: u32,
}
pub fn attach(_n: &Path, _e: &Endpoint) -> Result<()> {
    Ok(())
}
pub fn detach(_h: &str) -> Result<()> {
    Ok(())
}
