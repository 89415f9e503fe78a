//! STUB (replaced at merge).
use crate::Result;
use ipnet::IpNet;
use std::net::IpAddr;
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}
impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        })
    }
}
impl std::str::FromStr for Proto {
    type Err = crate::NetError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            _ => Err(crate::NetError::Invalid(s.into())),
        }
    }
}
pub struct NetRule {
    pub bridge: String,
    pub subnet: IpNet,
    pub internal: bool,
    pub masquerade: bool,
    pub icc: bool,
}
pub struct PortRule {
    pub proto: Proto,
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub ctr_ip: IpAddr,
    pub ctr_port: u16,
    pub bridge: String,
}
pub struct Rules {
    pub table: String,
    pub networks: Vec<NetRule>,
    pub ports: Vec<PortRule>,
}
pub fn apply(_r: &Rules) -> Result<()> {
    Ok(())
}
pub fn clear(_t: &str) -> Result<()> {
    Ok(())
}
