//! Listening addresses (`-H`): unix sockets, and TCP (served only with TLS client
//! certificates: the policy and the TLS server live in `tls.rs`).

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::DEFAULT_HOST;

/// The port of `tcp://HOST` without one: dockerd's TLS port, since muelled serves TCP only
/// with TLS.
pub const DEFAULT_TLS_PORT: u16 = 2376;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    /// `tcp://HOST:PORT`: HOST as written (an IP address, or a name resolved when binding),
    /// without the brackets of an IPv6 address.
    Tcp {
        host: String,
        port: u16,
    },
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Unix(path) => write!(f, "unix://{}", path.display()),
            Host::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Host::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// Parses a `-H` value as dockerd does: `unix:///path`, `unix://` (the default socket), a
/// bare absolute path, or `tcp://HOST[:PORT]` (port 2376 when left out; host 127.0.0.1 when
/// empty, as dockerd's localhost). Whether TCP may be served is decided later, with the TLS
/// settings (`tls::check_hosts`).
pub fn parse_host(spec: &str) -> Result<Host> {
    let spec = spec.trim();
    if let Some(path) = spec.strip_prefix("unix://") {
        let path = if path.is_empty() {
            DEFAULT_HOST.trim_start_matches("unix://")
        } else {
            path
        };
        if !path.starts_with('/') {
            bail!("invalid host {spec:?}: the socket path must be absolute");
        }
        return Ok(Host::Unix(PathBuf::from(path)));
    }
    if spec.starts_with('/') {
        return Ok(Host::Unix(PathBuf::from(spec)));
    }
    if let Some(addr) = spec.strip_prefix("tcp://") {
        let (host, port) = parse_tcp(addr).with_context(|| format!("invalid host {spec:?}"))?;
        return Ok(Host::Tcp { host, port });
    }
    if spec.starts_with("fd://") {
        bail!("cannot listen on {spec}: socket activation (fd://) is not supported; use a unix:// socket");
    }
    bail!("invalid host {spec:?}: expected unix:///path/to/socket or tcp://HOST:PORT")
}

/// `HOST[:PORT]`, `[IPv6][:PORT]`, with an optional trailing slash (dockerd accepts one).
fn parse_tcp(addr: &str) -> Result<(String, u16)> {
    let addr = addr.strip_suffix('/').unwrap_or(addr);
    if addr.contains('/') {
        bail!("a TCP address takes no path");
    }
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            bail!("missing ']' after the IPv6 address");
        };
        match after {
            "" => (host, ""),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, port),
                None => bail!("expected ':PORT' after ']'"),
            },
        }
    } else {
        match addr.matches(':').count() {
            0 => (addr, ""),
            1 => addr.split_once(':').unwrap_or((addr, "")),
            // An IPv6 address and a port cannot be told apart without brackets.
            _ => bail!("write an IPv6 address in brackets: tcp://[ADDRESS]:PORT"),
        }
    };
    let port = if port.is_empty() {
        DEFAULT_TLS_PORT
    } else {
        port.parse::<u16>()
            .map_err(|_| anyhow::anyhow!("invalid port {port:?}"))?
    };
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Ok((host.to_string(), port))
}

/// The group that may use the socket: `muelle` if it exists, else root's.
fn socket_gid() -> u32 {
    std::fs::read_to_string("/etc/group")
        .ok()
        .and_then(|text| group_id(&text, "muelle"))
        .unwrap_or(0)
}

fn group_id(etc_group: &str, name: &str) -> Option<u32> {
    etc_group.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// Binds the socket at `path` with mode 0660, owned by root and the `muelle` group (if that
/// group exists). A socket file left by a daemon that died is replaced; one that a live
/// daemon answers on is not, nor is any other kind of file.
pub fn bind_unix(path: &Path) -> Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the socket directory {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => bail!(
                "another daemon is listening on {}; stop it or choose another socket with -H",
                path.display()
            ),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(socket = %path.display(), "removing a stale socket");
                std::fs::remove_file(path)
                    .with_context(|| format!("removing the stale socket {}", path.display()))?;
            }
            Err(e) => bail!(
                "socket {} exists and cannot be checked ({e}); remove it if no daemon uses it",
                path.display()
            ),
        },
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    std::os::unix::fs::chown(path, Some(0), Some(socket_gid()))
        .with_context(|| format!("setting the owner of {}", path.display()))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host("unix:///tmp/x.sock").unwrap(),
            Host::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            parse_host("unix://").unwrap(),
            Host::Unix("/run/muelle/muelle.sock".into())
        );
        assert_eq!(parse_host("/a/b").unwrap(), Host::Unix("/a/b".into()));
        let tcp = |host: &str, port| Host::Tcp {
            host: host.to_string(),
            port,
        };
        assert_eq!(
            parse_host("tcp://127.0.0.1:2377").unwrap(),
            tcp("127.0.0.1", 2377)
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1").unwrap(),
            tcp("127.0.0.1", 2376)
        );
        assert_eq!(parse_host("tcp://:9").unwrap(), tcp("127.0.0.1", 9));
        assert_eq!(
            parse_host("tcp://localhost:2376/").unwrap(),
            tcp("localhost", 2376)
        );
        assert_eq!(parse_host("tcp://[::1]:5").unwrap(), tcp("::1", 5));
        assert_eq!(parse_host("tcp://[::1]").unwrap(), tcp("::1", 2376));
        assert_eq!(tcp("::1", 5).to_string(), "tcp://[::1]:5");
        assert_eq!(tcp("10.0.0.1", 5).to_string(), "tcp://10.0.0.1:5");
        assert!(parse_host("tcp://::1:5").is_err());
        assert!(parse_host("tcp://h:port").is_err());
        assert!(parse_host("tcp://h:70000").is_err());
        assert!(parse_host("tcp://h:1/path").is_err());
        assert!(parse_host("unix://relative").is_err());
        assert!(parse_host("http://x").is_err());
    }

    #[test]
    fn groups() {
        let g = "root:x:0:\nmuelle:x:997:alice\nother:x:5:\n";
        assert_eq!(group_id(g, "muelle"), Some(997));
        assert_eq!(group_id(g, "nope"), None);
    }

    #[test]
    fn stale_sockets_are_replaced_live_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let live = bind_unix(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o660);
        let err = bind_unix(&path).unwrap_err().to_string();
        assert!(err.contains("another daemon is listening"), "{err}");
        drop(live); // The file stays, nobody answers: stale.
        let again = bind_unix(&path).unwrap();
        drop(again);
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        assert!(bind_unix(&file)
            .unwrap_err()
            .to_string()
            .contains("not a socket"));
    }
}
