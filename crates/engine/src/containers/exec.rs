//! `docker exec`: exec instances (created, started as a stream of the container's
//! supervisor, finished when the stream ends), kept in their own store, in memory only as
//! in Docker (they do not outlive the daemon or their container).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::start::add_groups;
use super::store::lock;
use super::validate::merge_env;
use super::{ensure_running, etc, internal, names, shim, spec, start_exit_code, ContainerError};
use crate::{Engine, EngineError, Result};

/// An exec instance (`/containers/ID/exec` then `/exec/ID/start`).
#[derive(Debug, Clone)]
pub struct ExecRecord {
    pub id: String,
    pub container: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub working_dir: String,
    pub tty: bool,
    pub privileged: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub running: bool,
    pub started: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
}

/// The exec instances by ID.
#[derive(Debug, Default)]
pub struct ExecStore {
    map: Mutex<BTreeMap<String, ExecRecord>>,
}

impl ExecStore {
    fn insert(&self, e: ExecRecord) {
        lock(&self.map).insert(e.id.clone(), e);
    }

    fn get(&self, id: &str) -> Option<ExecRecord> {
        lock(&self.map).get(id).cloned()
    }

    fn update<T>(&self, id: &str, f: impl FnOnce(&mut ExecRecord) -> T) -> Option<T> {
        lock(&self.map).get_mut(id).map(f)
    }

    fn running_in(&self, container: &str) -> Vec<String> {
        lock(&self.map)
            .values()
            .filter(|e| e.container == container && e.running)
            .map(|e| e.id.clone())
            .collect()
    }

    /// An exec that is of no more interest (a health probe that ended).
    pub(crate) fn remove(&self, id: &str) {
        lock(&self.map).remove(id);
    }

    /// The container's process ended, and its execs with it.
    pub(crate) fn container_exited(&self, container: &str) {
        for e in lock(&self.map).values_mut() {
            if e.container == container {
                e.running = false;
            }
        }
    }

    /// The container is gone; so are its execs.
    pub(crate) fn container_removed(&self, container: &str) {
        lock(&self.map).retain(|_, e| e.container != container);
    }
}

impl Engine {
    pub fn exec_create(&self, name_or_id: &str, mut e: ExecRecord) -> Result<String> {
        let rec = self.container(name_or_id)?;
        ensure_running(&rec)?;
        if rec.state.paused() {
            return Err(ContainerError::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                rec.id
            ))
            .into());
        }
        if e.cmd.is_empty() {
            return Err(ContainerError::Invalid("No exec command specified".into()).into());
        }
        e.id = names::new_id().map_err(|x| internal("make an id")(x.to_string()))?;
        e.container = rec.id.clone();
        let id = e.id.clone();
        let cmdline = e.cmd.join(" ");
        self.execs.insert(e);
        self.container_event(
            &rec,
            &format!("exec_create: {cmdline}"),
            &[("execID", id.clone())],
        );
        Ok(id)
    }

    pub fn exec_inspect(&self, id: &str) -> Result<ExecRecord> {
        self.execs
            .get(id)
            .ok_or_else(|| ContainerError::NoSuchExec(id.to_string()).into())
    }

    /// Starts an exec: the shim stream after its `ok` line.
    pub async fn exec_start(&self, id: &str) -> Result<(shim::Stream, ExecRecord)> {
        let e = self.exec_inspect(id)?;
        if e.started {
            return Err(ContainerError::Conflict(format!(
                "Error: Exec command {id} has already run"
            ))
            .into());
        }
        // The exec outlives a removed container in this store; it is then as gone as the
        // container.
        let rec = self.container(&e.container).map_err(|err| match err {
            EngineError::Container(ContainerError::NotFound(_)) => {
                ContainerError::NoSuchExec(id.to_string()).into()
            }
            other => other,
        })?;
        ensure_running(&rec)?;
        let bundle = self.containers.bundle(&rec.id);
        let spec: oci_spec::runtime::Spec = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ContainerError::Internal("cannot read the container's config.json".into())
            })?;
        let mut process = spec.process().clone().ok_or_else(|| {
            ContainerError::Internal("the container's config.json has no process".into())
        })?;
        let base_env = process.env().clone().unwrap_or_default();
        process
            .set_env(Some(merge_env(&base_env, &e.env)))
            .set_args(Some(e.cmd.clone()))
            .set_terminal(Some(e.tty))
            .set_console_size(None);
        if !e.working_dir.is_empty() {
            process.set_cwd(e.working_dir.clone().into());
        }
        if !e.user.is_empty() {
            let rootfs = self.rootfs_path(&rec.id);
            let mut u = etc::resolve_user(&rootfs, &e.user).map_err(ContainerError::Invalid)?;
            // As dockerd: an exec's own user keeps the container's `--group-add` groups.
            add_groups(&mut u, &rootfs, &rec.host_config).map_err(ContainerError::Invalid)?;
            let mut user = oci_spec::runtime::User::default();
            user.set_uid(u.uid)
                .set_gid(u.gid)
                .set_additional_gids(Some(u.additional_gids));
            process.set_user(user);
        }
        if e.privileged {
            let caps = spec::process_capabilities(&spec::capabilities(true, &[], &[]))
                .map_err(|e| ContainerError::Internal(e.to_string()))?;
            process.set_capabilities(Some(caps));
        }
        let (pid, s) = shim::client(&bundle)
            .exec(process, e.tty, e.attach_stdin)
            .await
            .map_err(|m| {
                let m = m.to_string();
                ContainerError::Start {
                    exit_code: start_exit_code(&m),
                    message: format!("OCI runtime exec failed: {m}: unknown"),
                }
            })?;
        let pid = i64::from(pid);
        let Some(e) = self.execs.update(id, |x| {
            x.started = true;
            x.running = true;
            x.pid = pid;
            x.clone()
        }) else {
            return Err(ContainerError::NoSuchExec(id.to_string()).into());
        };
        self.container_event(
            &rec,
            &format!("exec_start: {}", e.cmd.join(" ")),
            &[("execID", e.id.clone())],
        );
        Ok((s, e))
    }

    /// Records an exec's end (its stream's last frame).
    pub fn exec_finished(&self, id: &str, code: i64) {
        let Some(container) = self.execs.update(id, |x| {
            x.running = false;
            x.exit_code = Some(code);
            x.container.clone()
        }) else {
            return;
        };
        if let Ok(rec) = self.container(&container) {
            self.container_event(
                &rec,
                "exec_die",
                &[("execID", id.to_string()), ("exitCode", code.to_string())],
            );
        }
    }

    pub async fn exec_resize(&self, id: &str, height: u32, width: u32) -> Result<()> {
        let e = self.exec_inspect(id)?;
        let (height, width) = shim::pty_size(height, width)
            .map_err(|m| ContainerError::Conflict(format!("resize exec {id}: {m}")))?;
        let pid = i32::try_from(e.pid)
            .map_err(|_| ContainerError::Conflict(format!("resize exec {id}: no process")))?;
        shim::client(&self.containers.bundle(&e.container))
            .exec_resize(pid, height, width)
            .await
            .map_err(|m| ContainerError::Conflict(format!("resize exec {id}: {m}")))?;
        Ok(())
    }

    /// The running execs of a container (inspect's `ExecIDs`).
    pub fn exec_ids(&self, container: &str) -> Vec<String> {
        self.execs.running_in(container)
    }
}
