//! One build from its extracted context to its image: the stages the target needs, in
//! order, each from its base through its instructions. Every step is looked up in the build
//! cache by its key first; a miss runs it (a config change alone is a derived image, a RUN
//! runs in a container, COPY/ADD/WORKDIR write into a container's rootfs) and records the
//! result under the key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use muelle_build::dispatch::{self, BuildArgs, StageState, Step};
use muelle_build::dockerfile::{Command, Instruction, Source};
use muelle_image::images::ConfigStep;
use muelle_image::images::NoPullProgress;
use muelle_image::manifest::ContainerConfig as ImageContainerConfig;
use muelle_image::reference::Reference;
use muelle_image::ImageSummary;
use tokio::sync::mpsc;

use super::cache::step_key;
use super::containers::{RunSpec, StepContainer};
use super::legacy;
use super::stages::{Stage, Stages};
use super::{BuildError, BuildEvent, BuildOptions};
use crate::{Engine, Result};

/// The state of one build.
pub(super) struct Driver {
    pub engine: Arc<Engine>,
    pub opts: BuildOptions,
    /// The extracted context.
    pub context: PathBuf,
    /// Private scratch space of this build (fetched URLs, secrets, copy tars).
    pub work: PathBuf,
    pub events: mpsc::Sender<BuildEvent>,
    pub escape: char,
    pub build_args: BuildArgs,
    pub meta_args: BTreeMap<String, Option<String>>,
    /// Each built stage's image (`None`: an empty scratch stage).
    pub stage_images: Mutex<BTreeMap<usize, Option<String>>>,
    pub step: AtomicUsize,
    pub total: usize,
    /// Names for temporary files, unique in the build.
    pub seq: AtomicUsize,
    /// Build args no built stage declared.
    pub unused: Mutex<Option<BTreeSet<String>>>,
    /// The `--cache-from` images' IDs.
    pub cache_from: Vec<String>,
    /// The context's .dockerignore, parsed once.
    pub ignore: Arc<muelle_build::context::ignore::IgnoreMatcher>,
}

impl Driver {
    pub async fn send(&self, e: BuildEvent) {
        let _ = self.events.send(e).await;
    }

    /// Builds the stages `target` needs; returns its image.
    pub async fn build(&mut self, stages: &Stages, target: usize) -> Result<String> {
        let needed = stages.needed(target, &|s: &Stage| self.base_text(s));
        self.total = needed
            .iter()
            .map(|&i| 1 + stages.stages[i].body.len())
            .sum::<usize>()
            + self.opts.labels.len();
        // The ARGs before the first FROM are steps of their own in the legacy stream.
        self.total += stages.meta.len();
        for ins in &stages.meta {
            self.announce(ins).await;
        }
        // Stages whose dependencies are built run together: independent stages in parallel.
        let this = &*self;
        let mut pending = needed;
        while !pending.is_empty() {
            let built: BTreeSet<usize> = this.images().keys().copied().collect();
            let ready: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&i| {
                    stages
                        .deps(i, &|s: &Stage| this.base_text(s))
                        .is_subset(&built)
                })
                .collect();
            if ready.is_empty() {
                return Err(BuildError::Invalid(
                    "the stages depend on each other in a circle".into(),
                )
                .into());
            }
            let wave = ready.iter().map(|&i| async move {
                let image = this.build_stage(stages, i, i == target).await?;
                this.images().insert(i, image);
                Ok::<(), crate::EngineError>(())
            });
            futures_util::future::try_join_all(wave).await?;
            for i in ready {
                pending.remove(&i);
            }
        }
        let mut unused = self.unused_args().take().unwrap_or_default();
        // An ARG before the first FROM consumes a build arg too.
        unused.retain(|a| !self.meta_args.contains_key(a));
        if !unused.is_empty() {
            let list: Vec<String> = unused.into_iter().collect();
            self.send(BuildEvent::Warning(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                list.join(" ")
            )))
            .await;
        }
        let image = self.stage_image(target);
        match image {
            Some(id) => Ok(id),
            // FROM scratch and nothing else: an image with no layers and no history.
            None => self.scratch_base().await,
        }
    }

    fn base_text(&self, s: &Stage) -> String {
        match &s.from.command {
            Command::From { image, .. } => {
                dispatch::resolve_from(image, &self.meta_args, self.escape)
                    .unwrap_or_else(|_| image.clone())
            }
            _ => String::new(),
        }
    }

    /// The images of the stages built so far.
    pub fn images(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Option<String>>> {
        self.stage_images
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The image stage `i` made (`None`: not built, or an empty scratch stage).
    pub fn stage_image(&self, i: usize) -> Option<String> {
        self.images().get(&i).cloned().flatten()
    }

    fn unused_args(&self) -> std::sync::MutexGuard<'_, Option<BTreeSet<String>>> {
        self.unused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A number unique in this build, for temporary names.
    pub fn next_seq(&self) -> usize {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    async fn announce(&self, ins: &Instruction) {
        let index = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        let e = BuildEvent::Step {
            index,
            total: self.total,
            text: ins.original.clone(),
        };
        self.send(e).await;
    }

    async fn build_stage(
        &self,
        stages: &Stages,
        i: usize,
        is_target: bool,
    ) -> Result<Option<String>> {
        let stage = &stages.stages[i];
        let Command::From {
            image, platform, ..
        } = &stage.from.command
        else {
            return Err(BuildError::Internal("a stage without FROM".into()).into());
        };
        self.announce(&stage.from).await;
        let from = dispatch::resolve_from(image, &self.meta_args, self.escape)
            .map_err(|e| BuildError::Invalid(e.to_string()))?;
        let parent: Option<String> = if from.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(dep) = stages.find(&from, i) {
            self.stage_image(dep)
        } else {
            Some(
                self.base_image(&from, platform.as_deref())
                    .await?
                    .id
                    .to_string(),
            )
        };
        let base_config = match &parent {
            Some(id) => {
                let id = id.clone();
                self.send(BuildEvent::StepDone { image: id.clone() }).await;
                self.engine.images_handle().image(&id)?.config.config
            }
            None => None,
        };
        let mut state = StageState::new(
            base_config.as_ref(),
            &self.meta_args,
            &self.build_args,
            self.escape,
        );
        let triggers = match &base_config {
            Some(c) => dispatch::onbuild_triggers(c, self.escape)
                .map_err(|e| BuildError::Invalid(e.to_string()))?,
            None => Vec::new(),
        };
        // The triggers run once, in the child; they are not inherited further.
        state.config.on_build = None;
        if !triggers.is_empty() {
            self.send(BuildEvent::Output(
                format!("# Executing {} build trigger", triggers.len()).into_bytes(),
            ))
            .await;
            self.send(BuildEvent::Output(
                if triggers.len() == 1 { "\n" } else { "s\n" }
                    .as_bytes()
                    .to_vec(),
            ))
            .await;
        }
        let mut parent = parent;
        for ins in &triggers {
            parent = self
                .run_step(&mut state, ins, parent, stages, i, false)
                .await?;
        }
        for ins in &stage.body {
            parent = self
                .run_step(&mut state, ins, parent, stages, i, true)
                .await?;
        }
        // `--label k=v`: one LABEL step each, in key order, at the end of the target, as
        // the legacy builder appends them.
        if is_target {
            for (k, v) in &self.opts.labels {
                let ins = Instruction {
                    pos: Default::default(),
                    keyword: "LABEL".into(),
                    original: format!("LABEL {k}={v}"),
                    command: Command::Label(vec![(k.clone(), v.clone())]),
                };
                self.announce(&ins).await;
                let step = state.label_option(k, v);
                parent = self
                    .execute(&mut state, &ins, step, parent, stages, i)
                    .await?;
            }
        }
        let unused: BTreeSet<String> = state.unused().into_iter().collect();
        {
            let mut all = self.unused_args();
            *all = Some(match all.take() {
                None => unused,
                Some(before) => before.intersection(&unused).cloned().collect(),
            });
        }
        Ok(parent)
    }

    /// The image a FROM or `--from` names: local, or pulled when missing (or always with
    /// `--pull`).
    pub async fn base_image(&self, name: &str, platform: Option<&str>) -> Result<ImageSummary> {
        let images = self.engine.images_handle();
        if !self.opts.pull {
            if let Ok(found) = images.image(name) {
                return Ok(found);
            }
        }
        let reference = Reference::parse(name)
            .map_err(|e| BuildError::Invalid(format!("invalid reference format: {name}: {e}")))?;
        let platform = match platform.or(self.opts.platform.as_deref()) {
            Some(p) if !p.is_empty() => Some(
                muelle_image::manifest::Platform::parse(p)
                    .map_err(|e| BuildError::Invalid(e.to_string()))?,
            ),
            _ => None,
        };
        match self
            .engine
            .pull(&reference, platform, None, &NoPullProgress)
            .await
        {
            Ok(s) => Ok(s),
            // `--pull` with no registry to reach: the local image still builds.
            Err(e) => match images.image(name) {
                Ok(found) if self.opts.pull => Ok(found),
                _ => Err(e),
            },
        }
    }

    /// The image a cache key names, or a `--cache-from` image's matching step, unless
    /// `--no-cache`.
    pub async fn cached(
        &self,
        key: &str,
        parent: Option<&str>,
        created_by: &str,
        state: &StageState,
    ) -> Result<Option<ImageSummary>> {
        if self.opts.no_cache {
            return Ok(None);
        }
        let images = self.engine.images_handle();
        if let Some(hit) = images.build_cache_get(key)? {
            return Ok(Some(hit));
        }
        if self.cache_from.is_empty() {
            return Ok(None);
        }
        let config = legacy::with_parent(&state.config, parent);
        let extra = legacy::fields(
            &config,
            created_by,
            &state.shell,
            None,
            legacy::Made::Nop(legacy::nop_container_id(key)),
        );
        let step = ConfigStep {
            config,
            created_by: created_by.to_string(),
            author: state.author.clone(),
            extra,
        };
        let (sources, parent, key) = (
            self.cache_from.clone(),
            parent.map(str::to_string),
            key.to_string(),
        );
        let found = tokio::task::spawn_blocking(move || {
            for source in &sources {
                if let Some(hit) = images.restore_cached(parent.as_deref(), source, &step, &key)? {
                    return Ok(Some(hit));
                }
            }
            Ok::<_, muelle_image::ImageError>(None)
        })
        .await
        .map_err(|e| BuildError::Internal(format!("cache: {e}")))??;
        Ok(found)
    }

    /// `--cache-from`: the images named, local or pulled; one that can't be had is a
    /// warning, as with dockerd.
    pub async fn resolve_cache_from(&mut self) {
        for name in self.opts.cache_from.clone() {
            match self.base_image(&name, None).await {
                Ok(img) => self.cache_from.push(img.id.to_string()),
                Err(e) => {
                    self.send(BuildEvent::Warning(format!(
                        "[Warning] --cache-from {name}: {e}\n"
                    )))
                    .await
                }
            }
        }
    }

    /// An empty image (no layers, no history) for the container of a step on scratch.
    pub async fn scratch_base(&self) -> Result<String> {
        let images = self.engine.images_handle();
        let key = step_key(
            None,
            "",
            "",
            &ImageContainerConfig::default(),
            "scratch-base",
        );
        if let Some(hit) = images.build_cache_get(&key)? {
            return Ok(hit.id.to_string());
        }
        let summary = tokio::task::spawn_blocking(move || {
            images.derive_image(None, &ConfigStep::default(), Some(&key))
        })
        .await
        .map_err(|e| BuildError::Internal(format!("scratch base: {e}")))??;
        Ok(summary.id.to_string())
    }

    async fn step_done(&self, id: &str) {
        self.send(BuildEvent::StepDone {
            image: id.to_string(),
        })
        .await;
    }

    /// One instruction: announced, dispatched, looked up in the cache, run on a miss.
    async fn run_step(
        &self,
        state: &mut StageState,
        ins: &Instruction,
        parent: Option<String>,
        stages: &Stages,
        stage: usize,
        counted: bool,
    ) -> Result<Option<String>> {
        if counted {
            self.announce(ins).await;
        } else {
            self.send(BuildEvent::Output(
                format!("Step onbuild : {}\n", ins.original).into_bytes(),
            ))
            .await;
        }
        let step = state
            .dispatch(ins)
            .map_err(|e| BuildError::Invalid(e.dockerd_message()))?;
        self.execute(state, ins, step, parent, stages, stage).await
    }

    /// A dispatched step: looked up in the cache, run on a miss.
    async fn execute(
        &self,
        state: &mut StageState,
        ins: &Instruction,
        step: Step,
        parent: Option<String>,
        stages: &Stages,
        stage: usize,
    ) -> Result<Option<String>> {
        let p = parent.as_deref();
        let id = match step {
            Step::Meta { created_by } | Step::Onbuild { created_by } => {
                let key = step_key(p, &ins.original, &created_by, &state.config, "");
                if let Some(hit) = self.cached(&key, p, &created_by, state).await? {
                    self.send(BuildEvent::Cached).await;
                    hit.id.to_string()
                } else {
                    let images = self.engine.images_handle();
                    let config = legacy::with_parent(&state.config, p);
                    let extra = legacy::fields(
                        &config,
                        &created_by,
                        &state.shell,
                        None,
                        legacy::Made::Nop(legacy::nop_container_id(&key)),
                    );
                    let step = ConfigStep {
                        config,
                        created_by,
                        author: state.author.clone(),
                        extra,
                    };
                    let parent = parent.clone();
                    tokio::task::spawn_blocking(move || {
                        images.derive_image(parent.as_deref(), &step, Some(&key))
                    })
                    .await
                    .map_err(|e| BuildError::Internal(format!("step: {e}")))??
                    .id
                    .to_string()
                }
            }
            Step::Workdir { path, created_by } => {
                let key = step_key(p, &ins.original, &created_by, &state.config, "");
                match self.cached(&key, p, &created_by, state).await? {
                    Some(hit) => {
                        self.send(BuildEvent::Cached).await;
                        hit.id.to_string()
                    }
                    None => {
                        self.workdir(state, parent.clone(), &path, created_by, key)
                            .await?
                    }
                }
            }
            Step::Run {
                argv,
                env,
                user,
                workdir,
                mounts,
                network,
                heredocs,
                created_by,
            } => {
                let argv = super::run::with_heredocs(argv, &heredocs);
                let extra = format!("{argv:?}{env:?}{network:?}");
                let key = step_key(p, &ins.original, &created_by, &state.config, &extra);
                match self.cached(&key, p, &created_by, state).await? {
                    Some(hit) => {
                        self.send(BuildEvent::Cached).await;
                        hit.id.to_string()
                    }
                    None => {
                        let (spec, held) = self
                            .run_spec(argv, env, user, workdir, &mounts, network, stages, stage)
                            .await?;
                        let id = self.run(state, parent.clone(), spec, created_by, key).await;
                        drop(held);
                        id?
                    }
                }
            }
            Step::Copy {
                add,
                sources,
                from,
                dest,
                chown,
                chmod,
                link: _,
                checksum,
                created_by_prefix,
                created_by_suffix,
            } => {
                // An unquoted heredoc's body is expanded with the stage's variables.
                let sources = sources
                    .into_iter()
                    .map(|s| match s {
                        Source::Heredoc(mut h) if h.expand => {
                            h.content =
                                muelle_build::dockerfile::expand_heredoc(&h.content, &|n| {
                                    state.lookup(n)
                                })
                                .map_err(|e| BuildError::Invalid(e.to_string()))?;
                            Ok(Source::Heredoc(h))
                        }
                        other => Ok(other),
                    })
                    .collect::<std::result::Result<Vec<_>, BuildError>>()?;
                let copy = super::copy::CopyStep {
                    add,
                    sources,
                    from,
                    dest,
                    chown,
                    chmod,
                    checksum,
                    created_by_prefix,
                    created_by_suffix,
                };
                self.copy(state, ins, parent.clone(), copy, stages, stage)
                    .await?
            }
        };
        self.step_done(&id).await;
        Ok(Some(id))
    }

    /// A container of `parent` (or of the empty base on scratch).
    pub async fn container(&self, parent: Option<String>, spec: &RunSpec) -> Result<StepContainer> {
        let base = match &parent {
            Some(p) => p.clone(),
            None => self.scratch_base().await?,
        };
        let mut ctr = StepContainer::create(&self.engine, &base, spec).await?;
        ctr.parent = parent;
        Ok(ctr)
    }

    /// A container (never started) of what a `--from`/`from=` names: a stage built
    /// before (an empty scratch stage: the empty base), or an image.
    pub async fn container_of(
        &self,
        from: &str,
        stages: &Stages,
        stage: usize,
    ) -> Result<StepContainer> {
        let image = match stages.find(from, stage) {
            Some(dep) => match self.stage_image(dep) {
                Some(id) => id,
                None => self.scratch_base().await?,
            },
            None => self.base_image(from, None).await?.id.to_string(),
        };
        StepContainer::create(&self.engine, &image, &RunSpec::default()).await
    }

    /// The container's changes committed as the step's image; the container goes.
    pub async fn finish(
        &self,
        ctr: StepContainer,
        state: &StageState,
        created_by: String,
        key: String,
        run: Option<&[String]>,
        made: legacy::Made,
    ) -> Result<String> {
        let config = legacy::with_parent(&state.config, ctr.parent.as_deref());
        let extra = legacy::fields(&config, &created_by, &state.shell, run, made);
        let summary = ctr
            .commit(config, created_by, state.author.clone(), key, extra)
            .await?;
        if self.opts.remove || self.opts.force_remove {
            ctr.remove(Some(&self.events)).await?;
        } else {
            ctr.remove(None).await?;
        }
        Ok(summary.id.to_string())
    }

    /// Somewhere private for this build's temporary files.
    pub fn work_path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    pub fn context_root(&self) -> &Path {
        &self.context
    }
}
