//! `docker start`: the rootfs mounted on the bundle, the OCI spec and the /etc files
//! written, the container's supervisor spawned, the attaches that waited for the start
//! connected, then the process started with a `wait` already open on the supervisor, whose
//! answer the monitor takes.

use std::path::Path;
use std::sync::Arc;

use super::log_driver::LogFile;
use super::runtime_ops::{RuntimeOp, SIGKILL};
use super::store::lock;
use super::{
    etc, internal, namespaces, now, shim, spec, ContainerError, ContainerRecord, Ctr, HostConfig,
    Status, EXIT_FILE,
};
use crate::fsutil::{create_private_dir, write_atomic};
use crate::{networks, Engine, EngineError, Result};

/// How long a start waits for the supervisor of the container's last run to exit (it
/// lingers at most its final flush, 5 s, after the unmounts).
const SHIM_EXIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a container's supervisor did not start.
enum SpawnError {
    /// The process could not be described (its user or groups, its files): dockerd reports
    /// such errors bare, with exit code 128.
    Setup(String),
    /// The supervisor or the runtime failed, with the exit code Docker gives that failure.
    Runtime(String, i64),
}

/// Adds the container's `--group-add` groups to a resolved user's supplementary groups.
pub(super) fn add_groups(
    user: &mut etc::User,
    rootfs: &Path,
    host: &HostConfig,
) -> Result<(), String> {
    let wanted = host.group_add.as_deref().unwrap_or_default();
    for gid in etc::additional_groups(rootfs, wanted)? {
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    Ok(())
}

impl Engine {
    /// Starts a created or stopped container.
    pub async fn start_container(self: &Arc<Self>, name_or_id: &str) -> Result<()> {
        let ctr = self.containers.find(name_or_id)?;
        let op = ctr.lock_op().await?;
        let rec = ctr.record();
        if rec.state.paused() {
            return Err(ContainerError::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            )
            .into());
        }
        if rec.state.running() {
            return Err(ContainerError::NotModified("container already started".into()).into());
        }
        // A dead container is one whose removal failed part way: its rootfs may be gone.
        if matches!(rec.state.status(), Status::Removing | Status::Dead) {
            return Err(ContainerError::Conflict(
                "container is marked for removal and cannot be started".into(),
            )
            .into());
        }
        let result = self.start_locked(&ctr).await;
        drop(op);
        // As dockerd's containerStart: a `--rm` container that fails to start is removed,
        // which is what `docker run --rm` waits for (condition=removed) before it exits.
        if result.is_err() && ctr.record().host_config.auto_remove {
            if let Err(e) = self.auto_remove(&ctr.id).await {
                tracing::warn!(container = %ctr.id, error = %e, "auto-remove after a failed start");
            }
        }
        result
    }

    /// Boxed: a container's exit can restart it, which starts a monitor of its next exit,
    /// so the future types would otherwise contain themselves.
    pub(super) fn start_locked<'a>(
        self: &'a Arc<Self>,
        ctr: &'a Arc<Ctr>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(self.start_inner(ctr))
    }

    async fn start_inner(self: &Arc<Self>, ctr: &Arc<Ctr>) -> Result<()> {
        // The last run's supervisor unmounts the rootfs after it has answered the exit: a
        // rootfs mounted again before that would be the one it takes away.
        let mut progress = ctr.progress.subscribe();
        if tokio::time::timeout(SHIM_EXIT_LIMIT, progress.wait_for(|p| !p.shim_busy))
            .await
            .is_err()
        {
            tracing::warn!(container = %ctr.id, "the last run's supervisor has not exited; starting anyway");
        }
        let t0 = std::time::Instant::now();
        let rec = ctr.record();
        let id = rec.id.clone();
        let bundle = self.containers.bundle(&id);
        let rootfs = bundle.join("rootfs");
        let data = self.containers.data_dir(&id);
        // dockerd starts the logging driver before anything of the container is set up.
        let log = self.log_file(&rec, &data)?;
        let _ = std::fs::remove_file(data.join(EXIT_FILE));
        // The shim's fallback exit record (the data root was full) of an earlier run.
        let _ = std::fs::remove_file(bundle.join(EXIT_FILE));
        // A leftover of an earlier run the daemon could not clean (it was away).
        let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir_all(self.containers.runtime_root().join(&id));
        create_private_dir(&bundle)
            .and_then(|()| create_private_dir(&rootfs))
            .map_err(|source| EngineError::Io {
                what: "creating",
                path: rootfs.clone(),
                source,
            })?;
        let mounts = self.rootfs_mounts(&id)?;
        match self.remap_of(&rec.host_config) {
            Some(remap) => super::userns::open_bundle(&bundle, remap)
                .and_then(|()| super::userns::mount_rootfs(&mounts, &rootfs, &bundle, remap))
                .map_err(internal("mount the rootfs"))?,
            None => muelle_image::snapshot::mount_at(&mounts, &rootfs)
                .map_err(|e| internal("mount the rootfs")(e.to_string()))?,
        }
        let mounts_now =
            match self.mount_volumes(&id, &rec.mounts, &rec.mount_extras, &rec.copy_up, &rootfs) {
                Ok(m) => m,
                Err(e) => {
                    let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                    return Err(e.into());
                }
            };
        let mounted = t0.elapsed();
        let rec = match self.network_up(&rec).await {
            Ok(live) => live,
            Err(e) => {
                let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                self.unmount_volumes(&id, &rec.mounts);
                let message = e.to_string();
                let rec = ctr.update(|r| {
                    r.state.set_start_failed(128, message, Some(now()));
                    r.clone()
                });
                self.save_or_warn(&rec, "a failed start");
                return Err(e);
            }
        };
        ctr.update(|r| {
            r.networks = rec.networks.clone();
            r.published = rec.published.clone();
        });
        // The spec takes each mount from where it is now (a volume's subpath bind).
        let spec_rec = ContainerRecord {
            mounts: mounts_now,
            ..rec.clone()
        };
        let result = self
            .spawn_shim(&spec_rec, &bundle, &rootfs, &data, log.as_ref())
            .await;
        let ready = t0.elapsed();
        let pid = match result {
            Ok(pid) => pid,
            Err(err) => {
                let (message, code, full) = match err {
                    SpawnError::Setup(m) => (m.clone(), 128, m),
                    SpawnError::Runtime(m, code) => {
                        let full = format!(
                            "failed to create task for container: failed to create shim task: OCI runtime create failed: {m}: unknown"
                        );
                        (m, code, full)
                    }
                };
                let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
                namespaces::unmount_shm(&bundle);
                self.unmount_volumes(&id, &rec.mounts);
                self.network_down(ctr).await;
                let finished = now();
                let rec = ctr.update(|r| {
                    r.state
                        .set_start_failed(code, message.clone(), Some(finished));
                    r.clone()
                });
                // The start fails either way; its error is the answer, and the state in
                // memory is what inspect shows until the next save.
                self.save_or_warn(&rec, "a failed start");
                return Err(ContainerError::Start {
                    message: full,
                    exit_code: code,
                }
                .into());
            }
        };
        // Clients that attached before start get the stream from the first byte.
        connect_pending(ctr, &bundle).await;
        // Learn the exit from a wait request opened before the process runs.
        let supervisor = shim::client(&bundle);
        let waiter = supervisor.wait().await;
        if let Err(e) = supervisor.start().await.map_err(|e| e.to_string()) {
            if let Ok(w) = waiter {
                drop(w);
            }
            let _ = self.runtime(&id, RuntimeOp::Kill(SIGKILL, true));
            self.network_down(ctr).await;
            let code = start_exit_code(&e);
            let rec = ctr.update(|r| {
                r.state.set_start_failed(code, e.clone(), None);
                r.clone()
            });
            // As above: the start's error is the answer whether or not this reaches disk.
            self.save_or_warn(&rec, "a failed start");
            return Err(ContainerError::Start {
                message: format!("failed to start container: {e}"),
                exit_code: code,
            }
            .into());
        }
        let started = now();
        ctr.update(|r| {
            r.state.set_running(pid, started);
            r.stopped_by_user = false;
        });
        self.health_start(ctr);
        let rec = ctr.record();
        self.containers.save(&rec)?;
        ctr.progress.send_modify(|p| p.running = true);
        tracing::debug!(
            container = %rec.id,
            mounted_us = mounted.as_micros() as u64,
            shim_ready_us = ready.as_micros() as u64,
            running_us = t0.elapsed().as_micros() as u64,
            "started"
        );
        self.container_event(&rec, "start", &[]);
        let engine = self.clone();
        let c2 = ctr.clone();
        tokio::spawn(async move {
            engine.monitor(c2, waiter.ok()).await;
        });
        Ok(())
    }

    async fn spawn_shim(
        &self,
        rec: &ContainerRecord,
        bundle: &Path,
        rootfs: &Path,
        data: &Path,
        log: Option<&LogFile>,
    ) -> std::result::Result<i64, SpawnError> {
        let id = &rec.id;
        let cfg = &rec.config;
        let hc = &rec.host_config;
        let joined = self.joined_namespaces(rec).map_err(SpawnError::Setup)?;
        let mut user = etc::resolve_user(rootfs, &cfg.user).map_err(SpawnError::Setup)?;
        add_groups(&mut user, rootfs, hc).map_err(SpawnError::Setup)?;
        let dns = |k: &str| super::network_opts::host_config_list(hc, k);
        let (dns, dns_search, dns_options) = (dns("Dns"), dns("DnsSearch"), dns("DnsOptions"));
        let facts = self.net_facts(rec);
        let etc_files = networks::write_etc_files(&networks::EtcFiles {
            hostname: &cfg.hostname,
            domainname: &cfg.domainname,
            extra_hosts: &hc.extra_hosts,
            dns: &dns,
            dns_search: &dns_search,
            dns_options: &dns_options,
            no_network: hc.network_mode() == "none",
            host_network: hc.network_mode() == "host",
            hostname_path: &rec.hostname_path,
            hosts_path: &rec.hosts_path,
            resolv_conf_path: &rec.resolv_conf_path,
            addresses: &facts.addresses,
            links: &facts.link_hosts,
            embedded_dns: facts.embedded_dns,
            host_gateway: self.network("bridge").ok().and_then(|n| {
                n.subnets
                    .iter()
                    .find(|s| s.gateway.is_ipv4())
                    .map(|s| s.gateway)
            }),
            durable: !hc.auto_remove,
        })
        .map_err(SpawnError::Setup)?;
        let mut env = cfg.env.clone();
        for kv in &facts.link_env {
            let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
            if !env
                .iter()
                .any(|e| e.split_once('=').is_some_and(|(k, _)| k == key))
            {
                env.push(kv.clone());
            }
        }
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.insert(1.min(env.len()), format!("HOSTNAME={}", cfg.hostname));
        }
        if cfg.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!(
                "HOME={}",
                if user.home.is_empty() {
                    "/"
                } else {
                    &user.home
                }
            ));
        }
        let mut args = vec![rec.path.clone()];
        args.extend(rec.args.iter().cloned());
        let init_binary = match hc.init {
            Some(true) => Some(
                shim::init_binary()
                    .map_err(SpawnError::Setup)?
                    .display()
                    .to_string(),
            ),
            _ => None,
        };
        let input = spec::SpecInput {
            record: rec,
            uid: user.uid,
            gid: user.gid,
            additional_gids: user.additional_gids,
            env,
            args,
            cwd: if cfg.working_dir.is_empty() {
                "/".into()
            } else {
                cfg.working_dir.clone()
            },
            etc_files,
            cgroups_path: super::platform::cgroups_path(&hc.cgroup_parent, id),
            init_binary,
        };
        let mut spec = spec::build(&input).map_err(|e| SpawnError::Setup(e.to_string()))?;
        namespaces::apply(&mut spec, rec, &joined);
        if networks::datapath::has_active(rec) {
            let asked: std::collections::HashMap<String, String> = hc
                .sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            namespaces::set_network_path(&mut spec, &self.netns_path(id), &asked);
        }
        if let Some(remap) = self.remap_of(hc) {
            let c = self.config();
            super::userns::apply(&mut spec, remap, &[&c.data_root, &c.exec_root], joined.user);
        }
        let spec_bytes = serde_json::to_vec_pretty(&spec)
            .map_err(|e| SpawnError::Setup(format!("encode spec: {e}")))?;
        // The bundle is in the exec root, which a reboot empties: nothing to sync.
        write_atomic(&bundle.join("config.json"), &spec_bytes)
            .map_err(|e| SpawnError::Setup(format!("write config.json: {e}")))?;
        let mut a = vec![
            "--id".to_string(),
            id.clone(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--runtime-root".into(),
            self.containers.runtime_root().display().to_string(),
            "--state-dir".into(),
            bundle.display().to_string(),
            "--exit-file".into(),
            data.join(EXIT_FILE).display().to_string(),
            "--unmount".into(),
            rootfs.display().to_string(),
        ];
        if rec.host_config.ipc_mode == "shareable" {
            a.push("--unmount".into());
            a.push(bundle.join(namespaces::SHM_DIR).display().to_string());
        }
        match log {
            Some(f) => a.extend(f.shim_args()),
            None => a.extend(["--log-driver".to_string(), "none".into()]),
        }
        if cfg.tty {
            a.push("--tty".into());
        }
        if cfg.open_stdin {
            a.push("--stdin".into());
            if cfg.stdin_once {
                a.push("--stdin-once".into());
            }
        }
        shim::spawn(&a, &bundle.join("shim.log"))
            .await
            .map_err(|e| {
                let code = start_exit_code(&e);
                SpawnError::Runtime(e, code)
            })
    }
}

/// Connects the attaches that came before the start, so they get the stream from the first
/// byte. One whose supervisor request fails is dropped: its client sees the stream end.
async fn connect_pending(ctr: &Ctr, bundle: &Path) {
    let pending = std::mem::take(&mut *lock(&ctr.pending));
    let supervisor = shim::client(bundle);
    for p in pending {
        if let Ok(s) = supervisor.attach(p.stdin, p.stdout, p.stderr).await {
            let _ = p.tx.send(s);
        }
    }
}

/// Exit code `docker run` uses for a start error: 127 not found, 126 cannot invoke, else 128.
pub fn start_exit_code(msg: &str) -> i64 {
    let m = msg.to_ascii_lowercase();
    if m.contains("executable file not found") || m.contains("no such file or directory") {
        127
    } else if m.contains("permission denied") || m.contains("unable to find user") {
        126
    } else {
        128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_error_exit_codes() {
        assert_eq!(
            start_exit_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_exit_code("exec /etc: permission denied"), 126);
        assert_eq!(start_exit_code("something else"), 128);
    }
}
