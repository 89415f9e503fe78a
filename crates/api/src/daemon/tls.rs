//! TCP listeners, served only over TLS with client certificates (dockerd's `--tlsverify`).
//!
//! The API controls the host as root, so anyone who can speak to it owns the machine. A unix
//! socket is guarded by its file mode; a TCP port is guarded only by what the connection
//! proves. muelled therefore refuses plain TCP and TLS without client verification (dockerd
//! allows both, with a warning) and serves TCP only to clients whose certificate chains to
//! `--tlscacert`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::socket::Host;

/// The TLS settings (flags and daemon.json), as dockerd names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--tls`: TLS without client verification. Accepted as dockerd's flag, but on its own
    /// it is refused for TCP (see the module documentation).
    pub tls: bool,
    /// `--tlsverify`: TLS, and client certificates are required and verified against `ca`.
    pub verify: bool,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsOptions {
    /// dockerd's defaults: `ca.pem`, `cert.pem` and `key.pem` in `$DOCKER_CERT_PATH`, else in
    /// `~/.docker` (root's, as the daemon runs as root).
    pub fn default_cert_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("DOCKER_CERT_PATH").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"))
            .join(".docker")
    }

    pub fn with_defaults_in(dir: &Path) -> Self {
        TlsOptions {
            tls: false,
            verify: false,
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// Refuses a TCP host unless `--tlsverify` is set. One line, naming the flag, since this is
/// what a user who typed `-H tcp://...` sees.
pub fn check_hosts(hosts: &[Host], tls: &TlsOptions) -> Result<()> {
    if tls.verify {
        return Ok(());
    }
    if let Some(host) = hosts.iter().find(|h| matches!(h, Host::Tcp { .. })) {
        let what = if tls.tls {
            "--tls without --tlsverify does not check clients"
        } else {
            "plain TCP lets anyone who reaches the port control the host"
        };
        bail!(
            "refusing to listen on {host} without --tlsverify: muelled serves TCP only with TLS client certificates (--tlsverify --tlscacert --tlscert --tlskey); {what}, and is refused by design"
        );
    }
    Ok(())
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("reading the {what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        bail!(
            "the {what} {} holds no PEM certificate (BEGIN CERTIFICATE)",
            path.display()
        );
    }
    Ok(certs)
}

/// The server's TLS configuration: its certificate chain and key, and a verifier that
/// requires a client certificate issued by the CA. Every error names the file at fault.
pub fn server_config(tls: &TlsOptions) -> Result<Arc<ServerConfig>> {
    // The provider is named here rather than taken from the process default, which another
    // crate (the registry client) may or may not have installed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in read_certs(&tls.ca, "CA certificate (--tlscacert)")? {
        roots.add(cert).map_err(|e| {
            anyhow!(
                "the CA certificate (--tlscacert) {} is not usable: {e}",
                tls.ca.display()
            )
        })?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| {
            anyhow!(
                "the CA certificate (--tlscacert) {} cannot verify clients: {e}",
                tls.ca.display()
            )
        })?;
    let chain = read_certs(&tls.cert, "certificate (--tlscert)")?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "the private key (--tlskey) {} holds no PEM private key (BEGIN PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)",
            tls.key.display()
        ),
        e => anyhow!(
            "reading the private key (--tlskey) {}: {e}",
            tls.key.display()
        ),
    })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| {
            anyhow!(
                "the private key (--tlskey) {} does not fit the certificate (--tlscert) {}: {e}",
                tls.key.display(),
                tls.cert.display()
            )
        })?;
    // The API is HTTP/1.1 only (attach and exec upgrade the connection).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Binds a TCP host (a name may resolve to several addresses: all are bound, as dockerd
/// does for `localhost`).
pub async fn bind_tcp(host: &str, port: u16) -> Result<Vec<TcpListener>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .collect();
    if addrs.is_empty() {
        bail!("{host} resolves to no address");
    }
    let mut listeners = Vec::new();
    for addr in addrs {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Resolves once the daemon stops (or its sender is gone). The watch guard is dropped here:
/// held across an await it would make the connection task not `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A client that connects and says nothing would hold its task forever without this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` over TLS until `stop` turns true, then lets the connections
/// finish their current requests (the caller bounds the wait). A failed accept or handshake
/// ends that connection only.
pub async fn serve<S>(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: S,
    mut stop: watch::Receiver<bool>,
) where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            // Finished connections are reaped as they end, so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    conns.spawn(serve_connection(
                        tcp,
                        peer,
                        acceptor.clone(),
                        app.clone(),
                        stop.clone(),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: accepting again at once would
                    // spin; the listener itself stays usable.
                    tracing::warn!(error = %e, "accepting a TCP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    while conns.join_next().await.is_some() {}
}

async fn serve_connection<S>(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: S,
    mut stop: watch::Receiver<bool>,
) where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    // Small request/response exchanges (the CLI's) would otherwise wait on Nagle.
    let _ = tcp.set_nodelay(true);
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        // A client without a certificate, or with one from another CA, ends here: routine
        // on a port facing a network, hence debug.
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    // hyper hands over `Request<Incoming>`; the app takes axum's body type.
    let service = TowerToHyperService::new(tower::ServiceExt::map_request(
        app,
        |req: hyper::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
    ));
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The timer enables hyper's header read timeout (30 s), against clients that open a
    // connection and trickle headers.
    builder.timer(TokioTimer::new());
    // `with_upgrades`: attach and exec answer 101 and take the connection over.
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stopped(&mut stop) => {
            // Finish the request in flight, then close; an idle connection closes now.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "TLS connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_hosts_need_tlsverify() {
        let unix = Host::Unix("/run/x.sock".into());
        let tcp = Host::Tcp {
            host: "127.0.0.1".into(),
            port: 2376,
        };
        let mut opts = TlsOptions::with_defaults_in(Path::new("/certs"));
        assert_eq!(opts.ca, PathBuf::from("/certs/ca.pem"));
        assert!(check_hosts(std::slice::from_ref(&unix), &opts).is_ok());
        let e = check_hosts(&[unix.clone(), tcp.clone()], &opts)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tcp://127.0.0.1:2376 without --tlsverify"),
            "{e}"
        );
        assert!(e.contains("plain TCP"), "{e}");
        opts.tls = true;
        let e = check_hosts(std::slice::from_ref(&tcp), &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tls without --tlsverify"), "{e}");
        opts.verify = true;
        assert!(check_hosts(&[unix, tcp], &opts).is_ok());
    }
}
