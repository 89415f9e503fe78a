//! A container's filesystem from outside: `docker diff`, `docker commit`, `docker cp` and
//! `docker export`, over the image service's rootfs operations.
//!
//! A running container's rootfs is already mounted at its bundle's `rootfs`. A created or
//! stopped one is mounted for the length of the operation on a private directory under
//! `<exec-root>/tmp`, and unmounted by a guard whatever happens. While that mount exists the
//! container's operation lock is held, so a `start` cannot mount the same overlay upper dir
//! a second time and a `rm` cannot delete the snapshot under it.
//!
//! The `archive_*` and `export_container` methods block (they walk trees and write tars):
//! call them from a blocking thread, as the API does with `spawn_blocking`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use muelle_image::images::{parse_change, Change, CommitOptions, PathStat};
use muelle_image::manifest::ContainerConfig as ImageConfig;
use muelle_image::reference::Reference;
use muelle_image::{snapshot, ImageError};
use serde_json::Value;

use super::{container_key, ContainerConfig, ContainerError, ContainerRecord, Ctr, Status};
use crate::events::{Actor, Event, EventKind};
use crate::{Engine, EngineError, Result};

/// How long a copy into or out of a stopped container waits for the container's other
/// operation (a start, stop or removal) to finish before giving up.
const OP_WAIT: Duration = Duration::from_secs(60);

/// What `docker commit` asks besides the container (`POST /commit`'s query and body).
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// Repository to name the image (`repo`); untagged without one.
    pub repo: Option<String>,
    /// Tag for `repo`; `latest` without one.
    pub tag: Option<String>,
    /// `--message`.
    pub comment: Option<String>,
    /// `--author`.
    pub author: Option<String>,
    /// `--change` lines (Dockerfile instructions), applied in order.
    pub changes: Vec<String>,
    /// The request body: a config to start from instead of the container's (Docker merges
    /// the container's config into it afterwards).
    pub config: Option<ContainerConfig>,
    /// Freeze a running container while its changes are read.
    pub pause: bool,
}

/// A mounted view of a container's rootfs for the length of one operation.
struct Rootfs<'a> {
    path: PathBuf,
    /// Set when this guard mounted `path` (a stopped container) and must undo it.
    temporary: bool,
    /// Held while a temporary mount exists, so no start or removal runs meanwhile.
    _op: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl Drop for Rootfs<'_> {
    fn drop(&mut self) {
        if !self.temporary {
            return;
        }
        // A plain unmount first: it fails while something still uses the mount, and then
        // the lazy one detaches it so the directory can go at least from our namespace.
        if let Err(e) = snapshot::unmount(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "unmounting a temporary container rootfs; detaching it");
            let _ = rustix::mount::unmount(&self.path, rustix::mount::UnmountFlags::DETACH);
        }
        if let Err(e) = std::fs::remove_dir(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "removing a temporary rootfs mount point");
        }
    }
}

fn task_err(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> EngineError {
    move |e| EngineError::Task {
        what,
        reason: e.to_string(),
    }
}

/// Waits for the container's operation lock from a blocking thread. A tokio mutex is
/// polled rather than `blocking_lock`ed because the latter panics if a caller ever runs
/// this on an async worker.
fn lock_op_blocking(ctr: &Ctr) -> Result<tokio::sync::MutexGuard<'_, ()>> {
    let deadline = Instant::now() + OP_WAIT;
    loop {
        if let Ok(g) = ctr.op.try_lock() {
            return Ok(g);
        }
        if Instant::now() >= deadline {
            return Err(ContainerError::Conflict(format!(
                "container {} is busy with another operation; try again",
                ctr.id
            ))
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Docker refuses filesystem work on a container that is going away.
fn check_usable(rec: &ContainerRecord, what: &str) -> Result<()> {
    match rec.state.status() {
        Status::Removing => Err(ContainerError::Conflict(format!(
            "You cannot {what} container {} which is being removed",
            rec.id
        ))
        .into()),
        Status::Dead => Err(ContainerError::Conflict(format!(
            "You cannot {what} container {} which is Dead",
            rec.id
        ))
        .into()),
        _ => Ok(()),
    }
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The container's `Config` in the image config's shape (what `docker commit` stores).
fn image_config_of(c: &ContainerConfig) -> ImageConfig {
    ImageConfig {
        user: (!c.user.is_empty()).then(|| c.user.clone()),
        exposed_ports: c.exposed_ports.clone().filter(|p| !p.is_empty()),
        env: non_empty(&c.env),
        entrypoint: c.entrypoint.clone(),
        cmd: non_empty(&c.cmd),
        volumes: c.volumes.clone().filter(|v| !v.is_empty()),
        working_dir: (!c.working_dir.is_empty()).then(|| c.working_dir.clone()),
        labels: (!c.labels.is_empty()).then(|| c.labels.clone()),
        stop_signal: c.stop_signal.clone().filter(|s| !s.is_empty()),
        stop_timeout: c.stop_timeout,
        // A healthcheck or ONBUILD list the image config cannot hold is dropped rather than
        // failing the commit: the container ran with it, so it was accepted at create.
        healthcheck: c
            .healthcheck
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok())
            .and_then(|h| serde_json::from_value(h).ok()),
        on_build: c
            .on_build
            .clone()
            .and_then(|o| serde_json::from_value(o).ok()),
        shell: c
            .extra
            .get("Shell")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok()),
        args_escaped: c.extra.get("ArgsEscaped").and_then(Value::as_bool),
        extra: BTreeMap::new(),
    }
}

/// Docker's `merge` (daemon/commit.go): what the new config leaves unset comes from the
/// container's config; env, labels, ports and volumes are unions, the new config winning.
fn merge_config(user: &mut ImageConfig, base: &ImageConfig) {
    if user.user.as_deref().unwrap_or("").is_empty() {
        user.user = base.user.clone();
    }
    match (&mut user.exposed_ports, &base.exposed_ports) {
        (Some(u), Some(b)) if !u.is_empty() => {
            for (k, v) in b {
                u.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        (u, b) => {
            if u.as_ref().is_none_or(BTreeMap::is_empty) {
                *u = b.clone();
            }
        }
    }
    match &mut user.env {
        Some(env) if !env.is_empty() => {
            let key = |s: &str| s.split('=').next().unwrap_or("").to_string();
            for e in base.env.iter().flatten() {
                let k = key(e);
                if !env.iter().any(|u| key(u) == k) {
                    env.push(e.clone());
                }
            }
        }
        env => *env = base.env.clone(),
    }
    let labels = user.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in base.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if user.entrypoint.as_ref().is_none_or(Vec::is_empty) {
        if user.cmd.as_ref().is_none_or(Vec::is_empty) {
            user.cmd = base.cmd.clone();
            user.args_escaped = base.args_escaped;
        }
        if user.entrypoint.is_none() {
            user.entrypoint = base.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() {
        user.healthcheck = base.healthcheck.clone();
    }
    if user.working_dir.as_deref().unwrap_or("").is_empty() {
        user.working_dir = base.working_dir.clone();
    }
    // As moby's merge: the base's volumes join the user's; a `VOLUME` change on a
    // container without volumes is kept.
    match (&mut user.volumes, &base.volumes) {
        (Some(u), Some(b)) if !u.is_empty() => {
            for (k, v) in b {
                u.insert(k.clone(), v.clone());
            }
        }
        (u, Some(b)) => *u = Some(b.clone()),
        (_, None) => {}
    }
    if user.stop_signal.as_deref().unwrap_or("").is_empty() {
        user.stop_signal = base.stop_signal.clone();
    }
}

/// The name `repo`/`tag` ask for: `latest` when no tag is given, as Docker tags.
fn commit_reference(repo: &str, tag: Option<&str>) -> Result<Reference> {
    let bad = |name: &str, source| -> EngineError {
        ImageError::Reference {
            name: name.to_string(),
            source,
        }
        .into()
    };
    let r = Reference::parse(repo).map_err(|e| bad(repo, e))?;
    let tag = match tag.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None if r.tag().is_some() || r.digest().is_some() => return check_no_digest(r),
        None => "latest",
    };
    check_no_digest(r.with_tag(tag).map_err(|e| bad(tag, e))?)
}

fn check_no_digest(r: Reference) -> Result<Reference> {
    if r.digest().is_some() {
        return Err(ContainerError::Invalid(
            "refusing to create a tag with a digest reference".into(),
        )
        .into());
    }
    Ok(r)
}

static MOUNT_SEQ: AtomicU64 = AtomicU64::new(0);

impl Engine {
    /// Mounts (or finds mounted) the rootfs of `ctr`. Blocking.
    fn open_rootfs<'c>(&self, ctr: &'c Ctr) -> Result<(Rootfs<'c>, ContainerRecord)> {
        let rec = ctr.record();
        if rec.state.running() {
            return Ok((
                Rootfs {
                    path: self.rootfs_path(&rec.id),
                    temporary: false,
                    _op: None,
                },
                rec,
            ));
        }
        let op = lock_op_blocking(ctr)?;
        // It may have started while we waited.
        let rec = ctr.record();
        if rec.state.running() {
            drop(op);
            return Ok((
                Rootfs {
                    path: self.rootfs_path(&rec.id),
                    temporary: false,
                    _op: None,
                },
                rec,
            ));
        }
        check_usable(&rec, "access")?;
        let mounts = self.rootfs_mounts(&rec.id)?;
        let dir = self.exec_root().join("tmp");
        let n = MOUNT_SEQ.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}", rec.id));
        std::fs::create_dir_all(&path).map_err(|source| EngineError::Io {
            what: "creating",
            path: path.clone(),
            source,
        })?;
        if let Err(e) = snapshot::mount_at(&mounts, &path) {
            let _ = std::fs::remove_dir(&path);
            return Err(ImageError::Snapshot {
                key: container_key(&rec.id),
                source: Box::new(e),
            }
            .into());
        }
        Ok((
            Rootfs {
                path,
                temporary: true,
                _op: Some(op),
            },
            rec,
        ))
    }

    /// Runs `f` on the mounted rootfs of `name_or_id`. Blocking.
    pub(crate) fn with_rootfs<T>(
        &self,
        name_or_id: &str,
        f: impl FnOnce(&Path, &ContainerRecord) -> Result<T>,
    ) -> Result<T> {
        let ctr = self.containers.find(name_or_id)?;
        let (root, rec) = self.open_rootfs(&ctr)?;
        f(&root.path, &rec)
    }

    /// `docker diff`: the container's changes to its image, in Docker's order.
    pub async fn container_changes(&self, name_or_id: &str) -> Result<Vec<Change>> {
        let rec = self.container(name_or_id)?;
        let images = self.images_handle();
        let key = container_key(&rec.id);
        Ok(
            tokio::task::spawn_blocking(move || images.rootfs_changes(&key))
                .await
                .map_err(task_err("container changes"))??,
        )
    }

    /// `docker commit`: a new image of the container's changes, its config the
    /// container's (or the request's) with the `--change` lines applied and the container's
    /// merged in as Docker does. Returns the new image ID (`sha256:…`).
    pub async fn commit_container(&self, name_or_id: &str, req: CommitRequest) -> Result<String> {
        let ctr = self.containers.find(name_or_id)?;
        let reference = req
            .repo
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| commit_reference(r, req.tag.as_deref()))
            .transpose()?;
        // Built before anything is paused, so a bad `--change` costs nothing.
        let container_cfg = image_config_of(&ctr.record().config);
        let mut config = match &req.config {
            Some(c) => image_config_of(c),
            None => container_cfg.clone(),
        };
        for change in &req.changes {
            parse_change(change, &mut config).map_err(|e| match e {
                ImageError::Import { reason } => ContainerError::Invalid(reason).into(),
                other => EngineError::Image(other),
            })?;
        }
        merge_config(&mut config, &container_cfg);
        // No start, stop or removal while the upper dir is read.
        let _op = ctr.lock_op().await?;
        let rec = ctr.record();
        check_usable(&rec, "commit")?;
        let paused_here = if req.pause && rec.state.running() && !rec.state.paused() {
            match self.pause_locked(&ctr) {
                Ok(()) => true,
                // Its process ended and the exit is not recorded yet: there is nothing to
                // freeze, and dockerd commits such a container too.
                Err(_) if self.process_gone(&rec.id) => false,
                Err(e) => return Err(e),
            }
        } else {
            false
        };
        let opts = CommitOptions {
            config,
            comment: req.comment.clone().filter(|c| !c.is_empty()),
            author: req.author.clone().filter(|a| !a.is_empty()),
            reference: reference.clone(),
            created_by: Some(rec.config.cmd.join(" ")),
            cache_key: None,
            extra: Default::default(),
        };
        let images = self.images_handle();
        let key = container_key(&rec.id);
        let result = tokio::task::spawn_blocking(move || images.commit(&key, &opts))
            .await
            .map_err(task_err("commit"));
        if paused_here {
            if let Err(e) = self.unpause_locked(&ctr) {
                tracing::warn!(container = %rec.id, error = %e, "unpausing after commit");
            }
        }
        let summary = result??;
        let id = summary.id.to_string();
        let image_ref = reference
            .as_ref()
            .map(Reference::familiar)
            .unwrap_or_default();
        if let Some(r) = &reference {
            self.events().publish(Event::new(
                EventKind::Image,
                "tag",
                Actor::named(id.clone(), r.familiar()),
            ));
        }
        self.container_event(
            &rec,
            "commit",
            &[
                ("comment", req.comment.unwrap_or_default()),
                ("imageID", id.clone()),
                ("imageRef", image_ref),
            ],
        );
        Ok(id)
    }

    /// `HEAD /containers/{id}/archive`: what `path` is in the container. Blocking.
    pub fn archive_stat(&self, name_or_id: &str, path: &str) -> Result<PathStat> {
        self.with_rootfs(name_or_id, |root, _| {
            Ok(muelle_image::images::stat_in_root(root, path)?)
        })
    }

    /// `GET /containers/{id}/archive`: a tar of `path` to `out`. `on_stat` is called with
    /// the path's stat before the first byte is written (the API sends it as a header).
    /// Blocking.
    pub fn archive_get(
        &self,
        name_or_id: &str,
        path: &str,
        on_stat: &mut dyn FnMut(&PathStat),
        out: &mut dyn Write,
    ) -> Result<PathStat> {
        self.with_rootfs(name_or_id, |root, rec| {
            let stat = muelle_image::images::stat_in_root(root, path)?;
            on_stat(&stat);
            let stat = muelle_image::images::archive_from_root(root, path, out)?;
            self.container_event(rec, "archive-path", &[]);
            Ok(stat)
        })
    }

    /// `PUT /containers/{id}/archive`: extracts the uncompressed tar `tar` into the
    /// directory `path` of the container. Blocking.
    pub fn archive_put(
        &self,
        name_or_id: &str,
        path: &str,
        tar: &mut dyn Read,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> Result<()> {
        self.with_rootfs(name_or_id, |root, rec| {
            if rec.host_config.readonly_rootfs {
                return Err(
                    ContainerError::Invalid("container rootfs is marked read-only".into()).into(),
                );
            }
            // dockerd's rule for `docker cp -a`: with a `Config.User`, everything copied in
            // is that user's; without one (and without `-a`) the archive's owners stay.
            let user = &rec.config.user;
            let owner = if copy_uid_gid && !user.is_empty() {
                let u = super::etc::resolve_user(root, user).map_err(ContainerError::Invalid)?;
                Some((u.uid, u.gid))
            } else {
                None
            };
            muelle_image::images::extract_into_root_as(
                root,
                path,
                tar,
                no_overwrite_dir_non_dir,
                owner,
            )?;
            self.container_event(rec, "extract-to-dir", &[]);
            Ok(())
        })
    }

    /// `docker export`: a tar of the container's whole rootfs to `out`. Blocking.
    pub fn export_container(&self, name_or_id: &str, out: &mut dyn Write) -> Result<()> {
        self.with_rootfs(name_or_id, |root, rec| {
            check_usable(rec, "export")?;
            // Docker announces the export when the archive starts.
            self.container_event(rec, "export", &[]);
            muelle_image::images::write_tree_tar(root, out).map_err(|source| EngineError::Io {
                what: "exporting",
                path: root.to_path_buf(),
                source,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_fills_what_the_new_config_leaves_unset() {
        let base = ImageConfig {
            env: Some(vec!["PATH=/bin".into(), "A=1".into()]),
            cmd: Some(vec!["sh".into()]),
            working_dir: Some("/w".into()),
            labels: Some(BTreeMap::from([("a".into(), "1".into())])),
            ..ImageConfig::default()
        };
        let mut user = ImageConfig {
            env: Some(vec!["A=2".into()]),
            labels: Some(BTreeMap::from([("a".into(), "2".into())])),
            ..ImageConfig::default()
        };
        merge_config(&mut user, &base);
        assert_eq!(user.env, Some(vec!["A=2".into(), "PATH=/bin".into()]));
        assert_eq!(user.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(user.working_dir.as_deref(), Some("/w"));
        assert_eq!(user.labels.unwrap()["a"], "2");

        // An entrypoint given keeps its own (empty) cmd.
        let mut user = ImageConfig {
            entrypoint: Some(vec!["cat".into()]),
            ..ImageConfig::default()
        };
        merge_config(&mut user, &base);
        assert_eq!(user.cmd, None);
    }

    #[test]
    fn commit_names_default_to_latest() {
        let r = commit_reference("img", None).unwrap();
        assert_eq!(r.familiar(), "img:latest");
        let r = commit_reference("img", Some("v1")).unwrap();
        assert_eq!(r.familiar(), "img:v1");
        assert!(commit_reference("Bad Name", None).is_err());
    }

    #[test]
    fn container_config_becomes_image_config() {
        let c = ContainerConfig {
            cmd: vec!["sh".into(), "-c".into(), "true".into()],
            env: vec!["PATH=/bin".into()],
            user: "nobody".into(),
            ..ContainerConfig::default()
        };
        let i = image_config_of(&c);
        assert_eq!(i.cmd.as_deref().map(<[String]>::len), Some(3));
        assert_eq!(i.user.as_deref(), Some("nobody"));
        assert_eq!(i.working_dir, None);
        assert_eq!(i.entrypoint, None);
    }
}
