//! `docker build`: a Dockerfile and its context become an image. The parsing, the context
//! and each instruction's effect on the config are `muelle_build`'s; this module runs the
//! steps as the legacy docker builder does (a container per RUN through the same runtime,
//! snapshots and commits for every step), keeps the build cache and reports progress as
//! typed events the API renders.

mod cache;
mod containers;
mod copy;
mod driver;
mod legacy;
mod run;
mod stages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use muelle_image::reference::Reference;
use thiserror::Error;

use driver::Driver;
use stages::Stages;

use crate::{Engine, Result};

/// What `POST /build` asks for, parsed.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile's path in the context (`Dockerfile` when empty).
    pub dockerfile: String,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, Option<String>>,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub pull: bool,
    pub cache_from: Vec<String>,
    /// `rm` (default true): intermediate containers go after a successful step.
    pub remove: bool,
    /// `forcerm`: they go after a failed one too.
    pub force_remove: bool,
    pub network_mode: Option<String>,
    pub platform: Option<String>,
    pub quiet: bool,
    pub extra_hosts: Vec<String>,
    /// `--secret id=…`: id → contents.
    pub secrets: BTreeMap<String, Vec<u8>>,
}

/// Progress of a build, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A step begins: `text` is the instruction as written (`FROM busybox`).
    Step {
        index: usize,
        total: usize,
        text: String,
    },
    /// The step's result came from the cache.
    Cached,
    /// A container runs the step.
    Running {
        container: String,
    },
    /// What the step's process wrote (stdout and stderr).
    Output(Vec<u8>),
    /// The step's image.
    StepDone {
        image: String,
    },
    /// An intermediate container went.
    Removed {
        container: String,
    },
    Warning(String),
    Built {
        id: String,
    },
    Tagged {
        name: String,
    },
}

/// Why a build failed.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The Dockerfile, an argument or the context is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A RUN step's process exited non-zero (dockerd's wording).
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed { command: String, code: i64 },
    #[error("{0}")]
    Internal(String),
}

impl BuildError {
    pub fn kind(&self) -> muelle_types::ErrorKind {
        match self {
            BuildError::Invalid(_) => muelle_types::ErrorKind::InvalidParameter,
            BuildError::RunFailed { .. } | BuildError::Internal(_) => {
                muelle_types::ErrorKind::System
            }
        }
    }
}

impl Engine {
    /// Builds the context's Dockerfile; returns the image ID (`sha256:…`). The context is
    /// extracted into a private directory of the data root, which goes when the build ends.
    pub async fn build(
        self: &Arc<Self>,
        opts: BuildOptions,
        context: Box<dyn std::io::Read + Send>,
        events: tokio::sync::mpsc::Sender<BuildEvent>,
    ) -> Result<String> {
        // Names are checked before any work, as dockerd does.
        let mut tags = Vec::new();
        for t in &opts.tags {
            tags.push(
                Reference::parse(t).map_err(|e| {
                    BuildError::Invalid(format!("invalid reference format: {t}: {e}"))
                })?,
            );
        }
        let work = Workspace::new(self.data_root())?;
        let ctx = work.path.join("context");
        let ctx2 = ctx.clone();
        let mut context = context;
        tokio::task::spawn_blocking(move || {
            crate::fsutil::create_private_dir(&ctx2)
                .map_err(|e| BuildError::Internal(format!("{}: {e}", ctx2.display())))?;
            muelle_build::context::receive::extract_context(&mut context, &ctx2)
                .map_err(|e| BuildError::Invalid(format!("the build context: {e}")))
        })
        .await
        .map_err(|e| BuildError::Internal(format!("build context: {e}")))??;

        let name = if opts.dockerfile.is_empty() {
            "Dockerfile"
        } else {
            opts.dockerfile.as_str()
        };
        let text = read_dockerfile(&ctx, name)?;
        let dockerfile = muelle_build::dockerfile::parse(name, &text)
            .map_err(|e| BuildError::Invalid(e.docker_message()))?;
        muelle_build::dispatch::precheck(&dockerfile.instructions)
            .map_err(|e| BuildError::Invalid(e.dockerd_message()))?;
        let stages = Stages::split(&dockerfile.instructions)?;
        let target = stages.target(opts.target.as_deref())?;
        let build_args = muelle_build::dispatch::BuildArgs {
            values: opts.build_args.clone(),
        };
        let meta_args =
            muelle_build::dispatch::meta_args(&stages.meta, &build_args, dockerfile.escape)
                .map_err(|e| BuildError::Invalid(e.to_string()))?;
        let ignore_text = std::fs::read_to_string(ctx.join(".dockerignore")).unwrap_or_default();
        // A bad .dockerignore fails the build before any step.
        let ignore = muelle_build::context::ignore::IgnoreMatcher::parse(&ignore_text)
            .map_err(|e| BuildError::Invalid(format!(".dockerignore: {e}")))?;
        let mut driver = Driver {
            engine: self.clone(),
            opts,
            context: ctx,
            work: work.path.clone(),
            events: events.clone(),
            escape: dockerfile.escape,
            build_args,
            meta_args,
            stage_images: Default::default(),
            step: Default::default(),
            total: 0,
            seq: Default::default(),
            unused: Default::default(),
            cache_from: Vec::new(),
            ignore: Arc::new(ignore),
        };
        driver.resolve_cache_from().await;
        let id = driver.build(&stages, target).await?;
        let digest: muelle_image::Digest = id
            .parse()
            .map_err(|e| BuildError::Internal(format!("image id {id}: {e}")))?;
        let images = self.images_handle();
        if tags.is_empty() {
            images.keep_untagged(&digest)?;
        }
        let _ = events.send(BuildEvent::Built { id: id.clone() }).await;
        for t in &tags {
            self.tag(&id, t)?;
            let _ = events.send(BuildEvent::Tagged { name: t.familiar() }).await;
        }
        Ok(id)
    }

    /// `docker builder prune`: removes the build cache (entries an image still names keep
    /// their content); returns the removed entries' keys and the bytes reclaimed.
    pub async fn prune_build_cache(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let _ = all;
        let images = self.images_handle();
        let removed = tokio::task::spawn_blocking(move || images.build_cache_clear())
            .await
            .map_err(|e| BuildError::Internal(format!("prune: {e}")))??;
        let dir = self.data_root().join("builder").join("cache-mounts");
        let mut bytes = crate::fsutil::dir_size(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        bytes += self.collect_garbage()?;
        Ok((removed, bytes))
    }
}

/// One build-cache entry as `docker system df -v` lists it.
#[derive(Debug, Clone)]
pub struct CacheUsage {
    /// The step's cache key.
    pub id: String,
    /// The step's history entry.
    pub description: String,
    /// What the step added (its layer), bytes.
    pub size: u64,
    /// RFC 3339.
    pub created: Option<String>,
    /// Whether an image (not only the cache) holds the step's image.
    pub shared: bool,
}

impl Engine {
    /// The build cache's entries.
    pub fn build_cache_usage(&self) -> Result<Vec<CacheUsage>> {
        let images = self.images_handle();
        let named: std::collections::BTreeSet<String> = images
            .list()?
            .into_iter()
            .map(|i| i.id.to_string())
            .collect();
        Ok(images
            .build_cache_entries()?
            .into_iter()
            .map(|e| CacheUsage {
                shared: named.contains(&e.image.id.to_string()),
                id: e.key,
                description: e.created_by,
                size: e.own_size,
                created: e.created,
            })
            .collect())
    }
}

/// A build's private directory under `<data-root>/builder`, removed when the build ends.
struct Workspace {
    path: PathBuf,
}

impl Workspace {
    fn new(data_root: &Path) -> Result<Self> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = data_root.join("builder");
        let err =
            |p: &Path, e: std::io::Error| BuildError::Internal(format!("{}: {e}", p.display()));
        crate::fsutil::create_private_dir(&base).map_err(|e| err(&base, e))?;
        let path = base.join(format!(
            "build-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        crate::fsutil::create_private_dir(&path).map_err(|e| err(&path, e))?;
        Ok(Workspace { path })
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "removing a build's files");
        }
    }
}

/// Removes the workspaces of builds a crashed daemon left (contexts, downloads, secrets).
pub(crate) fn remove_stale_workspaces(data_root: &Path) {
    let Ok(entries) = std::fs::read_dir(data_root.join("builder")) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("build-") {
            if let Err(err) = std::fs::remove_dir_all(e.path()) {
                tracing::warn!(path = %e.path().display(), error = %err, "removing a stale build workspace");
            }
        }
    }
}

/// The Dockerfile at `name` in the context, which must stay inside it.
fn read_dockerfile(ctx: &Path, name: &str) -> Result<String> {
    let missing = || BuildError::Invalid(format!("Cannot locate specified Dockerfile: {name}"));
    let root = std::fs::canonicalize(ctx).map_err(|_| missing())?;
    let mut path = root.join(name.trim_start_matches('/'));
    if !path.exists() && name == "Dockerfile" {
        path = root.join("dockerfile");
    }
    let real = std::fs::canonicalize(&path).map_err(|_| missing())?;
    if !real.starts_with(&root) {
        return Err(BuildError::Invalid(format!(
            "The Dockerfile ({name}) must be within the build context"
        ))
        .into());
    }
    let bytes = std::fs::read(&real).map_err(|_| missing())?;
    String::from_utf8(bytes).map_err(|_| {
        BuildError::Invalid(format!("the Dockerfile ({name}) is not UTF-8 text")).into()
    })
}

impl From<BuildError> for crate::EngineError {
    fn from(e: BuildError) -> Self {
        crate::EngineError::Build(e)
    }
}

/// The API runs a build on its own task: the future must be `Send`.
#[allow(dead_code)]
fn build_is_send(e: Arc<Engine>, events: tokio::sync::mpsc::Sender<BuildEvent>) {
    fn send<T: Send>(_: T) {}
    send(async move {
        let _ = e
            .build(BuildOptions::default(), Box::new(std::io::empty()), events)
            .await;
    });
}
