//! COPY and ADD steps: the sources (the context, another stage's or an image's rootfs with
//! `--from`, URLs for ADD, here-documents) are selected and hashed first, so the cache
//! decides before anything is mounted; a miss writes them into a container of the parent
//! image through the same root-scoped extraction as `docker cp`, and commits it.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use muelle_build::context::ignore::IgnoreMatcher;

use muelle_build::context::select::{self, CopyOptions, DestKind, Origin};
use muelle_build::dispatch::StageState;
use muelle_build::dockerfile::{Instruction, Source};

use super::cache::step_key;
use super::containers::{RunSpec, StepContainer};
use super::driver::Driver;
use super::stages::Stages;
use super::BuildError;
use crate::Result;

/// A dispatched COPY or ADD.
pub(super) struct CopyStep {
    pub add: bool,
    pub sources: Vec<Source>,
    pub from: Option<String>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub checksum: Option<String>,
    pub created_by_prefix: String,
    pub created_by_suffix: String,
}

/// Where the paths of a COPY are read from.
enum Root {
    Dir(PathBuf),
    /// A container of the `--from` stage or image, whose rootfs is mounted to read it.
    Container(StepContainer),
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn build_err(e: impl std::fmt::Display) -> crate::EngineError {
    BuildError::Invalid(e.to_string()).into()
}

impl Driver {
    pub(super) async fn copy(
        &self,
        state: &StageState,
        ins: &Instruction,
        parent: Option<String>,
        step: CopyStep,
        stages: &Stages,
        stage: usize,
    ) -> Result<String> {
        let verb = if step.add { "ADD" } else { "COPY" };
        let mut paths: Vec<String> = Vec::new();
        let mut heredocs = Vec::new();
        for s in &step.sources {
            match s {
                Source::Path(p) => paths.push(p.clone()),
                Source::Heredoc(h) => heredocs.push(h.clone()),
            }
        }
        // ADD of URLs: each fetched into this build's work dir, then copied from there.
        let mut root = match &step.from {
            None => Root::Dir(self.context_root().to_path_buf()),
            Some(from) => self.source_root(from, stages, stage).await?,
        };
        let urls: Vec<String> = paths.iter().filter(|p| is_url(p)).cloned().collect();
        // dockerd hashes a download as its own kind of source, and never unpacks it.
        let mut url_hash: Option<String> = None;
        if !urls.is_empty() {
            if !step.add {
                return Err(build_err(format!(
                    "COPY {}: source can't be a URL for COPY",
                    urls[0]
                )));
            }
            if urls.len() != paths.len() || step.from.is_some() {
                return Err(build_err(
                    "ADD: URLs and local paths in one instruction are not supported; use one ADD for each",
                ));
            }
            let dir = self.work_path(&format!("add-{}", self.next_seq()));
            std::fs::create_dir_all(&dir).map_err(build_err)?;
            let mut names = Vec::new();
            let mut hashes = Vec::new();
            for u in &urls {
                let (u, dir2, sum) = (u.clone(), dir.clone(), step.checksum.clone());
                let fetched = tokio::task::spawn_blocking(move || {
                    let f = muelle_build::context::remote::fetch(&u, sum.as_deref(), &dir2)?;
                    let h = muelle_build::context::remote::content_hash(&f)?;
                    Ok::<_, muelle_build::context::ContextError>((f, h))
                })
                .await
                .map_err(build_err)?
                .map_err(build_err)?;
                names.push(fetched.0.name);
                hashes.push(fetched.1);
            }
            paths = names;
            root = Root::Dir(dir);
            url_hash = Some(hashes.join(""));
        } else if step.checksum.is_some() {
            return Err(build_err(format!(
                "{verb} --checksum can only be used with URL sources"
            )));
        }

        // The content hash decides the cache before anything is written.
        let (hash, mut tar) = self
            .select_and_pack(&root, &paths, &heredocs, &step)
            .await?;
        let hash = match url_hash {
            Some(h) => {
                tar.add = false;
                tar.origin = Origin::Rootfs;
                h
            }
            None => hash,
        };
        let created_by = format!("{}{hash}{}", step.created_by_prefix, step.created_by_suffix);
        let extra = format!("{:?}{:?}", step.chown, step.chmod);
        let key = step_key(
            parent.as_deref(),
            &ins.original,
            &created_by,
            &state.config,
            &extra,
        );
        let hit = self
            .cached(&key, parent.as_deref(), &created_by, state)
            .await?;
        let result = match hit {
            Some(hit) => {
                self.send(super::BuildEvent::Cached).await;
                Ok(hit.id.to_string())
            }
            None => self.write_copy(state, parent, tar, created_by, key).await,
        };
        if let Root::Container(c) = root {
            c.remove(None).await?;
        }
        result
    }

    async fn write_copy(
        &self,
        state: &StageState,
        parent: Option<String>,
        tar: CopyPlan,
        created_by: String,
        key: String,
    ) -> Result<String> {
        let ctr = self.container(parent, &RunSpec::default()).await?;
        let (engine, id) = (self.engine.clone(), ctr.id.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            for mut part in tar.into_parts(&engine, &id)? {
                part.seek(SeekFrom::Start(0)).map_err(build_err)?;
                engine.archive_put(&id, "/", &mut part, false, false)?;
            }
            Ok(())
        })
        .await
        .map_err(build_err)??;
        self.finish(
            ctr,
            state,
            created_by,
            key,
            None,
            super::legacy::Made::Export,
        )
        .await
    }

    /// The rootfs a `--from` names: a stage built before, or an image.
    async fn source_root(&self, from: &str, stages: &Stages, stage: usize) -> Result<Root> {
        let ctr = self.container_of(from, stages, stage).await?;
        Ok(Root::Container(ctr))
    }

    /// Selects the sources and hashes them; what to write is kept as a plan that needs
    /// the destination's facts (is the dest a directory, who `--chown` names).
    async fn select_and_pack(
        &self,
        root: &Root,
        paths: &[String],
        heredocs: &[muelle_build::dockerfile::Heredoc],
        step: &CopyStep,
    ) -> Result<(String, CopyPlan)> {
        let ignore_ctx = matches!(root, Root::Dir(_)) && step.from.is_none();
        let origin = if step.from.is_some() {
            Origin::Rootfs
        } else {
            Origin::Context
        };
        let plan = CopyPlan {
            root: match root {
                Root::Dir(d) => Some(d.clone()),
                Root::Container(_) => None,
            },
            container: match root {
                Root::Container(c) => Some(c.id.clone()),
                Root::Dir(_) => None,
            },
            paths: paths.to_vec(),
            heredocs: heredocs.to_vec(),
            dest: step.dest.clone(),
            chown: step.chown.clone(),
            chmod: step
                .chmod
                .as_deref()
                .map(|m| {
                    u32::from_str_radix(m, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| build_err(format!("invalid --chmod={m}: not an octal mode")))
                })
                .transpose()?,
            add: step.add,
            origin,
            // Only the context's files are subject to its .dockerignore.
            ignore: if ignore_ctx {
                self.ignore.clone()
            } else {
                Arc::new(IgnoreMatcher::empty())
            },
            work: self.work_path(&format!("copy-{}", self.next_seq())),
        };
        let engine = self.engine.clone();
        let plan2 = plan.clone();
        let hash = tokio::task::spawn_blocking(move || plan2.hash(&engine))
            .await
            .map_err(build_err)??;
        Ok((hash, plan))
    }
}

/// What a COPY writes, decided once the destination is known.
#[derive(Clone)]
pub(super) struct CopyPlan {
    root: Option<PathBuf>,
    container: Option<String>,
    paths: Vec<String>,
    heredocs: Vec<muelle_build::dockerfile::Heredoc>,
    dest: String,
    chown: Option<String>,
    chmod: Option<u32>,
    add: bool,
    origin: Origin,
    ignore: Arc<IgnoreMatcher>,
    work: PathBuf,
}

impl CopyPlan {
    /// Runs `f` with the source root (mounting the `--from` container's rootfs).
    fn with_root<T>(
        &self,
        engine: &crate::Engine,
        f: impl FnOnce(&Path) -> Result<T>,
    ) -> Result<T> {
        match (&self.root, &self.container) {
            (Some(dir), _) => f(dir),
            (None, Some(id)) => engine.with_rootfs(id, |root, _| f(root)),
            (None, None) => Err(BuildError::Internal("copy without a source".into()).into()),
        }
    }

    fn hash(&self, engine: &crate::Engine) -> Result<String> {
        let mut parts = Vec::new();
        if !self.paths.is_empty() {
            parts.push(self.with_root(engine, |root| {
                let sel = select::select_from(root, &self.paths, &self.ignore, self.origin)
                    .map_err(build_err)?;
                Ok(sel.content_hash())
            })?);
        }
        for h in &self.heredocs {
            let d = muelle_image::Digest::sha256_of(h.content.as_bytes());
            parts.push(format!("file:{}", d.hex()));
        }
        Ok(match parts.as_slice() {
            [one] => one.clone(),
            _ => format!(
                "multi:{}",
                muelle_image::Digest::sha256_of(parts.join("\n").as_bytes()).hex()
            ),
        })
    }

    /// The tars to extract at the destination container's `/`, in order. Blocking.
    fn into_parts(self, engine: &crate::Engine, dest_ctr: &str) -> Result<Vec<File>> {
        std::fs::create_dir_all(&self.work).map_err(build_err)?;
        engine.with_rootfs(dest_ctr, |droot, _| {
            let probe = |p: &str| -> DestKind {
                let path = format!("/{p}");
                match muelle_image::images::stat_in_root(droot, &format!("{path}/")) {
                    Ok(s) if s.mode & (1 << 31) != 0 => DestKind::Dir,
                    _ => match muelle_image::images::stat_in_root(droot, &path) {
                        Ok(_) => DestKind::Other,
                        Err(_) => DestKind::Missing,
                    },
                }
            };
            let dest = self.dest.trim_end_matches('/').trim_start_matches('/');
            let dest_is_dir = probe(dest) == DestKind::Dir;
            let owner = match &self.chown {
                None => None,
                Some(spec) => {
                    let u = crate::containers::etc::resolve_user(droot, spec)
                        .map_err(|e| build_err(format!("--chown={spec}: {e}")))?;
                    Some((u.uid, u.gid))
                }
            };
            let opts = CopyOptions {
                dest: self.dest.clone(),
                chown: owner,
                chmod: self.chmod,
                add_extract: self.add,
                mtime_now: false,
            };
            let mut files = Vec::new();
            if !self.paths.is_empty() {
                let mut f = tempfile_in(&self.work, files.len())?;
                self.with_root(engine, |root| {
                    let sel = select::select_from(root, &self.paths, &self.ignore, self.origin)
                        .map_err(build_err)?;
                    select::write_copy_tar_probed(&sel, &opts, &probe, &mut f).map_err(build_err)
                })?;
                files.push(f);
            }
            for h in &self.heredocs {
                let mut f = tempfile_in(&self.work, files.len())?;
                let dest_is_dir = dest_is_dir || self.heredocs.len() > 1 || !self.paths.is_empty();
                select::write_heredoc_tar(
                    &h.name,
                    h.content.as_bytes(),
                    &opts,
                    dest_is_dir,
                    &mut f,
                )
                .map_err(build_err)?;
                files.push(f);
            }
            Ok(files)
        })
    }
}

fn tempfile_in(dir: &Path, n: usize) -> Result<File> {
    let path = dir.join(format!("part-{n}.tar"));
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(build_err)
}
