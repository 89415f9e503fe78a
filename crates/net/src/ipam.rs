//! STUB (replaced by the ipam helper's module at merge).
use crate::Result;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};
pub struct Allocator;
impl Allocator {
    pub fn new(_s: IpNet, _r: Option<IpNet>, _g: IpAddr, _x: &[IpAddr]) -> Result<Self> {
        Ok(Allocator)
    }
    pub fn allocate(&mut self, _w: Option<IpAddr>) -> Result<IpAddr> {
        Err(crate::NetError::Invalid("stub".into()))
    }
    pub fn mark(&mut self, _ip: IpAddr) {}
    pub fn release(&mut self, _ip: IpAddr) {}
}
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [2, 0x42, o[0], o[1], o[2], o[3]]
}
