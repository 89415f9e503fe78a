//! One rtnetlink session, and the small requests the link operations are made of.
//!
//! A session runs on a thread of its own with a current-thread tokio runtime: the public
//! functions stay synchronous (the engine calls them from blocking threads), a caller inside
//! an async context cannot trip tokio's "runtime within a runtime" check, and the netlink
//! socket is opened in the namespace of the thread that asked (a new thread inherits its
//! creator's network namespace), so `netns::run_in` is all it takes to work inside a container.

use std::future::Future;
use std::io;

use futures_util::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkUnspec};

use super::LinkState;
use crate::{NetError, Result};

/// Run `f` with a fresh netlink handle on a new thread (see the module doc); its value is
/// returned, a panic in it resumed here.
pub(crate) fn session<T, F, Fut>(f: F) -> Result<T>
where
    T: Send,
    F: FnOnce(Handle) -> Fut + Send,
    Fut: Future<Output = Result<T>>,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("netlink".into())
            .spawn_scoped(scope, || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                    .map_err(|e| io_err("start the netlink runtime".into(), e))?;
                rt.block_on(async {
                    let (conn, handle, _) = rtnetlink::new_connection()
                        .map_err(|e| io_err("open a netlink socket".into(), e))?;
                    let driver = tokio::spawn(conn);
                    let out = f(handle).await;
                    driver.abort();
                    out
                })
            })
            .map_err(|e| io_err("spawn the netlink thread".into(), e))?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// An rtnetlink failure as the crate's error: the kernel's errno when it sent one.
pub(crate) fn nl_err(what: String, e: rtnetlink::Error) -> NetError {
    io_err(what, to_io(e))
}

pub(crate) fn io_err(what: String, source: io::Error) -> NetError {
    NetError::Io { what, source }
}

fn to_io(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

/// The errno of a netlink failure, if the kernel sent one.
pub(crate) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(msg) => Some(msg.raw_code().abs()),
        _ => None,
    }
}

pub(crate) const ENODEV: i32 = rustix::io::Errno::NODEV.raw_os_error();
pub(crate) const EEXIST: i32 = rustix::io::Errno::EXIST.raw_os_error();

/// The link called `name`, or None when there is none.
pub(crate) async fn find_link(h: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let got = h
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await;
    match got {
        Ok(found) => Ok(found),
        Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(nl_err(format!("look up interface {name}"), e)),
    }
}

/// The link called `name`; absent is an error naming it.
pub(crate) async fn need_link(h: &Handle, name: &str) -> Result<LinkMessage> {
    find_link(h, name).await?.ok_or_else(|| {
        io_err(
            format!("look up interface {name}"),
            io::Error::from_raw_os_error(ENODEV),
        )
    })
}

/// Every link of the namespace.
pub(crate) async fn all_links(h: &Handle) -> Result<Vec<LinkMessage>> {
    h.link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| nl_err("list interfaces".into(), e))
}

pub(crate) fn name_of(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

pub(crate) fn mtu_of(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

pub(crate) fn kind_of(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k),
            _ => None,
        }),
        _ => None,
    })
}

/// Apply `msg` (built with `LinkUnspec::new_with_index`) to a link.
pub(crate) async fn set_link(h: &Handle, msg: LinkMessage, what: String) -> Result<()> {
    h.link()
        .set(msg)
        .execute()
        .await
        .map_err(|e| nl_err(what, e))
}

/// Delete the link at `index`; Ok if it went away meanwhile (its peer was deleted, say).
pub(crate) async fn del_link(h: &Handle, index: u32, name: &str) -> Result<()> {
    match h.link().del(index).execute().await {
        Err(e) if errno(&e) != Some(ENODEV) => Err(nl_err(format!("delete interface {name}"), e)),
        _ => Ok(()),
    }
}

/// The addresses (with prefix) on the link at `index`.
pub(crate) async fn addrs_of(h: &Handle, index: u32, name: &str) -> Result<Vec<IpNet>> {
    let msgs: Vec<AddressMessage> = h
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| nl_err(format!("list the addresses of {name}"), e))?;
    Ok(msgs
        .iter()
        // The dump filter is advisory on kernels without strict checking.
        .filter(|m| m.header.index == index)
        .filter_map(addr_of)
        .collect())
}

/// IFA_LOCAL is the interface's own IPv4 address (IFA_ADDRESS is the peer's on a
/// point-to-point link); IPv6 only has IFA_ADDRESS.
fn addr_of(m: &AddressMessage) -> Option<IpNet> {
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let addr = local.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    IpNet::new(addr, m.header.prefix_len).ok()
}

/// Add `net` to the link at `index`. IPv6 addresses skip duplicate address detection, so
/// they are usable at once (as Docker sets them) instead of tentative for a second or two.
pub(crate) async fn add_addr(h: &Handle, index: u32, net: IpNet, name: &str) -> Result<()> {
    let mut req = h.address().add(index, net.addr(), net.prefix_len());
    if net.addr().is_ipv6() {
        let msg = req.message_mut();
        msg.header.flags |= AddressHeaderFlags::Nodad;
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    req.execute()
        .await
        .map_err(|e| nl_err(format!("add address {net} to {name}"), e))
}

/// The link called `name` as a [`LinkState`].
pub(crate) async fn state(h: &Handle, name: &str) -> Result<Option<LinkState>> {
    let Some(link) = find_link(h, name).await? else {
        return Ok(None);
    };
    let index = link.header.index;
    let controller = match link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    }) {
        Some(ci) => all_links(h)
            .await?
            .iter()
            .find(|l| l.header.index == ci)
            .and_then(name_of)
            .map(str::to_string),
        None => None,
    };
    let mac = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    });
    Ok(Some(LinkState {
        name: name.to_string(),
        index,
        mtu: mtu_of(&link).unwrap_or(0),
        up: link.header.flags.contains(LinkFlags::Up),
        mac,
        controller,
        addrs: addrs_of(h, index, name).await?,
    }))
}

/// `ip link set NAME up` in the thread's namespace (the loopback of a new namespace).
pub(crate) fn loopback_up() -> Result<()> {
    session(|h| async move {
        let lo = need_link(&h, "lo").await?;
        let msg = LinkUnspec::new_with_index(lo.header.index).up().build();
        set_link(&h, msg, "set interface lo up".into()).await
    })
}
