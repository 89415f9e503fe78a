//! `ensure_bridge`: a bridge with its gateway addresses and MTU, up, made or brought back in
//! line with what the network says (after a daemon restart the bridge is usually there).

use rtnetlink::packet_route::link::InfoKind;
use rtnetlink::{Handle, LinkBridge, LinkUnspec};

use super::nl;
use super::BridgeConfig;
use crate::{NetError, Result};

pub(super) async fn ensure(h: &Handle, cfg: &BridgeConfig) -> Result<()> {
    let name = cfg.name.as_str();
    let link = match nl::find_link(h, name).await? {
        Some(link) => {
            if nl::kind_of(&link) != Some(&InfoKind::Bridge) {
                return Err(NetError::Conflict(format!(
                    "interface {name} exists and is not a bridge"
                )));
            }
            link
        }
        None => {
            // Created down: it comes up below, once its addresses are on.
            let mut new = rtnetlink::LinkMessageBuilder::<LinkBridge>::new(name);
            if cfg.mtu != 0 {
                new = new.mtu(cfg.mtu);
            }
            match h.link().add(new.build()).execute().await {
                // Another caller made it meanwhile: fine, it is checked like any other.
                Err(e) if nl::errno(&e) != Some(nl::EEXIST) => {
                    return Err(nl::nl_err(format!("create bridge {name}"), e));
                }
                _ => {}
            }
            nl::need_link(h, name).await?
        }
    };
    let index = link.header.index;
    let present = nl::addrs_of(h, index, name).await?;
    for net in cfg.addrs.iter().filter(|a| !present.contains(a)) {
        nl::add_addr(h, index, *net, name).await?;
    }
    let mut set = LinkUnspec::new_with_index(index).up();
    if cfg.mtu != 0 && nl::mtu_of(&link) != Some(cfg.mtu) {
        set = set.mtu(cfg.mtu);
    }
    nl::set_link(
        h,
        set.build(),
        format!("set bridge {name} up (mtu {})", cfg.mtu),
    )
    .await
}
