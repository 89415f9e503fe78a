//! RUN and WORKDIR steps: a container of the parent image runs the command (with the
//! stage's env, user and workdir, BuildKit's `--mount`s and `--network`), its output
//! streamed as the build's; a non-zero exit fails the build with dockerd's wording.

use std::path::PathBuf;

use muelle_build::dispatch::{RunMount, StageState};
use muelle_build::dockerfile::Heredoc;

use super::containers::{RunSpec, StepContainer};
use super::driver::Driver;
use super::stages::Stages;
use super::BuildError;
use crate::Result;

/// The shell form's command with its here-documents appended, so the shell reads them as
/// it reads any here-document (`RUN <<EOF`, `RUN python3 <<EOF`).
pub(super) fn with_heredocs(mut argv: Vec<String>, heredocs: &[Heredoc]) -> Vec<String> {
    if heredocs.is_empty() {
        return argv;
    }
    // `RUN <<EOF` alone: the body is the script the shell runs (BuildKit's rule).
    if let ([h], Some(last)) = (heredocs, argv.last_mut()) {
        let words: Vec<&str> = last.split_whitespace().collect();
        if let [only] = words.as_slice() {
            let delim = only.trim_start_matches("<<").trim_start_matches('-');
            let unquoted = delim.trim_matches(|c| c == '"' || c == '\'');
            if only.starts_with("<<") && unquoted == h.name {
                *last = h.content.clone();
                return argv;
            }
        }
    }
    if let Some(last) = argv.last_mut() {
        for h in heredocs {
            last.push('\n');
            last.push_str(&h.content);
            if !h.content.ends_with('\n') {
                last.push('\n');
            }
            last.push_str(&h.name);
        }
        last.push('\n');
    }
    argv
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_spec(
        &self,
        argv: Vec<String>,
        env: Vec<String>,
        user: Option<String>,
        workdir: Option<String>,
        mounts: &[RunMount],
        network: Option<String>,
        stages: &Stages,
        stage: usize,
    ) -> Result<(RunSpec, Vec<HeldRootfs>)> {
        let mut held = Vec::new();
        let network_mode = match network.as_deref() {
            Some("default") | None => self.opts.network_mode.clone().unwrap_or_default(),
            Some("none") => "none".into(),
            Some("host") => "host".into(),
            Some(other) => {
                return Err(BuildError::Invalid(format!(
                    "RUN --network={other}: not one of default, none, host"
                ))
                .into())
            }
        };
        let network_mode = if network_mode == "default" {
            String::new()
        } else {
            network_mode
        };
        let mut spec = RunSpec {
            argv,
            env,
            user: user.unwrap_or_default(),
            workdir: workdir.unwrap_or_default(),
            network_mode,
            extra_hosts: self.opts.extra_hosts.clone(),
            ..RunSpec::default()
        };
        for (n, m) in mounts.iter().enumerate() {
            match m {
                RunMount::Cache {
                    target,
                    id,
                    mode,
                    uid,
                    gid,
                    readonly,
                    ..
                } => {
                    let name = id.clone().unwrap_or_else(|| target.clone());
                    let dir = self.cache_mount_dir(&name)?;
                    prepare_cache_dir(&dir, *mode, *uid, *gid)?;
                    let ro = if *readonly { ":ro" } else { "" };
                    spec.binds.push(format!("{}:{target}{ro}", dir.display()));
                }
                RunMount::Bind {
                    target,
                    from,
                    source,
                    readonly,
                } => {
                    let src = match from {
                        None => self.context_path(source)?,
                        Some(from) => {
                            let h = self.hold_rootfs(from, stages, stage).await?;
                            let src = inside(&h.path, source)?;
                            held.push(h);
                            src
                        }
                    };
                    let ro = if *readonly { ":ro" } else { "" };
                    spec.binds.push(format!("{}:{target}{ro}", src.display()));
                }
                RunMount::Secret {
                    id,
                    target,
                    required,
                    mode,
                    uid,
                    gid,
                } => {
                    let Some(bytes) = self.opts.secrets.get(id) else {
                        if *required {
                            return Err(BuildError::Invalid(format!(
                                "secret {id}: not provided (pass it with --secret id={id},src=…)"
                            ))
                            .into());
                        }
                        continue;
                    };
                    let file = self.work_path(&format!("secret-{n}-{}", self.next_seq()));
                    write_secret(&file, bytes, *mode, *uid, *gid)?;
                    spec.binds.push(format!("{}:{target}:ro", file.display()));
                }
                RunMount::Tmpfs { target, size } => {
                    let opts = size.map(|s| format!("size={s}")).unwrap_or_default();
                    spec.tmpfs.insert(target.clone(), opts);
                }
            }
        }
        Ok((spec, held))
    }

    /// The rootfs of a stage or image mounted until the returned value is dropped.
    async fn hold_rootfs(&self, from: &str, stages: &Stages, stage: usize) -> Result<HeldRootfs> {
        let ctr = self.container_of(from, stages, stage).await?;
        let (path_tx, path_rx) = tokio::sync::oneshot::channel::<PathBuf>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (engine, id) = (self.engine.clone(), ctr.id.clone());
        // The mount lives as long as this blocking task waits.
        tokio::task::spawn_blocking(move || {
            let r = engine.with_rootfs(&id, |root, _| {
                let _ = path_tx.send(root.to_path_buf());
                let _ = done_rx.recv();
                Ok(())
            });
            if let Err(e) = r {
                tracing::warn!(container = %id, error = %e, "mounting a build mount's rootfs");
            }
        });
        let path = path_rx.await.map_err(|_| {
            BuildError::Internal(format!(
                "RUN --mount from={from}: its rootfs could not be mounted"
            ))
        })?;
        Ok(HeldRootfs {
            path,
            done: Some(done_tx),
            _ctr: ctr,
        })
    }

    /// Where a `type=cache` mount's data lives between builds.
    fn cache_mount_dir(&self, id: &str) -> Result<PathBuf> {
        let hex = muelle_image::Digest::sha256_of(id.as_bytes())
            .hex()
            .to_string();
        let dir = self
            .engine
            .data_root()
            .join("builder")
            .join("cache-mounts")
            .join(hex);
        std::fs::create_dir_all(&dir).map_err(|e| {
            BuildError::Internal(format!("cache mount {id}: {}: {e}", dir.display()))
        })?;
        Ok(dir)
    }

    /// A path of the context, which must stay inside it (symlinks included).
    fn context_path(&self, source: &str) -> Result<PathBuf> {
        inside(self.context_root(), source)
    }

    /// A RUN whose result is not cached.
    pub(super) async fn run(
        &self,
        state: &StageState,
        parent: Option<String>,
        spec: RunSpec,
        created_by: String,
        key: String,
    ) -> Result<String> {
        let command = spec.argv.join(" ");
        let argv = spec.argv.clone();
        let targets: Vec<String> = spec
            .binds
            .iter()
            .filter_map(|b| b.split(':').nth(1).map(str::to_string))
            .chain(spec.tmpfs.keys().cloned())
            .collect();
        let ctr = self.container(parent, &spec).await?;
        // The mount points the runtime will make are not the step's content: what is
        // missing now goes again after the run (BuildKit leaves no trace of its mounts).
        let made = if targets.is_empty() {
            Vec::new()
        } else {
            let (engine, id) = (self.engine.clone(), ctr.id.clone());
            tokio::task::spawn_blocking(move || {
                engine.with_rootfs(&id, |root, _| {
                    let mut made = Vec::new();
                    for t in &targets {
                        for m in missing_dirs(root, t) {
                            if !made.contains(&m) {
                                made.push(m);
                            }
                        }
                    }
                    Ok(made)
                })
            })
            .await
            .map_err(|e| BuildError::Internal(format!("run: {e}")))??
        };
        self.send(super::BuildEvent::Running {
            container: ctr.id.clone(),
        })
        .await;
        let code = ctr.run(&self.events).await?;
        if code != 0 {
            // Dropping the container removes it: nothing of a failed step stays.
            return Err(BuildError::RunFailed { command, code }.into());
        }
        if !made.is_empty() {
            let (engine, id) = (self.engine.clone(), ctr.id.clone());
            tokio::task::spawn_blocking(move || {
                engine.with_rootfs(&id, |root, _| {
                    remove_mount_points(root, &made);
                    Ok(())
                })
            })
            .await
            .map_err(|e| BuildError::Internal(format!("run: {e}")))??;
        }
        let made = super::legacy::Made::InContainer(ctr.id.clone());
        self.finish(ctr, state, created_by, key, Some(&argv), made)
            .await
    }

    /// WORKDIR: the directory is made (root's, 0755) when missing, as Docker does.
    pub(super) async fn workdir(
        &self,
        state: &StageState,
        parent: Option<String>,
        path: &str,
        created_by: String,
        key: String,
    ) -> Result<String> {
        let ctr = self.container(parent, &RunSpec::default()).await?;
        let engine = self.engine.clone();
        let id = ctr.id.clone();
        let path = path.to_string();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let missing = engine.with_rootfs(&id, |root, _| Ok(missing_dirs(root, &path)))?;
            if missing.is_empty() {
                return Ok(());
            }
            let tar = dirs_tar(&missing)?;
            engine.archive_put(&id, "/", &mut tar.as_slice(), false, false)
        })
        .await
        .map_err(|e| BuildError::Internal(format!("workdir: {e}")))??;
        let made = super::legacy::Made::InContainer(ctr.id.clone());
        self.finish(ctr, state, created_by, key, None, made).await
    }
}

/// A rootfs mounted for a RUN's `--mount=type=bind,from=…`; unmounted (and its container
/// removed) when dropped.
pub(super) struct HeldRootfs {
    pub path: PathBuf,
    done: Option<std::sync::mpsc::Sender<()>>,
    _ctr: StepContainer,
}

impl Drop for HeldRootfs {
    fn drop(&mut self) {
        // The holding task returns, which unmounts; the container's removal waits for it.
        self.done.take();
    }
}

/// `source` under `root`, which it must not leave: symlinks are resolved on the host and
/// the result must still be under `root` (a link pointing out, absolute or not, is refused).
fn inside(root: &std::path::Path, source: &str) -> Result<PathBuf> {
    let root = std::fs::canonicalize(root)
        .map_err(|e| BuildError::Internal(format!("{}: {e}", root.display())))?;
    let joined = root.join(source.trim_start_matches('/'));
    let real = std::fs::canonicalize(&joined)
        .map_err(|e| BuildError::Invalid(format!("RUN --mount source {source}: {e}")))?;
    if !real.starts_with(&root) {
        return Err(BuildError::Invalid(format!(
            "RUN --mount source {source}: it leads outside its root"
        ))
        .into());
    }
    Ok(real)
}

/// The components of `path` that do not exist in `root`, outermost first, as paths
/// relative to `/`.
fn missing_dirs(root: &std::path::Path, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(comp);
        if !out.is_empty() || muelle_image::images::stat_in_root(root, &format!("/{at}/")).is_err()
        {
            out.push(at.clone());
        }
    }
    out
}

/// Removes the mount points a RUN's mounts made (`made`, outermost first, relative to
/// `/`), innermost first, each only while it is an empty file or an empty directory: what
/// the step itself wrote there stays. The container has stopped; a path whose resolution
/// leaves `root` (the step may have put a symlink on the way) is left alone.
fn remove_mount_points(root: &std::path::Path, made: &[String]) {
    let Ok(root) = std::fs::canonicalize(root) else {
        return;
    };
    for rel in made.iter().rev() {
        let path = root.join(rel);
        let Some(parent) = path.parent() else {
            continue;
        };
        match std::fs::canonicalize(parent) {
            Ok(p) if p.starts_with(&root) => {}
            _ => continue,
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let _ = if meta.is_dir() {
            std::fs::remove_dir(&path)
        } else if meta.is_file() && meta.len() == 0 {
            std::fs::remove_file(&path)
        } else {
            Ok(())
        };
    }
}

/// A tar of directories (root's, 0755).
fn dirs_tar(dirs: &[String]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        h.set_mtime(now);
        b.append_data(&mut h, format!("{d}/"), std::io::empty())
            .map_err(|e| BuildError::Internal(format!("workdir tar: {e}")))?;
    }
    b.into_inner()
        .map_err(|e| BuildError::Internal(format!("workdir tar: {e}")).into())
}

fn prepare_cache_dir(
    dir: &std::path::Path,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let err =
        |e: std::io::Error| BuildError::Internal(format!("cache mount {}: {e}", dir.display()));
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode.unwrap_or(0o755)))
        .map_err(err)?;
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(dir, uid, gid).map_err(err)?;
    }
    Ok(())
}

fn write_secret(file: &std::path::Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| BuildError::Internal(format!("secret {}: {e}", file.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .open(file)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    std::os::unix::fs::chown(file, Some(uid), Some(gid)).map_err(err)?;
    Ok(())
}
