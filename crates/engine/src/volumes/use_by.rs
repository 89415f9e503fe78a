//! What a container's life does to its volumes: at create the volumes it names are made
//! when missing (anonymous ones for `-v /path` and the image's `VOLUME`s) and its mount
//! points get their sources; at start the driver's mounts are made, empty new volumes get
//! the image's content and `mount` is announced; at exit `unmount`; `rm -v` removes the
//! anonymous ones.

use std::collections::BTreeMap;
use std::path::Path;

use muelle_types::container::MountPoint;

use super::local::LocalOptions;
use super::{copyup, MountExtra, MountRequest, VolumeError};
use crate::Engine;

/// The volume side of a create: the container's mount points, the destinations to copy the
/// image's content to, and the volumes made for it (to take back if the create fails).
#[derive(Debug, Default)]
pub struct ContainerVolumes {
    pub mounts: Vec<MountPoint>,
    pub copy_up: Vec<String>,
    pub created: Vec<String>,
    /// What the mounts need at start beyond their mount points, by destination.
    pub extras: BTreeMap<String, MountExtra>,
}

impl Engine {
    /// Resolves a create's mounts: `requests` from Binds and Mounts, then an anonymous
    /// volume for each of `volume_paths` (config and image `Volumes`) no mount covers.
    pub fn container_volumes(
        &self,
        requests: Vec<MountRequest>,
        volume_paths: &[String],
    ) -> Result<ContainerVolumes, VolumeError> {
        let mut out = ContainerVolumes::default();
        let mut all = requests;
        for p in volume_paths {
            if !all.iter().any(|r| r.point.destination == *p) {
                all.push(MountRequest::anonymous(p));
            }
        }
        for mut r in all {
            if r.is_volume() {
                let made = self
                    .volume_for(&r)
                    .inspect_err(|_| self.take_back(&out.created));
                let (name, new) = made?;
                if new {
                    out.created.push(name.clone());
                }
                r.point.source = self.volumes.data_path(&name).display().to_string();
                r.point.name = name;
                if r.copy {
                    out.copy_up.push(r.point.destination.clone());
                }
            }
            if r.extra != MountExtra::default() {
                out.extras.insert(r.point.destination.clone(), r.extra);
            }
            out.mounts.push(r.point);
        }
        Ok(out)
    }

    fn volume_for(&self, r: &MountRequest) -> Result<(String, bool), VolumeError> {
        if !r.point.name.is_empty() {
            if let Ok(v) = self.volumes.get(&r.point.name) {
                return Ok((v.name, false));
            }
        }
        let v = self.create_volume(&r.point.name, "", r.labels.clone(), r.driver_opts.clone())?;
        Ok((v.name, true))
    }

    /// Removes the volumes a failed create made.
    pub fn take_back(&self, created: &[String]) {
        for n in created {
            let _ = self.remove_volume(n, false);
        }
    }

    /// Before a container starts (its rootfs mounted): each volume's driver mount, the
    /// image's content copied into empty new volumes, `mount` events; missing `-v` host
    /// directories made and `volume-subpath`s bound where the container's mounts take
    /// them from. Returns the mount points with the sources the spec is to use.
    pub fn mount_volumes(
        &self,
        container: &str,
        mounts: &[MountPoint],
        extras: &BTreeMap<String, MountExtra>,
        copy_up: &[String],
        rootfs: &Path,
    ) -> Result<Vec<MountPoint>, VolumeError> {
        let mut now = mounts.to_vec();
        for (i, m) in mounts.iter().enumerate() {
            let extra = extras.get(&m.destination);
            if m.typ == "bind" {
                let ready = if extra.is_some_and(|e| e.create_source) {
                    super::subpath::create_bind_source(&m.source)
                } else {
                    Ok(())
                };
                if let Err(e) =
                    ready.and_then(|()| super::propagation::check(&m.source, &m.propagation))
                {
                    self.unmount_volumes(container, &mounts[..i]);
                    return Err(e);
                }
            }
            if m.typ != "volume" {
                continue;
            }
            let mut made = self.mount_one(container, m, copy_up, rootfs);
            if let (Ok(()), Some(sub)) =
                (&made, extra.map(|e| &e.subpath).filter(|s| !s.is_empty()))
            {
                let dir = self.containers.bundle(container).join(super::subpath::DIR);
                match super::subpath::bind_subpath(&self.volumes.data_path(&m.name), sub, &dir, i) {
                    Ok(p) => now[i].source = p.display().to_string(),
                    Err(e) => made = Err(e),
                }
            }
            if let Err(e) = made {
                self.unmount_volumes(container, &mounts[..=i]);
                return Err(e);
            }
            self.volume_event(
                "mount",
                &m.name,
                &[
                    ("container", container.to_string()),
                    ("destination", m.destination.clone()),
                    ("propagation", m.propagation.clone()),
                    ("read/write", m.rw.to_string()),
                ],
            );
        }
        Ok(now)
    }

    fn mount_one(
        &self,
        container: &str,
        m: &MountPoint,
        copy_up: &[String],
        rootfs: &Path,
    ) -> Result<(), VolumeError> {
        let v = self.volumes.get(&m.name)?;
        let data = self.volumes.data_path(&m.name);
        if let Some(opts) = LocalOptions::parse(&v.options).map_err(VolumeError::Invalid)? {
            let mut mounted = self.volumes.mounted();
            let users = mounted.entry(m.name.clone()).or_default();
            if users.is_empty() {
                opts.mount(&data).map_err(VolumeError::Mount)?;
            }
            users.insert(container.to_string());
        }
        if copy_up.contains(&m.destination) && copyup::is_empty(&data) {
            copyup::copy_up(rootfs, &m.destination, &data).map_err(|e| {
                VolumeError::Internal(format!(
                    "copying the image's content at {} into volume {}: {e}",
                    m.destination, m.name
                ))
            })?;
        }
        Ok(())
    }

    /// After a daemon restart: a running container holds the driver mounts of its volumes
    /// again (they stayed mounted while the daemon was away), so its exit undoes them.
    pub fn readopt_volumes(&self, container: &str, mounts: &[MountPoint]) {
        for m in mounts.iter().filter(|m| m.typ == "volume") {
            let has_options = self
                .volumes
                .get(&m.name)
                .is_ok_and(|v| !v.options.is_empty());
            if has_options {
                self.volumes
                    .mounted()
                    .entry(m.name.clone())
                    .or_default()
                    .insert(container.to_string());
            }
        }
    }

    /// After a container's exit: the driver mounts its volumes no other container holds
    /// are undone, and `unmount` is announced.
    pub fn unmount_volumes(&self, container: &str, mounts: &[MountPoint]) {
        super::subpath::unbind_all(&self.containers.bundle(container).join(super::subpath::DIR));
        for m in mounts.iter().filter(|m| m.typ == "volume") {
            {
                let mut mounted = self.volumes.mounted();
                if let Some(users) = mounted.get_mut(&m.name) {
                    if users.remove(container) && users.is_empty() {
                        LocalOptions::unmount(&self.volumes.data_path(&m.name));
                        mounted.remove(&m.name);
                    }
                }
            }
            self.volume_event("unmount", &m.name, &[("container", container.to_string())]);
        }
    }

    /// `rm -v`: the container's anonymous volumes, unless another container uses them.
    pub fn remove_anonymous_volumes(&self, mounts: &[MountPoint]) {
        for m in mounts.iter().filter(|m| m.typ == "volume") {
            if self.volumes.get(&m.name).is_ok_and(|v| v.is_anonymous()) {
                if let Err(e) = self.remove_volume(&m.name, false) {
                    tracing::debug!(volume = %m.name, error = %e, "anonymous volume kept");
                }
            }
        }
    }
}
