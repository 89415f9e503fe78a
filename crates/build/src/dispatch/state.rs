//! A stage being built: its image config, current shell, args in scope and author, and
//! `dispatch`, which applies one instruction and says what the executor must do (`Step`).
//! The instruction handlers live in their own modules (`config`, `ports`, `health`,
//! `run`, `copy`); this one holds what they share.

use std::collections::BTreeMap;

use muelle_image::manifest::ContainerConfig;
use serde_json::Value;

use super::args::{env_key, is_predefined, ArgScope, BuildArgs};
use super::error::DispatchError;
use super::expand;
use super::history;
use super::mounts::RunMount;
use crate::dockerfile::{Command, Heredoc, Instruction, Source};

/// dockerd's default PATH for Linux images, added when the base image has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the executor does for one instruction, with the history entry to commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Config changed (or not); commit an empty layer.
    Meta { created_by: String },
    /// WORKDIR: make the directory (dockerd makes it as root) then commit.
    Workdir { path: String, created_by: String },
    Run {
        /// Shell form: the current shell + [cmd]; exec form as given.
        argv: Vec<String>,
        /// The config's env and the build args with a value (not persisted), `k=v`.
        env: Vec<String>,
        user: Option<String>,
        workdir: Option<String>,
        mounts: Vec<RunMount>,
        network: Option<String>,
        heredocs: Vec<Heredoc>,
        created_by: String,
    },
    Copy {
        add: bool,
        /// Paths substituted; heredoc bodies as parsed.
        sources: Vec<Source>,
        from: Option<String>,
        /// Absolute: a relative destination joined to WORKDIR, cleaned, a trailing `/`
        /// (or `/.`) kept as `/`.
        dest: String,
        chown: Option<String>,
        chmod: Option<String>,
        link: bool,
        checksum: Option<String>,
        /// `<shell> #(nop) COPY ` (or `ADD `, with `--chown=<v>` glued on as dockerd
        /// does): the entry is `{created_by_prefix}{hash}{created_by_suffix}`.
        created_by_prefix: String,
        /// ` in <dest as written> ` — dockerd records the destination as written, not
        /// the absolute one (`COPY file:… in rel/ `).
        created_by_suffix: String,
    },
    /// `config.on_build` appended.
    Onbuild { created_by: String },
}

impl Step {
    /// The history entry of this step; for COPY/ADD, given the sources' content hash
    /// (`file:…`, `dir:…`, `multi:…`).
    pub fn created_by(&self, content_hash: &str) -> String {
        match self {
            Step::Meta { created_by }
            | Step::Workdir { created_by, .. }
            | Step::Run { created_by, .. }
            | Step::Onbuild { created_by } => created_by.clone(),
            Step::Copy {
                created_by_prefix,
                created_by_suffix,
                ..
            } => format!("{created_by_prefix}{content_hash}{created_by_suffix}"),
        }
    }
}

/// One stage as dockerd's legacy builder evolves it.
#[derive(Debug, Clone)]
pub struct StageState {
    /// The image config's `config` being built.
    pub config: ContainerConfig,
    /// The current SHELL (default `["/bin/sh", "-c"]`).
    pub shell: Vec<String>,
    pub escape: char,
    /// MAINTAINER's value: the image's and every later history entry's `author`.
    pub author: Option<String>,
    pub(crate) args: ArgScope,
    /// Whether this stage set CMD (an ENTRYPOINT then keeps it; an inherited one it drops).
    pub(crate) cmd_set: bool,
}

impl StageState {
    /// `base`: the base image's config (None for scratch). `meta_args`: the ARGs before the
    /// first FROM with their resolved values (only those re-declared in the stage are
    /// visible). The base's ONBUILD triggers are cleared here: get them first with
    /// `onbuild_triggers` and dispatch them before the stage's own instructions.
    pub fn new(
        base: Option<&ContainerConfig>,
        meta_args: &BTreeMap<String, Option<String>>,
        build_args: &BuildArgs,
        escape: char,
    ) -> StageState {
        let mut config = base.cloned().unwrap_or_default();
        config.on_build = None;
        // A container config's stdin flags never carry into a build.
        for key in ["OpenStdin", "StdinOnce"] {
            if let Some(v) = config.extra.get_mut(key) {
                *v = Value::Bool(false);
            }
        }
        let env = config.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| env_key(e) == "PATH") {
            env.push(format!("PATH={DEFAULT_PATH}"));
        }
        let shell = match &config.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => history::default_shell(),
        };
        let args = ArgScope {
            declared: BTreeMap::new(),
            meta: meta_args.clone(),
            options: build_args.values.clone(),
            referenced: meta_args.keys().cloned().collect(),
        };
        StageState {
            config,
            shell,
            escape,
            author: None,
            args,
            cmd_set: false,
        }
    }

    /// Applies one instruction of the stage (not FROM: the executor starts a new stage).
    pub fn dispatch(&mut self, ins: &Instruction) -> Result<Step, DispatchError> {
        match &ins.command {
            Command::From { .. } => Err(DispatchError::Unsupported(
                "FROM starts a new stage; it is not dispatched into one".into(),
            )),
            Command::Run {
                cmd,
                heredocs,
                mounts,
                network,
                security,
            } => self.run(
                cmd,
                heredocs,
                mounts,
                network.as_deref(),
                security.as_deref(),
            ),
            Command::Copy(c) => self.copy(c, false),
            Command::Add(c) => self.copy(c, true),
            Command::Env(pairs) => self.env(ins, pairs),
            Command::Arg(pairs) => self.arg(ins, pairs),
            Command::Label(pairs) => self.label(ins, pairs),
            Command::Workdir(path) => self.workdir(path),
            Command::User(user) => self.user(user),
            Command::Expose(ports) => self.expose(ports),
            Command::Volume(vols) => self.volume(vols),
            Command::Cmd(cmd) => self.cmd(cmd),
            Command::Entrypoint(cmd) => self.entrypoint(cmd),
            Command::Shell(shell) => self.set_shell(ins, shell),
            Command::StopSignal(sig) => self.stop_signal(sig),
            Command::Healthcheck(h) => self.healthcheck(ins, h.as_ref()),
            Command::Onbuild(inner) => self.onbuild(ins, inner),
            Command::Maintainer(m) => self.maintainer(m),
        }
    }

    /// The build args given but never declared (dockerd warns:
    /// "[Warning] One or more build-args [X] were not consumed"). For a multi-stage build,
    /// `merge_referenced` the earlier stages into the last one first, as dockerd does.
    pub fn unused(&self) -> Vec<String> {
        self.args
            .options
            .keys()
            .filter(|k| !is_predefined(k) && !self.args.referenced.contains(*k))
            .cloned()
            .collect()
    }

    /// Counts the args `earlier` declared as declared here too (for `unused`).
    pub fn merge_referenced(&mut self, earlier: &StageState) {
        self.args
            .referenced
            .extend(earlier.args.referenced.iter().cloned());
    }

    /// The value substitution sees for `name`: the stage's env first, then the args with a
    /// value (declared, or predefined and given).
    pub fn lookup(&self, name: &str) -> Option<String> {
        let env = self.config.env.as_deref().unwrap_or_default();
        for entry in env {
            match entry.split_once('=') {
                Some((k, v)) if k == name => return Some(v.to_string()),
                None if entry == name => return Some(String::new()),
                _ => {}
            }
        }
        self.args
            .filter_allowed(env)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Substitutes one word with the stage's lookup.
    pub(crate) fn expand(&self, word: &str) -> Result<String, DispatchError> {
        let lookup = |name: &str| self.lookup(name);
        expand::word(word, self.escape, &lookup)
    }

    /// Substitutes and splits on whitespace (EXPOSE).
    pub(crate) fn expand_words(&self, text: &str) -> Result<Vec<String>, DispatchError> {
        let lookup = |name: &str| self.lookup(name);
        expand::words(text, self.escape, &lookup)
    }

    /// A config-only step's history entry, with the current shell.
    pub(crate) fn meta(&self, comment: &str) -> Step {
        Step::Meta {
            created_by: history::nop(&self.shell, comment),
        }
    }
}
