//! muelled: the muelle daemon, serving the Docker Engine API on unix sockets (and on TCP,
//! only with TLS client certificates).

// Denied, not forbidden: the allocator module makes two foreign calls into mimalloc.
#![deny(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use muelle_api::daemon::{self, DaemonFile, LogFormat, Settings, TlsOptions};

#[allow(unsafe_code)]
#[path = "muelled/allocator.rs"]
mod allocator;

#[derive(Debug, Parser)]
#[command(
    name = "muelled",
    version,
    about = "The muelle daemon: the Docker Engine API on unix sockets, and on TCP with TLS client certificates"
)]
struct Args {
    /// Socket to listen on (repeatable): unix:///path, or tcp://HOST[:PORT] (port 2376 by
    /// default; needs --tlsverify). Default unix:///run/muelle/muelle.sock.
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Root of persistent state (images, content, snapshots).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Root of runtime state (sockets, pid file).
    #[arg(long)]
    exec_root: Option<PathBuf>,
    /// daemon.json with dockerd's keys (data-root, exec-root, hosts, insecure-registries,
    /// log-level, log-format, log-driver, log-opts, pidfile, tls, tlsverify, tlscacert,
    /// tlscert, tlskey, userns-remap). Flags win
    /// over the file.
    #[arg(long)]
    config_file: Option<PathBuf>,
    /// Registry (host[:port]) that may be reached over plain HTTP (repeatable). Loopback
    /// registries always may.
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
    /// debug, info, warn, error or fatal.
    #[arg(short = 'l', long)]
    log_level: Option<String>,
    /// Log line format on stderr.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Default logging driver of containers (json-file, local, none). Default json-file.
    #[arg(long)]
    log_driver: Option<String>,
    /// Default logging driver option KEY=VALUE (repeatable). json-file's defaults in muelled
    /// are max-size=20m and max-file=5; these and daemon.json's log-opts win key by key.
    #[arg(long = "log-opt")]
    log_opts: Vec<String>,
    /// Pid file. Default <exec-root>/muelled.pid.
    #[arg(short = 'p', long)]
    pidfile: Option<PathBuf>,
    /// Use TLS (implied by --tlsverify). Without --tlsverify, TCP hosts are refused: muelled
    /// serves TCP only to clients with a certificate.
    // `--tls` and `--tls=false`, as Go's boolean flags in dockerd.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tls: Option<bool>,
    /// Use TLS and require client certificates issued by --tlscacert (needed for tcp:// hosts).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tlsverify: Option<bool>,
    /// CA that client certificates must chain to. Default $DOCKER_CERT_PATH/ca.pem, else
    /// ~/.docker/ca.pem.
    #[arg(long)]
    tlscacert: Option<PathBuf>,
    /// The server's certificate (PEM, chain allowed). Default ~/.docker/cert.pem.
    #[arg(long)]
    tlscert: Option<PathBuf>,
    /// The server's private key (PEM). Default ~/.docker/key.pem.
    #[arg(long)]
    tlskey: Option<PathBuf>,
    /// Run containers in a user namespace on the subordinate ids of a user (/etc/subuid,
    /// /etc/subgid): `default` (the `dockremap` user, made when missing), `user` or
    /// `user:group` (names or ids).
    #[arg(long, value_name = "default|user[:group]")]
    userns_remap: Option<String>,
    /// The default bridge's IPv4 address with its prefix (e.g. 172.26.0.1/16).
    #[arg(long)]
    bip: Option<String>,
}

fn settings(args: Args) -> Result<(Settings, Vec<String>)> {
    let (file, ignored) = match &args.config_file {
        Some(p) => DaemonFile::load(p, true)?,
        None => DaemonFile::load(std::path::Path::new(daemon::DEFAULT_CONFIG_FILE), false)?,
    };
    let exec_root = args
        .exec_root
        .or(file.exec_root)
        .unwrap_or_else(|| PathBuf::from(daemon::DEFAULT_EXEC_ROOT));
    let hosts = if !args.hosts.is_empty() {
        args.hosts
    } else {
        file.hosts
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| vec![daemon::DEFAULT_HOST.to_string()])
    };
    let certs = TlsOptions::with_defaults_in(&TlsOptions::default_cert_dir());
    let verify = args.tlsverify.or(file.tlsverify).unwrap_or(false);
    let tls = TlsOptions {
        // As in dockerd, --tlsverify implies --tls.
        tls: verify || args.tls.or(file.tls).unwrap_or(false),
        verify,
        ca: args.tlscacert.or(file.tlscacert).unwrap_or(certs.ca),
        cert: args.tlscert.or(file.tlscert).unwrap_or(certs.cert),
        key: args.tlskey.or(file.tlskey).unwrap_or(certs.key),
    };
    let log_config = daemon::log_config(
        args.log_driver.or(file.log_driver),
        file.log_opts.unwrap_or_default(),
        &args.log_opts,
    )?;
    let network = muelle_engine::networks::NetworkConfig::from_daemon(
        file.default_address_pools,
        args.bip.or(file.bip).as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let mut insecure = file.insecure_registries.unwrap_or_default();
    insecure.extend(args.insecure_registries);
    Ok((
        Settings {
            hosts,
            data_root: args
                .data_root
                .or(file.data_root)
                .unwrap_or_else(|| PathBuf::from(daemon::DEFAULT_DATA_ROOT)),
            pidfile: args
                .pidfile
                .or(file.pidfile)
                .unwrap_or_else(|| exec_root.join("muelled.pid")),
            exec_root,
            insecure_registries: insecure,
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".to_string()),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            log_config,
            tls,
            userns_remap: args.userns_remap.or(file.userns_remap),
            network,
        },
        ignored,
    ))
}

fn init_logging(settings: &Settings) -> Result<()> {
    let level = daemon::config_log_filter(&settings.log_level)?;
    let filter = tracing_subscriber::EnvFilter::new(level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("setting up logging: {e}"))
}

/// How long an idle thread of the blocking pool stays: long enough that a burst of
/// requests reuses threads, short enough that an idle daemon holds none of them.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(1);

fn main_inner() -> Result<()> {
    let (settings, ignored) = settings(Args::parse())?;
    init_logging(&settings)?;
    for key in ignored {
        tracing::warn!(key = %key, "config file key does not apply to muelled; ignored");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("muelled")
        // Blocking threads retire after 1 s idle (tokio's default is 10 s), taking their
        // stacks and caches with them, and purge what a finished operation freed.
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .on_thread_stop(allocator::release_free_memory)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(daemon::run(settings))
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined, as the CLI convention says.
            eprintln!("muelled: {e:#}");
            ExitCode::FAILURE
        }
    }
}
