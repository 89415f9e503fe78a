//! The build's containers: one is made from the step's parent image for every step that
//! changes files (RUN runs in it; COPY, ADD and WORKDIR write into its rootfs), committed
//! as the step's image, and removed. They are ordinary containers of this engine (the same
//! runtime, snapshots, networks and events as `docker run`), as with the legacy builder.

use std::collections::BTreeMap;
use std::sync::Arc;

use muelle_image::manifest::ContainerConfig as ImageContainerConfig;
use muelle_image::{CommitOptions, ImageSummary};
use muelle_types::container::HealthConfig;
use tokio::sync::mpsc;

use super::{BuildError, BuildEvent};
use crate::containers::shim::Output;
use crate::containers::{container_key, AttachTarget, ContainerConfig, CreateRequest, HostConfig};
use crate::{Engine, Result};

/// How a RUN step's container is set up.
#[derive(Debug, Clone, Default)]
pub(super) struct RunSpec {
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub user: String,
    pub workdir: String,
    pub network_mode: String,
    pub binds: Vec<String>,
    pub tmpfs: BTreeMap<String, String>,
    pub extra_hosts: Vec<String>,
}

/// A container of the build, removed when dropped unless `keep` (the daemon's task does it).
pub(super) struct StepContainer {
    engine: Arc<Engine>,
    pub id: String,
    pub removed: bool,
    /// The step's parent image (`None` on scratch, whose container stands on an empty
    /// base).
    pub parent: Option<String>,
}

impl StepContainer {
    /// A container of `parent` (an image ID) that would run `spec`.
    pub async fn create(engine: &Arc<Engine>, parent: &str, spec: &RunSpec) -> Result<Self> {
        // A container that is never started (COPY, WORKDIR) still needs a command; the
        // legacy builder gives such containers this one.
        let cmd = if spec.argv.is_empty() {
            vec!["/bin/sh".into(), "-c".into(), "#(nop) ".into()]
        } else {
            spec.argv.clone()
        };
        let config = ContainerConfig {
            image: parent.to_string(),
            cmd,
            // The step's command is the whole command line: no image entrypoint before it.
            entrypoint: Some(Vec::new()),
            env: spec.env.clone(),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            attach_stdout: true,
            attach_stderr: true,
            // An inherited HEALTHCHECK must not probe a build step.
            healthcheck: Some(HealthConfig {
                test: vec!["NONE".into()],
                ..HealthConfig::default()
            }),
            ..ContainerConfig::default()
        };
        let host_config = HostConfig {
            network_mode: spec.network_mode.clone(),
            binds: spec.binds.clone(),
            tmpfs: spec.tmpfs.clone(),
            extra_hosts: spec.extra_hosts.clone(),
            ..HostConfig::default()
        };
        let (id, _warnings) = engine
            .create_container(CreateRequest {
                name: None,
                config,
                host_config,
                endpoints: BTreeMap::new(),
            })
            .await?;
        Ok(StepContainer {
            engine: engine.clone(),
            id,
            removed: false,
            parent: Some(parent.to_string()),
        })
    }

    /// Runs the container to its end, its output sent as events; returns the exit code.
    pub async fn run(&self, events: &mpsc::Sender<BuildEvent>) -> Result<i64> {
        let (target, _) = self
            .engine
            .attach_container(&self.id, false, true, true)
            .await?;
        let done = self.engine.wait_container(&self.id, "next-exit")?;
        self.engine.start_container(&self.id).await?;
        let stream = match target {
            AttachTarget::Live(s) => Some(s),
            AttachTarget::Pending(rx) => rx.await.ok(),
        };
        if let Some(mut s) = stream {
            while let Ok(Some(out)) = s.next().await {
                match out {
                    Output::Stdout(b) | Output::Stderr(b) => {
                        let _ = events.send(BuildEvent::Output(b)).await;
                    }
                    Output::Exit(_) => break,
                }
            }
        }
        let (code, err) = done.await;
        if let Some(e) = err {
            return Err(BuildError::Internal(e).into());
        }
        Ok(code)
    }

    /// The container's changes as the step's image, recorded under `cache_key`.
    pub async fn commit(
        &self,
        config: ImageContainerConfig,
        created_by: String,
        author: Option<String>,
        cache_key: String,
        extra: BTreeMap<String, serde_json::Value>,
    ) -> Result<ImageSummary> {
        let images = self.engine.images_handle();
        let key = container_key(&self.id);
        let opts = CommitOptions {
            config,
            author,
            created_by: Some(created_by),
            cache_key: Some(cache_key),
            extra,
            ..CommitOptions::default()
        };
        tokio::task::spawn_blocking(move || images.commit(&key, &opts))
            .await
            .map_err(|e| BuildError::Internal(format!("commit: {e}")))?
            .map_err(Into::into)
    }

    pub async fn remove(mut self, events: Option<&mpsc::Sender<BuildEvent>>) -> Result<()> {
        self.removed = true;
        self.engine.remove_container(&self.id, true).await?;
        if let Some(events) = events {
            let _ = events
                .send(BuildEvent::Removed {
                    container: self.id.clone(),
                })
                .await;
        }
        Ok(())
    }
}

impl Drop for StepContainer {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // A failed or abandoned step: nothing of it stays behind.
        let engine = self.engine.clone();
        let id = self.id.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = engine.remove_container(&id, true).await {
                    tracing::warn!(container = %id, error = %e, "removing a build container");
                }
            });
        }
    }
}
