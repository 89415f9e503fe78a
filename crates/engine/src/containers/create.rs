//! `docker create`: the request checked, the image's config merged in as Docker does, a
//! name and an ID, the writable layer made, the record written; and the queries on what
//! create made (the record, the rootfs's mounts and mount point).

use std::path::PathBuf;

use muelle_image::snapshot::MountSpec;
use muelle_types::container::HealthConfig;

use super::validate::{merge_env, validate};
use super::{
    container_key, internal, names, now, ContainerConfig, ContainerError, ContainerRecord,
    HostConfig, State, DEFAULT_RUNTIME,
};
use super::{devices, health, platform};
use crate::fsutil::{create_private_dir, write_atomic, write_durable};
use crate::{Engine, EngineError, Result};

/// The mounts of the rootfs snapshot, beside the record.
const ROOTFS_MOUNTS: &str = "rootfs.json";

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A create request: Docker's body, already parsed at the API edge.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    /// `NetworkingConfig.EndpointsConfig`, by network name or id.
    pub endpoints: std::collections::BTreeMap<String, muelle_types::container::EndpointSettings>,
}

impl Engine {
    /// Creates a container: validates the request, makes its writable layer, records it.
    pub async fn create_container(&self, req: CreateRequest) -> Result<(String, Vec<String>)> {
        let c = &self.containers;
        let mut config = req.config;
        let mut host = req.host_config;
        let name = match &req.name {
            Some(n) if !n.is_empty() => {
                let n = n.strip_prefix('/').unwrap_or(n);
                if !names::valid_name(n) {
                    return Err(ContainerError::Invalid(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    ))
                    .into());
                }
                n.to_string()
            }
            _ => {
                let mut i = 0;
                loop {
                    let n = names::generate_name(i);
                    if c.name_in_use(&n, None).is_none() {
                        break n;
                    }
                    i += 1;
                }
            }
        };
        super::log_driver::merge(&mut host.log_config, &self.config().log_config);
        let mounts = validate(&config, &host)?;
        let warnings = platform::check_create(&mut host, platform::CgroupCaps::host())?;
        devices::check(&host).map_err(ContainerError::Invalid)?;
        self.resolve_namespace_targets(&mut host)?;
        self.check_userns(&host)?;
        super::namespaces::fill_defaults(&mut host);
        // dockerd's default: as much swap as memory (memory+swap twice the limit), which
        // `docker update --memory` then checks against.
        if host.memory > 0 && host.memory_swap == 0 {
            host.memory_swap = host.memory.saturating_mul(2);
        }
        if host.runtime.is_empty() {
            host.runtime = DEFAULT_RUNTIME.into();
        }
        if host.cgroupns_mode.is_empty() {
            host.cgroupns_mode = crate::host::default_cgroupns_mode().into();
        }
        let networks = self.endpoints_for_create(&config, &host, &req.endpoints)?;
        let image = self.images().image(&config.image)?;
        let ic = image.config.config.clone().unwrap_or_default();
        // Docker's merge of the image's config into the container's.
        if config.entrypoint.is_none() {
            config.entrypoint = ic.entrypoint.clone();
            if config.cmd.is_empty() {
                config.cmd = ic.cmd.clone().unwrap_or_default();
            }
        }
        let entry = config.entrypoint.clone().unwrap_or_default();
        let mut argv: Vec<String> = entry;
        argv.extend(config.cmd.iter().cloned());
        if argv.is_empty() {
            return Err(ContainerError::Invalid("no command specified".into()).into());
        }
        config.env = merge_env(ic.env.as_deref().unwrap_or(&[]), &config.env);
        if !config.env.iter().any(|e| e.starts_with("PATH=")) {
            config.env.insert(0, DEFAULT_PATH.into());
        }
        if config.working_dir.is_empty() {
            config.working_dir = ic.working_dir.clone().unwrap_or_default();
        } else if !config.working_dir.starts_with('/') {
            return Err(ContainerError::Invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                config.working_dir
            ))
            .into());
        }
        if config.user.is_empty() {
            config.user = ic.user.clone().unwrap_or_default();
        }
        let mut labels = ic.labels.clone().unwrap_or_default();
        labels.extend(config.labels.clone());
        config.labels = labels;
        if config.stop_signal.is_none() {
            config.stop_signal = ic.stop_signal.clone();
        }
        if let Some(p) = &ic.exposed_ports {
            let mut e = config.exposed_ports.clone().unwrap_or_default();
            for (k, v) in p {
                e.entry(k.clone()).or_insert(v.clone());
            }
            config.exposed_ports = Some(e);
        }
        config.healthcheck = HealthConfig::merge(
            config.healthcheck.take(),
            health::image_check(ic.healthcheck.as_ref()).as_ref(),
        );
        let id = names::new_id().map_err(|e| internal("make an id")(e.to_string()))?;
        // The image's VOLUMEs and the config's (`-v /path` from the docker CLI) become
        // anonymous volumes unless a mount covers them.
        let mut volume_paths: Vec<String> = ic
            .volumes
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .collect();
        for p in config.volumes.iter().flatten().map(|(k, _)| k) {
            if !volume_paths.contains(p) {
                volume_paths.push(p.clone());
            }
        }
        let from = self.volumes_from(host.volumes_from.as_deref().unwrap_or_default())?;
        let mounts = crate::volumes::merge_by_destination(from, mounts);
        let vols = self.container_volumes(mounts, &volume_paths)?;
        if config.hostname.is_empty() {
            config.hostname = if host.network_mode() == "host" {
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned()
            } else {
                id[..12].to_string()
            };
        }
        let dir = c.data_dir(&id);
        let rec = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: now(),
            image_id: image.id.to_string(),
            path: argv[0].clone(),
            args: argv[1..].to_vec(),
            config,
            host_config: host,
            mounts: vols.mounts,
            copy_up: vols.copy_up,
            mount_extras: vols.extras,
            state: State::created(),
            restart_count: 0,
            stopped_by_user: false,
            driver: self.storage_driver().to_string(),
            log_path: dir.join(format!("{id}-json.log")).display().to_string(),
            hosts_path: dir.join("hosts").display().to_string(),
            hostname_path: dir.join("hostname").display().to_string(),
            resolv_conf_path: dir.join("resolv.conf").display().to_string(),
            networks,
            published: Vec::new(),
        };
        // Reserve the name before the slow part, so two creates cannot both take it.
        if let Err(e) = c.insert(rec.clone()) {
            self.take_back(&vols.created);
            return Err(e.into());
        }
        let made = self.make_container_dir(&rec, &image.id.to_string()).await;
        if let Err(e) = made {
            c.remove(&id);
            let _ = std::fs::remove_dir_all(&dir);
            let key = container_key(&id);
            let images = self.images_handle();
            let _ = tokio::task::spawn_blocking(move || images.remove_rootfs(&key)).await;
            self.take_back(&vols.created);
            return Err(e);
        }
        self.container_event(&rec, "create", &[]);
        Ok((id, warnings))
    }

    async fn make_container_dir(&self, rec: &ContainerRecord, image_id: &str) -> Result<()> {
        let dir = self.containers.data_dir(&rec.id);
        create_private_dir(&dir).map_err(|source| EngineError::Io {
            what: "creating",
            path: dir.clone(),
            source,
        })?;
        let images = self.images_handle();
        let key = container_key(&rec.id);
        let image_id = image_id.to_string();
        let mounts = tokio::task::spawn_blocking(move || images.prepare_rootfs(&image_id, &key))
            .await
            .map_err(|e| EngineError::Task {
                what: "prepare rootfs",
                reason: e.to_string(),
            })??;
        let data =
            serde_json::to_vec(&mounts).map_err(|e| internal("encode mounts")(e.to_string()))?;
        let write = if rec.host_config.auto_remove {
            write_atomic
        } else {
            write_durable
        };
        write(&dir.join(ROOTFS_MOUNTS), &data).map_err(|source| EngineError::Io {
            what: "writing",
            path: dir.join(ROOTFS_MOUNTS),
            source,
        })?;
        self.containers.save(rec)
    }

    /// The mounts of a container's rootfs snapshot.
    pub fn rootfs_mounts(&self, id: &str) -> Result<Vec<MountSpec>> {
        let p = self.containers.data_dir(id).join(ROOTFS_MOUNTS);
        let bytes = std::fs::read(&p).map_err(|source| EngineError::Io {
            what: "reading",
            path: p.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| internal("decode rootfs mounts")(e.to_string()))
    }

    /// The container's record.
    pub fn container(&self, name_or_id: &str) -> Result<ContainerRecord> {
        Ok(self.containers.find(name_or_id)?.record())
    }

    /// Where a running container's rootfs is mounted.
    pub fn rootfs_path(&self, id: &str) -> PathBuf {
        self.containers.bundle(id).join("rootfs")
    }
}
