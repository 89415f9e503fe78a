//! The per-container `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`.

use std::path::Path;

use crate::fsutil::{write_atomic_mode, write_durable_mode};

/// /etc/hosts of a container: loopback names, `--add-host` entries, links (`ip\talias id
/// name`), then the container's own name on each of its addresses, or on 127.0.1.1 when
/// it has no network of its own to be reached on.
pub fn hosts(
    hostname: &str,
    extra: &[String],
    host_network: bool,
    own: &[std::net::IpAddr],
    links: &[(std::net::IpAddr, String)],
) -> String {
    if host_network {
        if let Ok(h) = std::fs::read_to_string("/etc/hosts") {
            return h;
        }
    }
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        if let Some((name, ip)) = e.split_once(':') {
            s.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for (ip, names) in links {
        s.push_str(&format!("{ip}\t{names}\n"));
    }
    if !hostname.is_empty() {
        if own.is_empty() {
            s.push_str(&format!("127.0.1.1\t{hostname}\n"));
        }
        for ip in own {
            s.push_str(&format!("{ip}\t{hostname}\n"));
        }
    }
    s
}

/// /etc/resolv.conf of a container on a user-defined network: the embedded resolver,
/// with the search domains given (else the host's) and `ndots:0` before the options given.
pub fn resolv_conf_embedded(search: &[String], options: &[String]) -> String {
    let mut s = String::new();
    let host_search: Vec<String> = std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("search "))
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect();
    let search = if search.is_empty() {
        &host_search[..]
    } else {
        search
    };
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    s.push_str("nameserver 127.0.0.11\n");
    let mut opts = vec!["ndots:0".to_string()];
    for o in options {
        if o.starts_with("ndots:") {
            opts.retain(|x| !x.starts_with("ndots:"));
        }
        opts.push(o.clone());
    }
    s.push_str(&format!("options {}\n", opts.join(" ")));
    s
}

/// /etc/hostname: the name and a newline.
pub fn hostname(name: &str) -> String {
    format!("{name}\n")
}

/// /etc/resolv.conf: the host's, without loopback name servers (they do not exist inside
/// the container's network namespace).
pub fn resolv_conf(host_network: bool) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if host_network {
        return host;
    }
    host.lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            !(w.next() == Some("nameserver")
                && w.next()
                    .is_some_and(|ip| ip.starts_with("127.") || ip == "::1"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What a container's /etc files are made from, and where they are kept.
#[derive(Debug, Clone, Copy)]
pub struct EtcFiles<'a> {
    pub hostname: &'a str,
    /// `--domainname`: the container's own line in /etc/hosts names `host.domain host`.
    pub domainname: &'a str,
    /// `--add-host` entries (`name:ip`, `name=ip`, `host-gateway` for the address).
    pub extra_hosts: &'a [String],
    /// `--dns`, `--dns-search`, `--dns-option`: when any is given, resolv.conf is built
    /// from them and the host's file as dockerd builds it.
    pub dns: &'a [String],
    pub dns_search: &'a [String],
    pub dns_options: &'a [String],
    /// `--network none`: dockerd lists the container's name in /etc/hosts only with an
    /// address of its own to give it, which neither this mode nor `host` has.
    pub no_network: bool,
    pub host_network: bool,
    pub hostname_path: &'a str,
    pub hosts_path: &'a str,
    pub resolv_conf_path: &'a str,
    /// The container's own addresses (its endpoints'), for its line in /etc/hosts.
    pub addresses: &'a [std::net::IpAddr],
    /// `--link` entries: the target's address and `alias id name`.
    pub links: &'a [(std::net::IpAddr, String)],
    /// On a user-defined network: resolv.conf names the embedded resolver.
    pub embedded_dns: bool,
    /// What `host-gateway` stands for: the default bridge's gateway.
    pub host_gateway: Option<std::net::IpAddr>,
    /// Synced to disk before use: not for a `--rm` container, which a crash of the
    /// machine ends for good.
    pub durable: bool,
}

/// Writes the files a container does not have yet (a restart keeps what the container
/// changed in them, as Docker does) and returns `(destination, host path)` pairs for the
/// bind mounts. Errors are the text Docker's start error carries.
pub fn write_etc_files(f: &EtcFiles<'_>) -> Result<Vec<(String, String)>, String> {
    let extra_hosts = super::extra_hosts::resolve(f.extra_hosts, f.host_gateway)?;
    let resolv = if f.embedded_dns {
        resolv_conf_embedded(f.dns_search, f.dns_options)
    } else if f.dns.is_empty() && f.dns_search.is_empty() && f.dns_options.is_empty() {
        resolv_conf(f.host_network)
    } else {
        let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        super::resolv::build(&host, f.dns, f.dns_search, f.dns_options)
    };
    let files = [
        ("/etc/hostname", f.hostname_path, hostname(f.hostname)),
        (
            "/etc/hosts",
            f.hosts_path,
            hosts(
                &if f.no_network || f.host_network {
                    String::new()
                } else if !f.addresses.is_empty() && !f.domainname.is_empty() {
                    format!("{}.{} {}", f.hostname, f.domainname, f.hostname)
                } else {
                    f.hostname.to_string()
                },
                &extra_hosts,
                f.host_network && extra_hosts.is_empty(),
                f.addresses,
                f.links,
            ),
        ),
        ("/etc/resolv.conf", f.resolv_conf_path, resolv),
    ];
    // A container with endpoints gets new addresses at each start, which its hosts and
    // resolv.conf must name, as dockerd rebuilds them.
    let networked = !f.addresses.is_empty();
    let mut out = Vec::new();
    for (dest, path, content) in files {
        if !Path::new(path).exists() || (networked && dest != "/etc/hostname") {
            // 0644: non-root users in the container read them through the bind mount.
            let write = if f.durable {
                write_durable_mode
            } else {
                write_atomic_mode
            };
            write(Path::new(path), content.as_bytes(), 0o644)
                .map_err(|e| format!("write {path}: {e}"))?;
        }
        out.push((dest.to_string(), path.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lists_loopback_extra_hosts_and_the_container() {
        let h = hosts("box", &["db:10.0.0.2".into()], false, &[], &[]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.2\tdb\n"));
        assert!(h.ends_with("127.0.1.1\tbox\n"));
        assert!(!resolv_conf(false).contains("nameserver 127."));
    }

    #[test]
    fn existing_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        let (hn, hs, rc) = (p("hostname"), p("hosts"), p("resolv.conf"));
        std::fs::write(&hn, "changed\n").unwrap();
        let f = EtcFiles {
            hostname: "box",
            domainname: "",
            extra_hosts: &[],
            dns: &[],
            dns_search: &[],
            dns_options: &[],
            no_network: false,
            host_network: false,
            hostname_path: &hn,
            hosts_path: &hs,
            resolv_conf_path: &rc,
            addresses: &[],
            links: &[],
            embedded_dns: false,
            host_gateway: None,
            durable: true,
        };
        let mounts = write_etc_files(&f).unwrap();
        assert_eq!(mounts[0], ("/etc/hostname".to_string(), hn.clone()));
        assert_eq!(std::fs::read_to_string(&hn).unwrap(), "changed\n");
        assert!(std::fs::read_to_string(&hs).unwrap().contains("box"));
    }
}
