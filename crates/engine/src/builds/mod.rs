//! `docker build`: a Dockerfile and its context become an image. The parsing, the context
//! and each instruction's effect on the config are `muelle_build`'s; this module runs the
//! steps as the legacy docker builder does (a container per RUN through the same runtime,
//! snapshots and commits for every step), keeps the build cache and reports progress as
//! typed events the API renders.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

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
    /// Builds the context's Dockerfile; returns the image ID (`sha256:…`).
    pub async fn build(
        self: &Arc<Self>,
        opts: BuildOptions,
        context: Box<dyn std::io::Read + Send>,
        events: tokio::sync::mpsc::Sender<BuildEvent>,
    ) -> Result<String> {
        let _ = (opts, context, events);
        Err(BuildError::Internal("the builder is being written".into()).into())
    }

    /// `docker builder prune`: removes build cache (all of it with `all`); returns the
    /// removed entries' IDs and the bytes reclaimed.
    pub async fn prune_build_cache(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let _ = all;
        Ok((Vec::new(), 0))
    }
}

impl From<BuildError> for crate::EngineError {
    fn from(e: BuildError) -> Self {
        crate::EngineError::Build(e)
    }
}
