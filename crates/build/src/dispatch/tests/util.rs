//! Instructions built by hand, and a runner that dispatches a stage and collects history.

use std::collections::BTreeMap;

use muelle_image::manifest::ContainerConfig;

use crate::dispatch::{meta_args, BuildArgs, StageState, Step};
use crate::dockerfile::{CmdLine, Command, CopyArgs, HealthArgs, Instruction, Pos, Source};

/// The content hashes dockerd printed for the one-file and two-file copies of the probes.
pub const FILE_HASH: &str = "file:a76d97b9e333b20275d3a840325f2eb49929ce711c732e45f5b6a24cce4caac3";
pub const MULTI_HASH: &str =
    "multi:caee80466652addeb8617511c30691f67797f170438004ae5f978adf8fa8e941";

pub fn ins(command: Command) -> Instruction {
    let keyword = match &command {
        Command::From { .. } => "FROM",
        Command::Run { .. } => "RUN",
        Command::Copy(_) => "COPY",
        Command::Add(_) => "ADD",
        Command::Env(_) => "ENV",
        Command::Arg(_) => "ARG",
        Command::Label(_) => "LABEL",
        Command::Workdir(_) => "WORKDIR",
        Command::User(_) => "USER",
        Command::Expose(_) => "EXPOSE",
        Command::Volume(_) => "VOLUME",
        Command::Cmd(_) => "CMD",
        Command::Entrypoint(_) => "ENTRYPOINT",
        Command::Shell(_) => "SHELL",
        Command::StopSignal(_) => "STOPSIGNAL",
        Command::Healthcheck(_) => "HEALTHCHECK",
        Command::Onbuild(_) => "ONBUILD",
        Command::Maintainer(_) => "MAINTAINER",
    };
    Instruction {
        pos: Pos { line: 2, column: 1 },
        keyword: keyword.into(),
        original: keyword.into(),
        command,
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub fn env(p: &[(&str, &str)]) -> Instruction {
    ins(Command::Env(pairs(p)))
}
pub fn label(p: &[(&str, &str)]) -> Instruction {
    ins(Command::Label(pairs(p)))
}
pub fn arg(p: &[(&str, Option<&str>)]) -> Instruction {
    ins(Command::Arg(
        p.iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect(),
    ))
}
pub fn from(image: &str) -> Instruction {
    ins(Command::From {
        image: image.into(),
        name: None,
        platform: None,
    })
}
pub fn run_mounts(cmd: CmdLine, mounts: &[&str]) -> Instruction {
    ins(Command::Run {
        cmd,
        heredocs: vec![],
        mounts: strings(mounts),
        network: None,
        security: None,
    })
}
pub fn run(s: &str) -> Instruction {
    run_mounts(sh(s), &[])
}
pub fn run_exec(v: &[&str]) -> Instruction {
    run_mounts(exec(v), &[])
}
pub fn sh(s: &str) -> CmdLine {
    CmdLine::Shell(s.into())
}
pub fn exec(v: &[&str]) -> CmdLine {
    CmdLine::Exec(strings(v))
}
pub fn cmd(c: CmdLine) -> Instruction {
    ins(Command::Cmd(c))
}
pub fn entrypoint(c: CmdLine) -> Instruction {
    ins(Command::Entrypoint(c))
}
pub fn expose(p: &[&str]) -> Instruction {
    ins(Command::Expose(strings(p)))
}
pub fn volume(v: &[&str]) -> Instruction {
    ins(Command::Volume(strings(v)))
}
pub fn user(u: &str) -> Instruction {
    ins(Command::User(u.into()))
}
pub fn workdir(w: &str) -> Instruction {
    ins(Command::Workdir(w.into()))
}
pub fn stopsignal(s: &str) -> Instruction {
    ins(Command::StopSignal(s.into()))
}
pub fn shell(v: &[&str]) -> Instruction {
    ins(Command::Shell(strings(v)))
}
pub fn maintainer(m: &str) -> Instruction {
    ins(Command::Maintainer(m.into()))
}
/// `flags`: interval, timeout, start-period, retries (None: not given).
pub fn health(c: CmdLine, flags: [Option<&str>; 4]) -> Instruction {
    let o = |i: usize| flags[i].map(str::to_string);
    ins(Command::Healthcheck(Some(HealthArgs {
        cmd: c,
        interval: o(0),
        timeout: o(1),
        start_period: o(2),
        start_interval: None,
        retries: o(3),
    })))
}
pub fn health_none() -> Instruction {
    ins(Command::Healthcheck(None))
}
pub fn onbuild(original: &str, inner: Instruction) -> Instruction {
    let mut i = ins(Command::Onbuild(Box::new(inner)));
    i.original = original.into();
    i
}
pub fn copy_args(srcs: &[&str], dest: &str) -> CopyArgs {
    CopyArgs {
        sources: srcs.iter().map(|s| Source::Path(s.to_string())).collect(),
        dest: dest.into(),
        ..CopyArgs::default()
    }
}
pub fn copy(srcs: &[&str], dest: &str) -> Instruction {
    ins(Command::Copy(copy_args(srcs, dest)))
}
pub fn copy_chown(srcs: &[&str], dest: &str, chown: &str) -> Instruction {
    ins(Command::Copy(CopyArgs {
        chown: Some(chown.into()),
        ..copy_args(srcs, dest)
    }))
}
pub fn add(srcs: &[&str], dest: &str) -> Instruction {
    ins(Command::Add(copy_args(srcs, dest)))
}

/// busybox:latest as loaded on the reference dockerd: `{"Cmd":["/bin/sh"]}`.
pub fn busybox() -> ContainerConfig {
    ContainerConfig {
        cmd: Some(vec!["/bin/sh".into()]),
        ..ContainerConfig::default()
    }
}

pub fn build_args(given: &[(&str, Option<&str>)]) -> BuildArgs {
    BuildArgs {
        values: given
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Dispatches `body` on `base` after the meta ARGs `meta`; the history entries, COPY/ADD
/// with the probes' hashes.
pub fn stage(
    base: Option<&ContainerConfig>,
    given: &[(&str, Option<&str>)],
    meta: &[Instruction],
    body: &[Instruction],
) -> (StageState, Vec<String>) {
    let args = build_args(given);
    let meta = meta_args(meta, &args, '\\').expect("meta args");
    let mut st = StageState::new(base, &meta, &args, '\\');
    let mut history = Vec::new();
    for i in body {
        let step = st.dispatch(i).unwrap_or_else(|e| panic!("{i:?}: {e}"));
        let hash = match &step {
            Step::Copy { sources, .. } if sources.len() > 1 => MULTI_HASH,
            _ => FILE_HASH,
        };
        history.push(step.created_by(hash));
    }
    (st, history)
}

/// The config as `docker image inspect --format '{{json .Config}}'` shows it.
pub fn config_json(st: &StageState) -> serde_json::Value {
    serde_json::to_value(&st.config).expect("serializes")
}
