//! STUB (replaced at merge).
use crate::Result;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
pub trait Names: Send + Sync + 'static {
    fn lookup(&self, name: &str) -> Vec<IpAddr>;
    fn reverse(&self, ip: IpAddr) -> Option<String>;
}
pub fn bind_in(_n: &Path) -> Result<(std::net::UdpSocket, std::net::TcpListener)> {
    Err(crate::NetError::Invalid("stub".into()))
}
pub fn upstreams_from_resolv_conf(_t: &str) -> Vec<SocketAddr> {
    vec![]
}
pub async fn serve(
    _u: std::net::UdpSocket,
    _t: std::net::TcpListener,
    _n: Arc<dyn Names>,
    _up: Vec<SocketAddr>,
    _s: tokio::sync::watch::Receiver<bool>,
) {
}
