//! STUB (replaced at merge).
use crate::firewall::Proto;
use crate::Result;
use std::net::IpAddr;
pub struct Reservation;
pub fn reserve(_p: Proto, _i: Option<IpAddr>, _port: u16) -> Result<Reservation> {
    Ok(Reservation)
}
pub fn reserve_any(_p: Proto, _i: Option<IpAddr>) -> Result<(u16, Reservation)> {
    Ok((1, Reservation))
}
pub fn reserve_in_range(
    _p: Proto,
    _i: Option<IpAddr>,
    lo: u16,
    _hi: u16,
) -> Result<(u16, Reservation)> {
    Ok((lo, Reservation))
}
