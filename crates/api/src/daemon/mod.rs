//! The daemon around the API: its configuration (flags and daemon.json), the unix sockets and
//! TLS-only TCP ports it listens on, the pid file, and serving until SIGTERM/SIGINT.
//! `src/bin/muelled.rs` only parses flags and calls [`run`].

mod config;
mod socket;
mod tls;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use muelle_engine::{Engine, EngineConfig};
use tokio::net::UnixListener;

pub use config::{log_config, log_filter as config_log_filter, DaemonFile, LogFormat};
pub use socket::{bind_unix, parse_host, Host, DEFAULT_TLS_PORT};
pub use tls::TlsOptions;

/// Everything the daemon runs with, after flags and the config file are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub hosts: Vec<String>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub insecure_registries: Vec<String>,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Containers' default logging driver and options, checked (muelled's rotation
    /// defaults under daemon.json's and the flags' settings).
    pub log_config: muelle_types::container::LogConfig,
    pub tls: TlsOptions,
    /// `userns-remap`: `default`, `user` or `user:group`; containers then run in a user
    /// namespace on the subordinate ids of /etc/subuid and /etc/subgid.
    pub userns_remap: Option<String>,
    /// daemon.json's `default-address-pools` and `bip` (or `--bip`).
    pub network: muelle_engine::networks::NetworkConfig,
}

pub const DEFAULT_HOST: &str = "unix:///run/muelle/muelle.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/muelle";
pub const DEFAULT_EXEC_ROOT: &str = "/run/muelle";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/muelle/daemon.json";

/// The pid file: refuses to overwrite one naming a live process, removed on drop.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn create(path: &Path) -> Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                let alive =
                    pid != std::process::id() as i32 && Path::new(&format!("/proc/{pid}")).exists();
                if alive {
                    bail!(
                        "pid file {} names the running process {pid}: is another muelled running? (stop it, or remove the file if that process is not muelled)",
                        path.display()
                    );
                }
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Sockets removed when the daemon stops.
struct Sockets(Vec<PathBuf>);

impl Drop for Sockets {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> Result<()> {
    let hosts: Vec<Host> = settings
        .hosts
        .iter()
        .map(|h| parse_host(h))
        .collect::<Result<_>>()?;
    // Refused before anything is opened or written: a daemon that would expose the API
    // without client certificates does not start at all.
    tls::check_hosts(&hosts, &settings.tls)?;
    let tls_acceptor = if hosts.iter().any(|h| matches!(h, Host::Tcp { .. })) {
        Some(tokio_rustls::TlsAcceptor::from(tls::server_config(
            &settings.tls,
        )?))
    } else {
        None
    };
    // The roots are closed to other host users; the exec root stays traversable (0711) because
    // the default socket lives in it, and everything below it is 0700.
    for (dir, mode, what) in [
        (&settings.exec_root, 0o711, "the exec root"),
        (&settings.data_root, 0o700, "the data root"),
    ] {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)))
            .with_context(|| format!("creating {what} {}", dir.display()))?;
    }
    let engine_config = EngineConfig {
        data_root: settings.data_root.clone(),
        exec_root: settings.exec_root.clone(),
        insecure_registries: settings.insecure_registries.clone(),
        userns_remap: match &settings.userns_remap {
            Some(s) => Some(muelle_engine::userns::resolve(s)?),
            None => None,
        },
        log_config: settings.log_config.clone(),
        network: settings.network.clone(),
    };
    // The data root first: its lock is what tells a second daemon to stop before it touches
    // anything else (sockets, the pid file).
    let engine = tokio::task::spawn_blocking(move || Engine::open(engine_config))
        .await
        .context("opening the data root")??;
    let engine = Arc::new(engine);
    let _pidfile = PidFile::create(&settings.pidfile)?;
    // Containers that kept running while the daemon was away are found again before the
    // first request can ask about them.
    engine.restore_containers().await;
    // Then the rules for what runs, and nothing of a crashed daemon's networking left over.
    engine.network_settle().await;

    let mut listeners = Vec::new();
    let mut tcp_listeners = Vec::new();
    let mut sockets = Sockets(Vec::new());
    for host in &hosts {
        match host {
            Host::Unix(path) => {
                let std_listener = bind_unix(path)?;
                sockets.0.push(path.clone());
                std_listener
                    .set_nonblocking(true)
                    .with_context(|| format!("socket {}", path.display()))?;
                let listener = UnixListener::from_std(std_listener)
                    .with_context(|| format!("socket {}", path.display()))?;
                tracing::info!(socket = %path.display(), "API listening");
                listeners.push(listener);
            }
            Host::Tcp { host: name, port } => {
                for listener in tls::bind_tcp(name, *port)
                    .await
                    .with_context(|| format!("listening on {host}"))?
                {
                    let addr = listener
                        .local_addr()
                        .with_context(|| format!("listening on {host}"))?;
                    tracing::info!(%addr, "API listening (TLS, client certificates required)");
                    tcp_listeners.push(listener);
                }
            }
        }
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(crate::app(
            engine.clone(),
        ));
        let mut stop = stop_rx.clone();
        servers.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        });
    }
    if let Some(acceptor) = tls_acceptor {
        for listener in tcp_listeners {
            let app = crate::app(engine.clone());
            let (acceptor, stop) = (acceptor.clone(), stop_rx.clone());
            servers.spawn(async move {
                tls::serve(listener, acceptor, app, stop).await;
                Ok(())
            });
        }
    }
    let trim = tokio::spawn(crate::idle::trim_when_idle());
    tracing::info!(
        version = muelle_engine::VERSION,
        data_root = %settings.data_root.display(),
        driver = engine.storage_driver(),
        "muelled started"
    );

    let signal = shutdown_signal().await;
    tracing::info!(signal, "shutting down");
    trim.abort();
    // Endless streams (`/events`) end first, so the servers can drain.
    engine.events().close();
    stop_tx.send_replace(true);
    let drain = async {
        while let Some(r) = servers.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "server error"),
                Err(e) => tracing::error!(error = %e, "server task failed"),
            }
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(15), drain)
        .await
        .is_err()
    {
        tracing::warn!("requests still running after 15s; stopping anyway");
    }
    // With no container running, no bridge, rule or namespace of ours stays behind.
    engine.network_shutdown().await;
    drop(sockets);
    tracing::info!("muelled stopped");
    Ok(())
}
